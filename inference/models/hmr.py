"""HMR regressor in the SPIN layout (ResNet-50 + iterative error feedback), as in SPIN / EFT checkpoints.

The globally pooled image feature is concatenated with the current SMPL estimate (6D pose, betas, camera)
and two fully connected layers predict a correction; three iterations starting from the mean parameters.
The checkpoint keys have no prefix (`conv1.weight`, ..., `fc1.weight`), so the ResNet-50 layers live at
the top level of this module, hence the subclass.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from contract.skeleton import NUM_BETAS, NUM_JOINTS

from . import CAM_PARAMS
from .resnet import ResNet50
from .rotation import rot6d_to_rotmat

POSE_6D = NUM_JOINTS * 6
HIDDEN = 1024
ITERATIONS = 3


class Hmr(ResNet50):
    """Normalised RGB crops (B, 3, 224, 224) -> SMPL pose matrices, betas, weak-perspective camera."""

    def __init__(self) -> None:
        super().__init__()
        # Starting point of the iterations: mean SMPL parameters, filled from the checkpoint.
        self.register_buffer("init_pose", torch.zeros(1, POSE_6D))
        self.register_buffer("init_shape", torch.zeros(1, NUM_BETAS))
        self.register_buffer("init_cam", torch.zeros(1, CAM_PARAMS))
        self.fc1 = nn.Linear(self.out_channels + POSE_6D + NUM_BETAS + CAM_PARAMS, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, HIDDEN)
        self.decpose = nn.Linear(HIDDEN, POSE_6D)
        self.decshape = nn.Linear(HIDDEN, NUM_BETAS)
        self.deccam = nn.Linear(HIDDEN, CAM_PARAMS)

    def forward(self, images: Tensor, intermediates: bool = False) -> dict[str, Tensor]:
        """Keys: pred_pose (B, 24, 3, 3), pred_shape (B, 10), pred_cam (B, 3); with `intermediates` also
        pred_pose_6d, inter_backbone_features, inter_pooled_features and inter_iter{i}_{pose6d,shape,cam}."""
        features = super().forward(images)  # (B, 2048, 7, 7)
        pooled = features.mean(dim=(2, 3))
        batch = images.shape[0]
        pose = self.init_pose.expand(batch, -1)
        shape = self.init_shape.expand(batch, -1)
        cam = self.init_cam.expand(batch, -1)
        out: dict[str, Tensor] = {}
        for i in range(ITERATIONS):
            hidden = self.fc2(self.fc1(torch.cat((pooled, pose, shape, cam), dim=1)))
            pose = self.decpose(hidden) + pose
            shape = self.decshape(hidden) + shape
            cam = self.deccam(hidden) + cam
            if intermediates:
                out.update({f"inter_iter{i}_pose6d": pose, f"inter_iter{i}_shape": shape,
                            f"inter_iter{i}_cam": cam})
        pose, shape, cam = pose.float(), shape.float(), cam.float()
        out.update(pred_pose=rot6d_to_rotmat(pose.view(batch, NUM_JOINTS, 6)), pred_shape=shape,
                   pred_cam=cam)
        if intermediates:
            out.update(pred_pose_6d=pose, inter_backbone_features=features, inter_pooled_features=pooled)
        return out
