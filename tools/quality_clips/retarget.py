"""DeepMimic motion -> SMPL's 24 joint rotations, so the stand-in body (SMPL's layout) performs the capture.

Joint correspondence (DeepMimic joint -> SMPL joints; "split" shares the rotation equally along the chain):

| SMPL joint(s) | from DeepMimic | how |
| --- | --- | --- |
| pelvis (global) | root (global) | the same rotation |
| spine1, spine2, spine3 | chest | split in three (each a third of the angle, same axis) |
| neck, head | neck | split in two |
| left/right_hip | left/right_hip | the same rotation |
| left/right_knee | left/right_knee (hinge) | the hinge angle about the character's right (+z there) axis |
| left/right_ankle | left/right_ankle | the same rotation |
| left/right_shoulder | left/right_shoulder | the same rotation, SMPL's T-pose arm first turned down (below) |
| left/right_elbow | left/right_elbow (hinge) | the hinge, expressed in the turned arm's frame |
| feet, collars, wrists, hands | (none: the capture has no such joints) | identity, the rest pose |

Frames: the capture's character frame (+x forward, +y up, +z right) becomes SMPL's body frame (+x left, +y up,
+z forward) by the proper rotation SMPL_FROM_CAPTURE; rotations are conjugated by it. Both rest poses stand
upright with straight legs; only the arms differ (SMPL: T-pose, capture: hanging), hence a quarter turn of
SMPL's arm about the forward axis before the capture's shoulder rotation (and the elbow hinge seen in that
turned frame).
The SMPL "world" here is the capture's world in SMPL axes: y up.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from contract.skeleton import JOINT_NAMES, NUM_JOINTS

from .deepmimic import MotionClip

SMPL_FROM_CAPTURE = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
# The capture skeleton's hip-to-ankle length in metres (pybullet's humanoid.urdf draws it 4x: 1.686 + 1.639).
CAPTURE_LEG_LENGTH_M = (1.686184 + 1.639480) / 4.0
# SMPL's T-pose arm (along +x for the left arm) turned to hang down (-y) like the capture's rest arm.
ARM_DOWN = {"left": Rotation.from_euler("z", -90, degrees=True).as_matrix(),
            "right": Rotation.from_euler("z", 90, degrees=True).as_matrix()}


def _in_smpl_axes(rotations: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations in the capture's axes -> the same rotations in SMPL's axes."""
    return SMPL_FROM_CAPTURE @ rotations @ SMPL_FROM_CAPTURE.T


def _fraction(rotation: Rotation, share: float) -> np.ndarray:
    """(T, 3, 3): `share` of each rotation's angle about the same axis (splits one joint over a chain)."""
    return Rotation.from_rotvec(rotation.as_rotvec() * share).as_matrix()


def _hinge(angles: np.ndarray) -> np.ndarray:
    """(T,) hinge angles about the capture's +z -> (T, 3, 3) rotations in the capture's axes."""
    return Rotation.from_rotvec(np.outer(angles, [0.0, 0.0, 1.0])).as_matrix()


def smpl_local_rotations(clip: MotionClip) -> np.ndarray:
    """(T, 24, 3, 3) SMPL joint rotations (joint 0 global in the y-up world, the others parent-relative)."""
    local = np.tile(np.eye(3), (clip.frame_count, NUM_JOINTS, 1, 1))
    index = {name: JOINT_NAMES.index(name) for name in JOINT_NAMES}
    local[:, 0] = _in_smpl_axes(clip.rotations["root"].as_matrix())
    for name in ("spine1", "spine2", "spine3"):
        local[:, index[name]] = _in_smpl_axes(_fraction(clip.rotations["chest"], 1 / 3))
    for name in ("neck", "head"):
        local[:, index[name]] = _in_smpl_axes(_fraction(clip.rotations["neck"], 1 / 2))
    for side in ("left", "right"):
        local[:, index[f"{side}_hip"]] = _in_smpl_axes(clip.rotations[f"{side}_hip"].as_matrix())
        local[:, index[f"{side}_knee"]] = _in_smpl_axes(_hinge(clip.hinges[f"{side}_knee"]))
        local[:, index[f"{side}_ankle"]] = _in_smpl_axes(clip.rotations[f"{side}_ankle"].as_matrix())
        down = ARM_DOWN[side]
        local[:, index[f"{side}_shoulder"]] = _in_smpl_axes(clip.rotations[f"{side}_shoulder"].as_matrix()) @ down
        local[:, index[f"{side}_elbow"]] = down.T @ _in_smpl_axes(_hinge(clip.hinges[f"{side}_elbow"])) @ down
    return local


def hip_centre_path(clip: MotionClip, body_leg_length_m: float) -> np.ndarray:
    """(T, 3) where the body's hip centre goes, metres, y-up world: the capture's root path scaled by the
    ratio of leg lengths, so a longer-legged body takes proportionally longer strides and its feet do not
    slide."""
    scale = body_leg_length_m / CAPTURE_LEG_LENGTH_M
    return scale * clip.root_position @ SMPL_FROM_CAPTURE.T
