"""The SMPL body forward (pose + shape -> mesh and joints) on the user's SMPL arrays, via the smplx package.

smplx is handed the arrays already read by `smpl_file` (its `data_struct` argument), so it never opens a
pickle itself. The forward gives SMPL's 24 joints and smplx's 21 vertex-picked keypoints (nose, eyes, ears,
toes, heels, fingertips). The project's stand-in body runs through the same forward: it brings its own
keypoint vertex ids.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np
import smplx
import torch
from torch import Tensor, nn

from contract.skeleton import NUM_JOINTS
from contract.smpl_file import SMPLModelData


# smplx's keys for its 21 vertex-picked keypoints, in its order (BodyOutput.keypoints): nose, right / left eye,
# right / left ear, left big toe, small toe, heel, the same on the right, left then right thumb..pinky tips.
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
    keypoints: Tensor  # (B, 21, 3) smplx's vertex-picked keypoints, order _SMPLX_VERTEX_ID_KEYS


class SMPLBody(nn.Module):
    """SMPL forward on rotation matrices; float32, any device (move it with `.to(device)`), any batch.

    `name` says which body it is ("SMPL" or "stand-in"), for the result meta and the UI.
    """

    def __init__(self, model: SMPLModelData, num_betas: int = 10) -> None:
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
