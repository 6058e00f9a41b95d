"""SMPL's skeleton and sizes: the one place its joint names, parents and counts are written down.

Both halves use these: the estimator (its networks, the body fit, the result file) and the add-on (bone names,
body parts, shape keys). The license-free stand-in body shares the same 24-joint tree.
"""
from __future__ import annotations

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand",
    "right_hand",
)
# Parent of each joint, in JOINT_NAMES order (-1 for the pelvis, the root).
PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
NUM_JOINTS = len(JOINT_NAMES)  # 24
NUM_BETAS = 10  # shape coefficients PARE predicts and the result file stores
NUM_VERTICES = 6890
NUM_FACES = 13776
NUM_POSE_BASIS = 9 * (NUM_JOINTS - 1)  # 207 pose-corrective directions: one 3x3 rotation per non-root joint
