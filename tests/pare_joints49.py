"""PARE / SPIN's 49 joints, rebuilt from a body forward's outputs: the reference for the body goldens.

PARE and SPIN report 49 joints (25 OpenPose keypoints, then 24 "ground truth" joints of their training
datasets), and the goldens recorded from the official code hold them (`smpl_joints3d`). The product never uses
them: it keeps SMPL's 24 joints and smplx's 21 vertex-picked keypoints (`inference.body_model.BodyOutput`).
The tests rebuild the 49 from those 45 and the 9 joints of PARE's `J_regressor_extra.npy` (SMPL's mesh only),
so the body forward can be checked joint by joint against the goldens.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from contract.skeleton import JOINT_NAMES, NUM_VERTICES
from inference.body_model import BodyOutput

NUM_EXTRA_JOINTS = 9

# smplx's 21 vertex-picked keypoints, in its order (BodyOutput.keypoints).
SMPLX_KEYPOINT_NAMES = (
    "nose", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel", "left_thumb", "left_index", "left_middle", "left_ring",
    "left_pinky", "right_thumb", "right_index", "right_middle", "right_ring", "right_pinky",
)

# Rows of J_regressor_extra (candidates 45..53, after the 24 joints and the 21 keypoints).
EXTRA_JOINT_NAMES = ("right_hip_extra", "left_hip_extra", "neck_lsp", "head_top_lsp", "pelvis_mpii",
                     "thorax_mpii", "spine_h36m", "jaw_h36m", "head_h36m")

# PARE / SPIN 49-joint order as (their joint name, the candidate joint it is taken from).
PARE_JOINTS49 = (
    ("OP Nose", "nose"), ("OP Neck", "neck"), ("OP RShoulder", "right_shoulder"),
    ("OP RElbow", "right_elbow"), ("OP RWrist", "right_wrist"), ("OP LShoulder", "left_shoulder"),
    ("OP LElbow", "left_elbow"), ("OP LWrist", "left_wrist"), ("OP MidHip", "pelvis"),
    ("OP RHip", "right_hip"), ("OP RKnee", "right_knee"), ("OP RAnkle", "right_ankle"),
    ("OP LHip", "left_hip"), ("OP LKnee", "left_knee"), ("OP LAnkle", "left_ankle"),
    ("OP REye", "right_eye"), ("OP LEye", "left_eye"), ("OP REar", "right_ear"), ("OP LEar", "left_ear"),
    ("OP LBigToe", "left_big_toe"), ("OP LSmallToe", "left_small_toe"), ("OP LHeel", "left_heel"),
    ("OP RBigToe", "right_big_toe"), ("OP RSmallToe", "right_small_toe"), ("OP RHeel", "right_heel"),
    ("Right Ankle", "right_ankle"), ("Right Knee", "right_knee"), ("Right Hip", "right_hip_extra"),
    ("Left Hip", "left_hip_extra"), ("Left Knee", "left_knee"), ("Left Ankle", "left_ankle"),
    ("Right Wrist", "right_wrist"), ("Right Elbow", "right_elbow"), ("Right Shoulder", "right_shoulder"),
    ("Left Shoulder", "left_shoulder"), ("Left Elbow", "left_elbow"), ("Left Wrist", "left_wrist"),
    ("Neck (LSP)", "neck_lsp"), ("Top of Head (LSP)", "head_top_lsp"), ("Pelvis (MPII)", "pelvis_mpii"),
    ("Thorax (MPII)", "thorax_mpii"), ("Spine (H36M)", "spine_h36m"), ("Jaw (H36M)", "jaw_h36m"),
    ("Head (H36M)", "head_h36m"), ("Nose", "nose"), ("Left Eye", "left_eye"), ("Right Eye", "right_eye"),
    ("Left Ear", "left_ear"), ("Right Ear", "right_ear"),
)
PARE_JOINT_NAMES = tuple(name for name, _ in PARE_JOINTS49)

_CANDIDATE_NAMES = JOINT_NAMES + SMPLX_KEYPOINT_NAMES + EXTRA_JOINT_NAMES
# Index of each of the 49 joints among the 54 candidates (`candidate_joints`).
PARE_JOINT_INDEX = tuple(_CANDIDATE_NAMES.index(source) for _, source in PARE_JOINTS49)


def read_extra_regressor(path: Path) -> Tensor:
    """The 9 x 6890 `J_regressor_extra.npy` as a float32 tensor (plain `.npy`, no pickles)."""
    regressor = np.load(path, allow_pickle=False)
    if regressor.shape != (NUM_EXTRA_JOINTS, NUM_VERTICES):
        raise ValueError(f"{path} has shape {regressor.shape}, expected {NUM_EXTRA_JOINTS}x{NUM_VERTICES}")
    return torch.as_tensor(regressor, dtype=torch.float32)


def candidate_joints(body: BodyOutput, extra_regressor: Tensor) -> Tensor:
    """(B, 54, 3): the 24 SMPL joints, the 21 keypoints and the 9 extra joints regressed from the vertices."""
    extra = torch.einsum("jv,bvc->bjc", extra_regressor.to(body.vertices), body.vertices)
    return torch.cat((body.joints, body.keypoints, extra), dim=1)


def pare_joints49(body: BodyOutput, extra_regressor: Tensor) -> Tensor:
    """(B, 49, 3) joints in PARE / SPIN order (PARE_JOINT_NAMES)."""
    return candidate_joints(body, extra_regressor)[:, list(PARE_JOINT_INDEX)]
