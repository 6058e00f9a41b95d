"""The SMPL body forward (pose + shape -> mesh and joints) on the user's SMPL arrays, via the smplx package.

smplx is handed the arrays already read by `smpl_file` (its `data_struct` argument), so it never opens a
pickle itself. PARE and SPIN report 49 joints (25 OpenPose keypoints, then 24 "ground truth" joints of the
training datasets); `pare_joints49` rebuilds that order from smplx's 45 joints and 9 extra regressed ones.
The project's stand-in body runs through the same forward: it brings its own keypoint vertex ids, and it has
no extra regressor (the 49 joints exist only with SMPL).
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np
import smplx
import torch
from torch import Tensor, nn

from contract.skeleton import JOINT_NAMES, NUM_JOINTS
from contract.smpl_file import NUM_EXTRA_JOINTS, SMPLModelData


# smplx's 21 vertex-picked keypoints, in its order; they follow the 24 SMPL joints (indices 24..44).
SMPLX_KEYPOINT_NAMES = (
    "nose", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel", "left_thumb", "left_index", "left_middle", "left_ring",
    "left_pinky", "right_thumb", "right_index", "right_middle", "right_ring", "right_pinky",
)

# Rows of J_regressor_extra (indices 45..53 after the 45 smplx joints).
EXTRA_JOINT_NAMES = ("right_hip_extra", "left_hip_extra", "neck_lsp", "head_top_lsp", "pelvis_mpii",
                     "thorax_mpii", "spine_h36m", "jaw_h36m", "head_h36m")

_SOURCE_NAMES = JOINT_NAMES + SMPLX_KEYPOINT_NAMES + EXTRA_JOINT_NAMES

# PARE / SPIN 49-joint order as (their joint name, the source joint it is taken from).
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

# smplx's keys for its vertex-picked keypoints, in SMPLX_KEYPOINT_NAMES order.
_SMPLX_VERTEX_ID_KEYS = ("nose", "reye", "leye", "rear", "lear", "LBigToe", "LSmallToe", "LHeel", "RBigToe",
                         "RSmallToe", "RHeel", "lthumb", "lindex", "lmiddle", "lring", "lpinky", "rthumb",
                         "rindex", "rmiddle", "rring", "rpinky")


def _smplx_vertex_ids(keypoint_vertex_ids: np.ndarray | None) -> dict[str, int] | None:
    """The model's own keypoint vertices in smplx's form; None keeps smplx's ids for SMPL's mesh."""
    if keypoint_vertex_ids is None:
        return None
    return {key: int(index) for key, index in zip(_SMPLX_VERTEX_ID_KEYS, keypoint_vertex_ids, strict=True)}


@dataclass
class BodyOutput:
    """One batch of posed bodies, in the SMPL model's metres, before any camera translation."""

    vertices: Tensor  # (B, V, 3), V = 6890 for SMPL and the stand-in
    joints: Tensor  # (B, 24, 3) the SMPL joints, order JOINT_NAMES
    keypoints: Tensor  # (B, 21, 3) smplx's vertex-picked keypoints, order SMPLX_KEYPOINT_NAMES


class SMPLBody(nn.Module):
    """SMPL forward on rotation matrices; float32, any device (move it with `.to(device)`), any batch.

    `name` says which body it is ("SMPL" or "stand-in"), for the result meta and the UI.
    """

    def __init__(self, model: SMPLModelData, extra_regressor: np.ndarray | None = None,
                 num_betas: int = 10) -> None:
        super().__init__()
        # No pose / shape / translation parameters: every call passes its own, for any batch size.
        # smplx prints a notice about 10-beta models to stdout; the CLI's stdout is not the place for it.
        with contextlib.redirect_stdout(io.StringIO()):
            self.smpl = smplx.SMPL(str(model.source), data_struct=model, num_betas=num_betas,
                                   create_betas=False, create_global_orient=False, create_body_pose=False,
                                   create_transl=False, dtype=torch.float32,
                                   vertex_ids=_smplx_vertex_ids(model.keypoint_vertex_ids))
        self.num_betas = num_betas
        self.name = model.name
        num_vertices = len(model.v_template)
        if extra_regressor is not None and model.is_standin:
            raise ValueError("J_regressor_extra regresses joints from SMPL's mesh; the stand-in body has none")
        if extra_regressor is not None and extra_regressor.shape != (NUM_EXTRA_JOINTS, num_vertices):
            raise ValueError(f"extra regressor of shape {extra_regressor.shape}, expected 9x{num_vertices}")
        extra = None if extra_regressor is None else torch.as_tensor(extra_regressor, dtype=torch.float32)
        self.register_buffer("J_regressor_extra", extra, persistent=False)
        source_index = [_SOURCE_NAMES.index(source) for _, source in PARE_JOINTS49]
        self.register_buffer("pare_joint_index", torch.tensor(source_index, dtype=torch.long),
                             persistent=False)

    @property
    def faces(self) -> Tensor:
        """(F, 3) int64 triangle vertex indices (13776 for SMPL and the stand-in), on the body's device."""
        return self.smpl.faces_tensor

    def forward(self, pose_rotmat: Tensor, betas: Tensor) -> BodyOutput:
        """pose_rotmat (B, 24, 3, 3) joint rotations relative to the parent (joint 0 = global
        orientation), betas (B, num_betas) -> BodyOutput. Inputs are cast to the body's dtype."""
        dtype = self.smpl.v_template.dtype
        pose_rotmat = pose_rotmat.to(dtype)
        if pose_rotmat.shape[1:] != (NUM_JOINTS, 3, 3) or betas.shape != (len(pose_rotmat), self.num_betas):
            raise ValueError(f"expected pose (B, 24, 3, 3) and betas (B, {self.num_betas}), "
                             f"got {tuple(pose_rotmat.shape)} and {tuple(betas.shape)}")
        out = self.smpl(betas=betas.to(dtype), global_orient=pose_rotmat[:, :1], body_pose=pose_rotmat[:, 1:],
                        pose2rot=False)
        return BodyOutput(vertices=out.vertices, joints=out.joints[:, :NUM_JOINTS],
                          keypoints=out.joints[:, NUM_JOINTS:])

    def pare_joints49(self, body: BodyOutput) -> Tensor:
        """(B, 49, 3) joints in PARE / SPIN order (PARE_JOINT_NAMES); needs the extra regressor."""
        if self.J_regressor_extra is None:
            raise RuntimeError("the 49 PARE joints need J_regressor_extra; pass extra_regressor")
        extra = torch.einsum("jv,bvc->bjc", self.J_regressor_extra, body.vertices)
        every_joint = torch.cat((body.joints, body.keypoints, extra), dim=1)  # (B, 54, 3)
        return every_joint[:, self.pare_joint_index]
