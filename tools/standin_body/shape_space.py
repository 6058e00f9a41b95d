"""The stand-in's shape directions (SMPL's `shapedirs`): one unit of beta = one population standard deviation.

Each direction moves the joints (and the ends of the head, hands and feet) and scales limb girths; every
vertex follows the bones it is skinned to: it keeps its place along each bone (proportionally), its offset
across the bone turns with the bone and grows by the girth change. That is linear in the changes, so the
directions are exact blend shapes, smooth wherever the skinning weights are.

Standard deviations, both sexes pooled (ANSUR II, Gordon et al. 2014; rounded): stature about 9 cm, body
mass about 16 kg (girths change by 6 to 11 % per SD, most at the waist), biacromial breadth about 2.4 cm,
crotch height at equal stature about 2 cm, hip breadth about 2 cm, arm length about 2 %.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .proportions import JOINT_NAMES, NUM_JOINTS, STATURE_M, rest_joints, segment_children, segment_ends

NUM_BETAS = 10
NAVEL_Y = -0.15


@dataclass(frozen=True)
class Direction:
    name: str
    joints: np.ndarray  # (24, 3) displacement of the joints per unit beta
    ends: np.ndarray  # (24, 3) displacement of each joint's segment end
    girth: np.ndarray  # (24,) relative change of the distance from each bone
    belly: float = 0.0  # forward bulge at the navel, metres


def _index(*names: str) -> list[int]:
    """Joint indices of midline names ("spine1") and of both sides of paired ones ("knee")."""
    return [JOINT_NAMES.index(full) for name in names
            for full in ((name,) if name in JOINT_NAMES else (f"left_{name}", f"right_{name}"))]


def _lateral(points: np.ndarray, amounts: dict[str, float]) -> np.ndarray:
    """Move named (left/right) joints outward, away from the midline, by the given metres."""
    shift = np.zeros_like(points)
    for name, amount in amounts.items():
        for j in _index(name):
            shift[j, 0] = np.sign(points[j, 0]) * amount
    return shift


def _girth(default: float, **by_joint: float) -> np.ndarray:
    girth = np.full(NUM_JOINTS, default)
    for name, value in by_joint.items():
        girth[_index(name)] = value
    return girth


def _with_ends(joint_shift: np.ndarray, leaf_end_shift: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Joint shifts -> (joint shifts, segment-end shifts): an end moves with the joint it is, a leaf's end
    (skull vertex, fingertip, toe tip) by `leaf_end_shift` or else with its own joint."""
    end_shift = joint_shift.copy()
    for joint, child in enumerate(segment_children()):
        if child is not None:
            end_shift[joint] = joint_shift[child]
        elif leaf_end_shift is not None:
            end_shift[joint] = leaf_end_shift[joint]
    return joint_shift, end_shift


def directions() -> list[Direction]:
    joints, ends = rest_joints(), segment_ends()
    pelvis = joints[0]
    out = []
    scale = 0.09 / STATURE_M  # stature: everything about the pelvis, girths by half as much
    out.append(Direction("stature", scale * (joints - pelvis), scale * (ends - pelvis),
                         np.full(NUM_JOINTS, scale / 2)))
    shift, end = _with_ends(_lateral(joints, {"collar": 0.004, "shoulder": 0.010, "elbow": 0.010,
                                              "wrist": 0.010, "hand": 0.010, "hip": 0.005, "knee": 0.004,
                                              "ankle": 0.002, "foot": 0.002}))
    out.append(Direction("mass", shift, end, _girth(0.07, pelvis=0.10, hip=0.09, spine1=0.11, knee=0.06,
                                                    spine2=0.08, ankle=0.03, foot=0.02, head=0.02,
                                                    shoulder=0.10, wrist=0.04, hand=0.03), belly=0.02))
    shift, end = _with_ends(_lateral(joints, {"collar": 0.006, "shoulder": 0.012, "elbow": 0.012,
                                              "wrist": 0.012, "hand": 0.012}))
    out.append(Direction("shoulder breadth", shift, end, _girth(0.0, spine3=0.02, collar=0.03)))
    out.append(_leg_length(joints, ends, pelvis, 0.02))
    out.append(Direction("belly", np.zeros_like(joints), np.zeros_like(joints),
                         _girth(0.0, spine1=0.03, pelvis=0.02), belly=0.03))
    shift, end = _with_ends(_lateral(joints, {"hip": 0.007, "knee": 0.004, "ankle": 0.002, "foot": 0.002}))
    out.append(Direction("hip breadth", shift, end, _girth(0.0, pelvis=0.05, hip=0.04)))
    shift, end = _with_ends(_lateral(joints, {"elbow": 0.007, "wrist": 0.014, "hand": 0.016}),
                            _lateral(ends, {"hand": 0.018}))
    out.append(Direction("arm length", shift, end, np.zeros(NUM_JOINTS)))
    return out


def _leg_length(joints, ends, pelvis, amount: float) -> Direction:
    """Longer legs, shorter trunk and neck, same stature: below the hips everything moves down in
    proportion to its depth below them, above the pelvis in proportion to its height above it."""
    def shift(points: np.ndarray) -> np.ndarray:
        hip_y, floor_y, top_y = joints[1, 1], ends[10, 1], ends[15, 1]
        down = np.where(points[:, 1] < hip_y, (hip_y - points[:, 1]) / (hip_y - floor_y),
                        np.clip(points[:, 1] - pelvis[1], 0, None) / (top_y - pelvis[1]))
        moved = np.zeros_like(points)
        moved[:, 1] = -amount * down
        return moved
    return Direction("leg length", shift(joints), shift(ends), np.zeros(NUM_JOINTS))


def _bone_offsets(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per vertex and joint: position along the bone t (V, 24), offset across it r (V, 24, 3), and the
    bones' unit axes (24, 3) and lengths (24,)."""
    joints, ends = rest_joints(), segment_ends()
    axis = ends - joints
    length = np.linalg.norm(axis, axis=1)
    unit = axis / length[:, None]
    rel = vertices[:, None, :] - joints[None]
    along = np.einsum("vjc,jc->vj", rel, unit)
    across = rel - along[..., None] * unit[None]
    return along / length, across, unit, length


def shape_blend_shapes(vertices: np.ndarray, normals: np.ndarray, weights: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """-> shapedirs (V, 3, 10), joint shifts (24, 3, 10) per unit beta, and the directions' names."""
    t, across, unit, length = _bone_offsets(vertices)
    shapedirs = np.zeros((len(vertices), 3, NUM_BETAS))
    joint_shifts = np.zeros((NUM_JOINTS, 3, NUM_BETAS))
    torso = weights[:, _index("pelvis", "spine1", "spine2")].sum(axis=1)
    bulge = torso * np.clip(normals[:, 2], 0, 1) * np.exp(
        -(vertices[:, 0] / 0.11) ** 2 - ((vertices[:, 1] - NAVEL_Y) / 0.10) ** 2)
    names = []
    for k, direction in enumerate(directions()):
        stretch = direction.ends - direction.joints  # (24, 3) change of each bone vector
        turn = stretch - np.einsum("jc,jc->j", stretch, unit)[:, None] * unit
        tilt = turn / length[:, None]  # change of each bone's unit axis
        per_bone = (direction.joints[None] + t[..., None] * stretch[None]
                    + direction.girth[None, :, None] * across
                    - np.einsum("vjc,jc->vj", across, tilt)[..., None] * unit[None])
        shapedirs[:, :, k] = np.einsum("vj,vjc->vc", weights, per_bone)
        shapedirs[:, 2, k] += direction.belly * bulge
        joint_shifts[:, :, k] = direction.joints
        names.append(direction.name)
    return shapedirs, joint_shifts, names
