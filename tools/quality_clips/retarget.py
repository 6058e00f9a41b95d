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
| left/right_collar | (none) | from the arm's elevation (`shoulder_girdle`), taken out of the shoulder's rotation |
| feet, wrists, hands | (none: the capture has no such joints) | identity, the rest pose |

Frames: the capture's character frame (+x forward, +y up, +z right) becomes SMPL's body frame (+x left, +y up,
+z forward) by the proper rotation SMPL_FROM_CAPTURE; rotations are conjugated by it. Both rest poses stand
upright with straight legs; only the arms differ (SMPL: T-pose, capture: hanging), hence a quarter turn of
SMPL's arm about the forward axis before the capture's shoulder rotation (and the elbow hinge seen in that
turned frame).
The SMPL "world" here is the capture's world in SMPL axes: y up.

The capture's arms hang from a rigid chest; real shoulders rise when the arms go up (the collar bone and the
shoulder blade take part of any raise), and a benchmark without that could not show a fit that misses raised
shoulders, as issue 9 saw on real footage. So each collar turns about the forward axis by a fifth of the arm's
elevation beyond 30 degrees (hanging = 0, level = 90, overhead = 180), at most 30 degrees: 12 at level, 30
overhead, the shoulder joint rising about 6 cm. Chosen by hand as a plausible shoulder rhythm, not measured.
The arm still points where the capture's does: the shoulder's rotation is taken relative to the turned collar.
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
# SMPL's T-pose arm directions, and each collar's raising turn about the forward axis (+z left, -z right).
ARM_AT_REST = {"left": np.array([1.0, 0.0, 0.0]), "right": np.array([-1.0, 0.0, 0.0])}
RAISE_SIGN = {"left": 1.0, "right": -1.0}
GIRDLE_FROM_RAD, GIRDLE_SHARE, GIRDLE_MAX_RAD = np.deg2rad(30.0), 0.2, np.deg2rad(30.0)


def _in_smpl_axes(rotations: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations in the capture's axes -> the same rotations in SMPL's axes."""
    return SMPL_FROM_CAPTURE @ rotations @ SMPL_FROM_CAPTURE.T


def _fraction(rotation: Rotation, share: float) -> np.ndarray:
    """(T, 3, 3): `share` of each rotation's angle about the same axis (splits one joint over a chain)."""
    return Rotation.from_rotvec(rotation.as_rotvec() * share).as_matrix()


def _hinge(angles: np.ndarray) -> np.ndarray:
    """(T,) hinge angles about the capture's +z -> (T, 3, 3) rotations in the capture's axes."""
    return Rotation.from_rotvec(np.outer(angles, [0.0, 0.0, 1.0])).as_matrix()


def shoulder_girdle(shoulder: np.ndarray, side: str) -> np.ndarray:
    """(T, 3, 3) a shoulder's rotation relative to a collar at rest -> (T, 3, 3) the collar's turn: a fifth of
    the arm's elevation beyond 30 degrees, at most 30, raising the shoulder (module docstring)."""
    arm = shoulder @ ARM_AT_REST[side]  # (T, 3) the arm's direction in the chest's axes
    elevation = np.arccos(np.clip(-arm[:, 1], -1.0, 1.0))  # 0 hanging, pi overhead
    lift = np.clip(GIRDLE_SHARE * (elevation - GIRDLE_FROM_RAD), 0.0, GIRDLE_MAX_RAD)
    return Rotation.from_rotvec(np.outer(RAISE_SIGN[side] * lift, [0.0, 0.0, 1.0])).as_matrix()


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
        shoulder = _in_smpl_axes(clip.rotations[f"{side}_shoulder"].as_matrix()) @ down
        collar = shoulder_girdle(shoulder, side)
        local[:, index[f"{side}_collar"]] = collar
        local[:, index[f"{side}_shoulder"]] = collar.transpose(0, 2, 1) @ shoulder
        local[:, index[f"{side}_elbow"]] = down.T @ _in_smpl_axes(_hinge(clip.hinges[f"{side}_elbow"])) @ down
    return local


def hip_centre_path(clip: MotionClip, body_leg_length_m: float) -> np.ndarray:
    """(T, 3) where the body's hip centre goes, metres, y-up world: the capture's root path scaled by the
    ratio of leg lengths, so a longer-legged body takes proportionally longer strides and its feet do not
    slide."""
    scale = body_leg_length_m / CAPTURE_LEG_LENGTH_M
    return scale * clip.root_position @ SMPL_FROM_CAPTURE.T
