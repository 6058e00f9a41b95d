"""The body's joints without its mesh: rest joints as a function of the betas, and forward kinematics.

Fitting only needs joints, and SMPL-style models regress their joints from the shaped rest mesh before any
pose is applied, so the rest joints are an affine function of the betas. Probing the body once (zero betas,
then each beta alone) recovers that function exactly, for SMPL or any body with the same 24-joint tree and
any vertex count; each optimisation step then costs 24 small rigid transforms instead of a mesh skinning.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from inference.body_model import SMPLBody

# Parent of each of SMPL's 24 joints (-1 for the pelvis); the stand-in body shares this tree.
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
NUM_JOINTS = len(SMPL_PARENTS)


def _depth_levels(parents: tuple[int, ...]) -> list[list[int]]:
    """Joints grouped by their depth in the tree: every parent of level k lies in level k - 1."""
    depth = [0] * len(parents)
    for joint, parent in enumerate(parents):
        depth[joint] = 0 if parent < 0 else depth[parent] + 1
    return [[j for j in range(len(parents)) if depth[j] == level] for level in range(max(depth) + 1)]


_LEVELS = _depth_levels(SMPL_PARENTS)
# Where each joint ends up when the levels are concatenated, and how to restore the joint order.
_LEVEL_ORDER = [joint for level in _LEVELS for joint in level]
_JOINT_ORDER = [_LEVEL_ORDER.index(joint) for joint in range(NUM_JOINTS)]
# For each level after the first: the position of each joint's parent inside the previous level.
_PARENT_IN_PREVIOUS = [[_LEVELS[k - 1].index(SMPL_PARENTS[j]) for j in _LEVELS[k]] for k in range(1, len(_LEVELS))]


@dataclass(frozen=True)
class JointShapeModel:
    """Rest-pose joints as an affine function of the betas: J(b) = template + directions . b."""

    template: Tensor  # (24, 3) rest joints at zero betas, metres
    directions: Tensor  # (24, 3, B) change of the rest joints per unit of each beta

    def rest_joints(self, betas: Tensor) -> Tensor:
        """betas (n, B) -> rest joints (n, 24, 3)."""
        return self.template + torch.einsum("jcb,nb->njc", self.directions, betas)


def joint_shape_model(body: SMPLBody) -> JointShapeModel:
    """Probe `body` once: in the rest pose (identity rotations) its joints are exactly J(betas)."""
    num_betas = body.num_betas
    device = body.smpl.v_template.device
    probe_betas = torch.cat((torch.zeros(1, num_betas), torch.eye(num_betas))).to(device)
    identity = torch.eye(3, device=device).expand(num_betas + 1, NUM_JOINTS, 3, 3)
    with torch.no_grad():
        joints = body(identity, probe_betas).joints.float()  # (1 + B, 24, 3)
    template = joints[0]
    return JointShapeModel(template=template, directions=(joints[1:] - template).permute(1, 2, 0).contiguous())


def forward_kinematics(rotmats: Tensor, rest_joints: Tensor) -> tuple[Tensor, Tensor]:
    """Joint rotations relative to their parents (n, 24, 3, 3) and rest joints (n, 24, 3) ->
    posed joint positions (n, 24, 3) and global joint rotations (n, 24, 3, 3).

    Same convention as SMPL: the pelvis turns about its own rest position (no translation is added), and
    each joint's global rotation carries the bones to its children. Joints of one tree depth are posed
    together, so there are 9 batched steps rather than 24.
    """
    bones = rest_joints.clone()
    bones[:, 1:] = rest_joints[:, 1:] - rest_joints[:, list(SMPL_PARENTS[1:])]
    rotations = [rotmats[:, _LEVELS[0]]]
    positions = [rest_joints[:, _LEVELS[0]]]
    for level, parent_slots in zip(_LEVELS[1:], _PARENT_IN_PREVIOUS):
        parent_rot = rotations[-1][:, parent_slots]  # (n, k, 3, 3)
        offsets = (parent_rot @ bones[:, level].unsqueeze(-1)).squeeze(-1)
        positions.append(positions[-1][:, parent_slots] + offsets)
        rotations.append(parent_rot @ rotmats[:, level])
    order = torch.tensor(_JOINT_ORDER, device=rotmats.device)
    return torch.cat(positions, dim=1)[:, order], torch.cat(rotations, dim=1)[:, order]
