"""What keeps a landmark fit human: a joint-angle prior and joint limits, as least-squares residuals.

Landmarks leave parts of the pose open (how a bend splits over the three spine joints, twists about a bone,
the collar bones) and noise can fold a knee backwards; these terms pick the plausible answer. Angles are
SMPL axis-angle vectors of the 23 non-root joints in each joint's own frame, whose axes in the T-pose are
the body's: x to its left, y up, z to its front. In those axes a knee bends about +x, a hip flexes about -x,
the left elbow bends about -y (the right about +y) and the spine bends forward about +x. (The shape prior,
an L2 on the betas, and temporal smoothness live with the solver and the problem.)
"""
from __future__ import annotations

import torch
from torch import Tensor

from contract.skeleton import JOINT_NAMES

BODY_JOINT_NAMES = JOINT_NAMES[1:]  # the 23 joints below the pelvis, in pose order

# name: (L2 weight, (lower x, y, z), (upper x, y, z)) in radians, for the left side and the midline.
# Weights say how strongly a joint prefers its rest pose: high where landmarks barely see it. Ranges are
# what a body can do, not what is common: a limit outweighs a whole arm's landmarks (their robust loss levels
# off), so a range that is too tight holds a raised arm down and drags the shoulders off their landmarks.
# Raising an arm overhead lifts the collar bone (z, up to about 0.9) and can take the arm past the vertical
# (the shoulder's z beyond pi / 2).
_LEFT_AND_MIDLINE: dict[str, tuple[float, tuple[float, ...], tuple[float, ...]]] = {
    "left_hip": (0.2, (-2.4, -0.9, -0.6), (0.7, 0.9, 1.4)),
    "spine1": (1.0, (-0.4, -0.5, -0.4), (0.9, 0.5, 0.4)),
    "left_knee": (0.1, (0.0, -0.2, -0.15), (2.7, 0.2, 0.15)),
    "spine2": (1.0, (-0.4, -0.5, -0.4), (0.9, 0.5, 0.4)),
    "left_ankle": (1.0, (-0.8, -0.5, -0.5), (0.9, 0.5, 0.5)),
    "spine3": (1.0, (-0.4, -0.5, -0.4), (0.9, 0.5, 0.4)),
    "left_foot": (4.0, (-0.6, -0.2, -0.2), (0.4, 0.2, 0.2)),
    "neck": (1.0, (-0.6, -0.8, -0.5), (0.8, 0.8, 0.5)),
    "left_collar": (3.0, (-0.5, -0.5, -0.5), (0.5, 0.5, 0.9)),
    "head": (1.0, (-0.6, -0.9, -0.5), (0.8, 0.9, 0.5)),
    "left_shoulder": (0.2, (-1.8, -2.4, -1.8), (1.8, 1.2, 2.2)),
    "left_elbow": (0.1, (-1.2, -2.7, -0.2), (1.2, 0.05, 0.2)),
    "left_wrist": (1.0, (-1.0, -0.6, -1.2), (1.0, 0.6, 1.2)),
    "left_hand": (4.0, (-0.3, -0.3, -0.3), (0.3, 0.3, 0.3)),
}


def _joint_table(name: str) -> tuple[float, tuple[float, ...], tuple[float, ...]]:
    """Right-side joints mirror the left: an axis-angle (x, y, z) mirrors to (x, -y, -z) under x -> -x."""
    if not name.startswith("right_"):
        return _LEFT_AND_MIDLINE[name]
    weight, lower, upper = _LEFT_AND_MIDLINE[name.replace("right_", "left_")]
    return weight, (lower[0], -upper[1], -upper[2]), (upper[0], -lower[1], -lower[2])


_TABLE = [_joint_table(name) for name in BODY_JOINT_NAMES]
JOINT_PRIOR_WEIGHTS = torch.tensor([weight for weight, _, _ in _TABLE])  # (23,)
JOINT_LOWER_LIMITS = torch.tensor([lower for _, lower, _ in _TABLE])  # (23, 3)
JOINT_UPPER_LIMITS = torch.tensor([upper for _, _, upper in _TABLE])  # (23, 3)


def pose_residual_scales(joints: int) -> Tensor:
    """(joints,) square roots of the first `joints` body joints' prior weights."""
    return JOINT_PRIOR_WEIGHTS[:joints].sqrt()


def pose_residuals(body_pose: Tensor) -> Tensor:
    """Per-joint weighted angles as residuals: body_pose (n, J, 3) axis-angle of the first J body joints
    -> (n, 3 J); their squares sum to the prior.

    An L2 on axis-angle is the squared rotation angle, so among poses that explain the landmarks equally
    it prefers small rotations spread evenly (a back bent over three spine joints, not one).
    """
    return (pose_residual_scales(body_pose.shape[1]).to(body_pose)[:, None] * body_pose).flatten(1)


def _limits(body_pose: Tensor) -> tuple[Tensor, Tensor]:
    joints = body_pose.shape[1]
    return JOINT_LOWER_LIMITS[:joints].to(body_pose), JOINT_UPPER_LIMITS[:joints].to(body_pose)


def joint_limit_residuals(body_pose: Tensor) -> Tensor:
    """Excess beyond each joint's per-axis range: body_pose (n, J, 3) -> (n, 3 J); 0 inside the box.

    This is what stops knees and elbows from bending backwards and hinge joints from twisting.
    """
    lower, upper = _limits(body_pose)
    return (torch.relu(lower - body_pose) + torch.relu(body_pose - upper)).flatten(1)


def joint_limit_signs(body_pose: Tensor) -> Tensor:
    """d(limit residual) / d(angle) per axis (n, J, 3): -1 below the range, +1 above it, 0 inside."""
    lower, upper = _limits(body_pose)
    return (body_pose > upper).to(body_pose.dtype) - (body_pose < lower).to(body_pose.dtype)
