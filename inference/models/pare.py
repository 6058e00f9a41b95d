"""PARE: part attention regressor (Kocabas et al., ICCV 2021) on an HRNet-W32 or ResNet-50 backbone.

The head runs two parallel conv branches on the backbone features. The 2D branch predicts 25 part
segmentation logits (background + 24 SMPL parts); the spatial softmax of each part map is an attention map
that pools the 3D branch's features into one vector per part. Each joint's rotation is regressed from its
own part's vector only (a per-joint linear layer), which is what makes PARE robust to occlusion; shape and
camera are regressed from all parts' (smaller) vectors together.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from contract.skeleton import NUM_BETAS, NUM_JOINTS

from . import CAM_PARAMS
from .blocks import conv_bn
from .hrnet import HRNetW32
from .resnet import ResNet50
from .rotation import rot6d_to_rotmat

NUM_PARTS = NUM_JOINTS + 1  # channel 0 = background
SHAPE_CAM_CHANNELS = 64
ROT6D = 6


def attention_pool(attention: Tensor, features: Tensor) -> Tensor:
    """Attention-weighted sums of features, one batched matmul for all parts.

    attention: (B, J, H*W), each row summing to 1; features: (B, C, H, W) -> (B, C, J).
    """
    return torch.bmm(features.flatten(2), attention.transpose(1, 2))


class PerJointLinear(nn.Module):
    """Separate linear map (no bias) per joint: (B, C_in, J) -> (B, J, C_out).

    The weight keeps the checkpoint's locally-connected-2D layout (1, C_out, C_in, J, 1, 1): a 1x1 kernel
    on a J x 1 "image" whose weights differ per position, i.e. one C_in -> C_out matrix per joint.
    """

    def __init__(self, in_features: int, out_features: int, joints: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(1, out_features, in_features, joints, 1, 1))
        nn.init.normal_(self.weight, std=in_features ** -0.5)

    def forward(self, x: Tensor) -> Tensor:
        weight = self.weight.view(self.weight.shape[1:4])  # (C_out, C_in, J)
        return torch.einsum("bcj,ocj->bjo", x, weight)


def _feature_branch(in_channels: int, channels: int, layers: int, upsample: bool) -> nn.Sequential:
    """`layers` x (conv, BN, ReLU): 3x3 convs at the input size (HRNet, already 56x56) or 4x4 stride-2
    transposed convs that double the size each time (ResNet, 7x7 -> 56x56)."""
    modules: list[nn.Module] = []
    for i in range(layers):
        source = in_channels if i == 0 else channels
        if upsample:
            modules += [nn.ConvTranspose2d(source, channels, 4, stride=2, padding=1, bias=False),
                        nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        else:
            modules += conv_bn(source, channels, 3)
    return nn.Sequential(*modules)


class PareHead(nn.Module):
    """Backbone features (B, C, h, w) -> pose 6D / shape / camera via part attention (see module doc)."""

    def __init__(self, in_channels: int, channels: int, layers: int, upsample: bool) -> None:
        super().__init__()
        # Softmax temperature of the part attention; 1.0 in the released checkpoints.
        self.register_buffer("temperature", torch.tensor(1.0))
        # Mean SMPL parameters: stored in the checkpoints but unused, as PARE's regression has no offsets.
        self.register_buffer("init_pose", torch.zeros(1, NUM_JOINTS * ROT6D))
        self.register_buffer("init_shape", torch.zeros(1, NUM_BETAS))
        self.register_buffer("init_cam", torch.zeros(1, CAM_PARAMS))
        self.keypoint_deconv_layers = _feature_branch(in_channels, channels, layers, upsample)
        self.smpl_deconv_layers = _feature_branch(in_channels, channels, layers, upsample)
        self.keypoint_final_layer = nn.Conv2d(channels, NUM_PARTS, 1)
        self.smpl_final_layer = nn.Conv2d(channels, SHAPE_CAM_CHANNELS, 1)
        self.shape_mlp = nn.Linear(SHAPE_CAM_CHANNELS * NUM_JOINTS, NUM_BETAS)
        self.cam_mlp = nn.Linear(SHAPE_CAM_CHANNELS * NUM_JOINTS, CAM_PARAMS)
        self.pose_mlp = PerJointLinear(channels, ROT6D, NUM_JOINTS)

    def forward(self, features: Tensor, intermediates: bool = False) -> dict[str, Tensor]:
        part_feats = self.keypoint_deconv_layers(features)
        smpl_feats = self.smpl_deconv_layers(features)
        segm_logits = self.keypoint_final_layer(part_feats)  # (B, 25, H, W)
        smpl_final_feats = self.smpl_final_layer(smpl_feats)  # (B, 64, H, W)
        batch, _, height, width = segm_logits.shape
        attention = torch.softmax(segm_logits[:, 1:].flatten(2) / self.temperature, dim=-1)
        pose_feats = attention_pool(attention, smpl_feats)  # (B, C, 24)
        shape_cam_feats = attention_pool(attention, smpl_final_feats)  # (B, 64, 24)
        pose_6d = self.pose_mlp(pose_feats).float()  # (B, 24, 6)
        flat = shape_cam_feats.flatten(1)  # channel-major: index c * 24 + j
        out = {
            "pred_pose": rot6d_to_rotmat(pose_6d),
            "pred_shape": self.shape_mlp(flat).float(),
            "pred_cam": self.cam_mlp(flat).float(),
            "pred_segm_mask": segm_logits,
            "part_attention": attention.view(batch, NUM_JOINTS, height, width),
        }
        if intermediates:
            out.update(inter_part_feats=part_feats, inter_smpl_feats=smpl_feats,
                       inter_smpl_final_feats=smpl_final_feats, inter_pose_local_feats=pose_feats,
                       inter_shape_cam_local_feats=shape_cam_feats)
        return out


class Pare(nn.Module):
    """Normalised RGB crops (B, 3, 224, 224) -> SMPL pose matrices, betas, weak-perspective camera."""

    def __init__(self, backbone: nn.Module, head: PareHead) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: Tensor, intermediates: bool = False) -> dict[str, Tensor]:
        """Keys: pred_pose (B, 24, 3, 3), pred_shape (B, 10), pred_cam (B, 3), pred_segm_mask
        (B, 25, 56, 56) logits, part_attention (B, 24, 56, 56); with `intermediates` also the inter_*
        tensors named as in the reference goldens."""
        features = self.backbone(images)
        out = self.head(features, intermediates)
        if intermediates:
            out["inter_backbone_features"] = features
        return out


def pare_hrnet32() -> Pare:
    """The released PARE: HRNet-W32, two 3x3 conv layers of 128 channels per branch."""
    backbone = HRNetW32()
    return Pare(backbone, PareHead(backbone.out_channels, 128, layers=2, upsample=False))


def pare_resnet50() -> Pare:
    """PARE on ResNet-50: three stride-2 transposed convs of 256 channels per branch (7x7 -> 56x56)."""
    backbone = ResNet50()
    return Pare(backbone, PareHead(backbone.out_channels, 256, layers=3, upsample=True))
