"""One person's SMPL rest body and the bone layout of the armature built on it (numpy only).

SMPL's rest pose has every joint rotation equal to the identity, so the armature's rest pose is SMPL's rest
body shaped by the person's betas: bone heads at the rest joints, tails toward a child joint. A bone's own
orientation (Blender points its Y axis from head to tail) is free; `rig_math` turns SMPL's rotations into
each bone's frame, whatever frame it has.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from ..contract.skeleton import JOINT_NAMES, NUM_BETAS, NUM_JOINTS


# spine3 has three children; its bone points along the spine, not toward a collar.
PREFERRED_CHILD = {"spine3": "neck"}
# The pelvis bone points forward, by its distance to spine1. Pointing it up at spine1 would leave the hip
# bones pointing almost exactly opposite to their parent, where Blender's rest-matrix math (the roll formula
# divides by 1 + cos of that angle) loses precision: rest matrices off by 3e-5, joints by up to 3e-5 m.
FORWARD_BONE, FORWARD_BONE_LENGTH_FROM = "pelvis", "spine1"
# A bone shorter than this (a degenerate or unusual model) is lengthened so Blender keeps it.
MIN_BONE_LENGTH = 0.02


class SMPLArrays(Protocol):
    """What the rig needs from an SMPL model (`contract.smpl_file.SMPLModelData` has it)."""

    v_template: np.ndarray  # (6890, 3)
    shapedirs: np.ndarray  # (6890, 3, B), B >= 10
    posedirs: np.ndarray  # (6890, 3, 207)
    J_regressor: np.ndarray  # (24, 6890)
    weights: np.ndarray  # (6890, 24)
    kintree_table: np.ndarray  # (2, 24); row 0 = parent, any value outside 0..23 for the root
    f: np.ndarray  # (13776, 3)


def joint_parents(model: SMPLArrays) -> np.ndarray:
    """(24,) int parent index per joint, -1 for the root (files store 2**32 - 1 or -1 there)."""
    parents = np.asarray(model.kintree_table[0], dtype=np.int64).copy()
    parents[(parents < 0) | (parents >= NUM_JOINTS)] = -1
    return parents


def median_betas(betas: np.ndarray) -> np.ndarray:
    """betas (n, 10) over one person's frames -> (10,): one body shape, robust to single bad frames."""
    return np.median(np.asarray(betas, dtype=np.float64), axis=0)


def shape_offsets(model: SMPLArrays, betas: np.ndarray) -> np.ndarray:
    """betas (10,) -> (6890, 3) displacement of the template by the first 10 shape blend shapes."""
    return np.asarray(model.shapedirs[:, :, :NUM_BETAS], dtype=np.float64) @ np.asarray(betas, np.float64)


def rest_joints(model: SMPLArrays, betas: np.ndarray) -> np.ndarray:
    """betas (10,) -> (24, 3) rest joints in SMPL's frame: the regressor applied to the shaped template."""
    shaped = np.asarray(model.v_template, dtype=np.float64) + shape_offsets(model, betas)
    return np.asarray(model.J_regressor, dtype=np.float64) @ shaped


def bone_tails(heads: np.ndarray, parents: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """heads (24, 3) rest joints, `forward` the direction the body faces -> (24, 3) tails.

    A bone points at its child (the preferred one where there are several); a leaf (head, feet, hands)
    continues its parent's direction by its parent's length; the pelvis points `forward` (FORWARD_BONE).
    Bones are at least MIN_BONE_LENGTH long.
    """
    children: dict[int, list[int]] = {}
    for joint, parent in enumerate(parents):
        children.setdefault(int(parent), []).append(joint)
    tails = np.empty_like(heads, dtype=np.float64)
    for joint, name in enumerate(JOINT_NAMES):
        kids = children.get(joint, [])
        if name == FORWARD_BONE:
            length_from = JOINT_NAMES.index(FORWARD_BONE_LENGTH_FROM)
            direction = forward * np.linalg.norm(heads[length_from] - heads[joint])
        elif kids:
            preferred = [k for k in kids if JOINT_NAMES[k] == PREFERRED_CHILD.get(name)]
            direction = heads[(preferred or kids)[0]] - heads[joint]
        else:  # a leaf continues its parent
            direction = heads[joint] - heads[parents[joint]]
        length = np.linalg.norm(direction)
        if length < MIN_BONE_LENGTH:
            direction = (direction / length if length > 1e-9 else np.array([0.0, 1.0, 0.0])) * MIN_BONE_LENGTH
        tails[joint] = heads[joint] + direction
    return tails


def bone_rest_frames(heads: np.ndarray, tails: np.ndarray, forward: np.ndarray, up: np.ndarray) -> np.ndarray:
    """heads, tails (24, 3) -> (24, 3, 3) rotations whose columns are each bone's X, Y, Z axes.

    Y runs from head to tail (Blender's rule); Z is the body's `forward` direction made perpendicular to
    Y (`up` for a bone that points almost forward), so every bone has the same, predictable roll.
    """
    frames = np.empty((len(heads), 3, 3))
    for bone, (head, tail) in enumerate(zip(heads, tails)):
        y = (tail - head) / np.linalg.norm(tail - head)
        reference = forward if abs(float(np.dot(forward, y))) < 0.9 else up
        z = reference - np.dot(reference, y) * y
        z /= np.linalg.norm(z)
        frames[bone] = np.stack([np.cross(y, z), y, z], axis=1)
    return frames
