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

from contract.skeleton import NUM_JOINTS, PARENTS

from ..body_model import SMPLBody



def _depth_levels(parents: tuple[int, ...]) -> list[list[int]]:
    """Joints grouped by their depth in the tree: every parent of level k lies in level k - 1."""
    depth = [0] * len(parents)
    for joint, parent in enumerate(parents):
        depth[joint] = 0 if parent < 0 else depth[parent] + 1
    return [[j for j in range(len(parents)) if depth[j] == level] for level in range(max(depth) + 1)]


def _ancestry(parents: tuple[int, ...]) -> Tensor:
    """(J, J) table with [j, a] = 1 when joint a lies on the path from the pelvis to joint j (j included)."""
    table = torch.zeros(len(parents), len(parents))
    for joint in range(len(parents)):
        node = joint
        while node >= 0:
            table[joint, node] = 1.0
            node = parents[node]
    return table


# A joint's position is the sum of the rotated bones along its path, and a turn at joint a moves exactly
# the joints j with ANCESTRY[j, a] = 1.
ANCESTRY = _ancestry(PARENTS)
_PARENT_OR_SELF = [max(parent, 0) for parent in PARENTS]
_LEVELS = _depth_levels(PARENTS)
# Where each joint ends up when the levels are concatenated, and how to restore the joint order.
_LEVEL_ORDER = [joint for level in _LEVELS for joint in level]
_JOINT_ORDER = [_LEVEL_ORDER.index(joint) for joint in range(NUM_JOINTS)]
# For each level after the first: the position of each joint's parent inside the previous level.
_PARENT_IN_PREVIOUS = [[_LEVELS[k - 1].index(PARENTS[j]) for j in _LEVELS[k]] for k in range(1, len(_LEVELS))]


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
    together, so there are 9 batched steps rather than 24 (indexing by `index_select`, the fast path).
    """
    device = rotmats.device
    bones = bones_of(rest_joints)
    levels = [torch.tensor(level, device=device) for level in _LEVELS]
    rotations = [rotmats.index_select(1, levels[0])]
    positions = [rest_joints.index_select(1, levels[0])]
    for level, parent_slots in zip(levels[1:], _PARENT_IN_PREVIOUS):
        slots = torch.tensor(parent_slots, device=device)
        parent_rot = rotations[-1].index_select(1, slots)  # (n, k, 3, 3)
        offsets = (parent_rot @ bones.index_select(1, level).unsqueeze(-1)).squeeze(-1)
        positions.append(positions[-1].index_select(1, slots) + offsets)
        rotations.append(parent_rot @ rotmats.index_select(1, level))
    order = torch.tensor(_JOINT_ORDER, device=device)
    return torch.cat(positions, dim=1).index_select(1, order), torch.cat(rotations, dim=1).index_select(1, order)


def bones_of(rest: Tensor) -> Tensor:
    """Rest joints (..., 24, 3) -> each joint's offset from its parent (the pelvis keeps its position)."""
    parents = torch.tensor(_PARENT_OR_SELF, device=rest.device)
    is_child = torch.tensor([0.0] + [1.0] * (NUM_JOINTS - 1), dtype=rest.dtype, device=rest.device)[:, None]
    return rest - is_child * rest.index_select(-2, parents)


def rotated_bone_sums(global_rot: Tensor, bones: Tensor) -> Tensor:
    """Joint positions from global rotations (n, 24, 3, 3) and bones (n, 24, 3, B) (each joint's rest offset
    from its parent, the pelvis's from the origin) -> (n, 24, 3, B).

    Positions are linear in the bones once the rotations are fixed, so this also carries derivatives: with
    the bones of the shape directions it gives d(joints) / d(betas).
    """
    parent_rot = global_rot.index_select(1, torch.tensor(_PARENT_OR_SELF, device=global_rot.device))
    root_axes = torch.eye(3, dtype=global_rot.dtype, device=global_rot.device).expand_as(parent_rot[:, :1])
    parent_rot = torch.cat((root_axes, parent_rot[:, 1:]), dim=1)
    return torch.einsum("ja,nacb->njcb", ANCESTRY.to(global_rot), parent_rot @ bones)
