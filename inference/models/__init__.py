"""The networks: image crop -> SMPL parameters. Importing this package does not import torch.

Every model takes `images` (B, 3, INPUT_SIZE, INPUT_SIZE): RGB scaled to [0, 1], then normalised per
channel with IMAGENET_MEAN / IMAGENET_STD, and returns a dict with `pred_pose` (B, 24, 3, 3) rotation
matrices, `pred_shape` (B, 10) betas and `pred_cam` (B, 3) weak-perspective (s, tx, ty) in crop space.
The SMPL body model is not part of the networks.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

ARCHITECTURES: tuple[str, ...] = ("pare_hrnet32", "pare_resnet50", "hmr_spin")

INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Sizes of the predicted SMPL parameters, shared by every architecture (joints and betas: contract.skeleton).
CAM_PARAMS = 3  # weak perspective (s, tx, ty)


def build_model(arch: str) -> nn.Module:
    """An untrained network of architecture `arch` (one of ARCHITECTURES); load a checkpoint into it.

    Its `state_dict()` keys are those of the released checkpoints (PARE: without `model.`, without SMPL).
    """
    if arch == "pare_hrnet32":
        from .pare import pare_hrnet32
        return pare_hrnet32()
    if arch == "pare_resnet50":
        from .pare import pare_resnet50
        return pare_resnet50()
    if arch == "hmr_spin":
        from .hmr import Hmr
        return Hmr()
    raise ValueError(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHITECTURES)}")
