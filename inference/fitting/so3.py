"""Rotation calculus for the solver: small turns applied to rotation matrices and their derivatives.

The solver moves each rotation by a small turn d (axis-angle) - R exp(d) for joints (in the joint's own
frame), exp(d) R for the root (in the camera frame) - so derivatives are simple cross products and no
parameterisation singularity is ever met. The angle priors, which are stated on the axis-angle vector
theta = log(R), then need d theta / d d = the inverse right Jacobian of SO(3).
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..models.rotation import cross_matrix, rot6d_to_rotmat

_SMALL_ANGLE = 1e-2


def right_jacobian_inverse(theta: Tensor) -> Tensor:
    """(..., 3) axis-angle -> (..., 3, 3) matrix M with log(exp(theta) exp(d)) = theta + M d + O(d^2).

    M = I + K / 2 + c K^2 with K = cross_matrix(theta), c = 1 / t^2 - (1 + cos t) / (2 t sin t), t = |theta|;
    c -> 1 / 12 as t -> 0 (series used below 0.01 rad). Valid for t < pi, where joint angles stay.
    """
    angle = torch.linalg.vector_norm(theta, dim=-1, keepdim=True).unsqueeze(-1)
    small = angle < _SMALL_ANGLE
    safe = torch.where(small, torch.ones_like(angle), angle).clamp_max(3.1)
    closed = 1.0 / safe.square() - (1.0 + torch.cos(safe)) / (2.0 * safe * torch.sin(safe))
    coefficient = torch.where(small, 1.0 / 12.0 + angle.square() / 720.0, closed)
    k = cross_matrix(theta)
    return torch.eye(3, dtype=theta.dtype, device=theta.device) + 0.5 * k + coefficient * (k @ k)


def orthonormalise(rotmats: Tensor) -> Tensor:
    """(..., 3, 3) nearly-rotation matrices -> rotations (Gram-Schmidt on the first two columns), so that
    many small updates cannot drift away from SO(3)."""
    return rot6d_to_rotmat(rotmats[..., :, :2].reshape(*rotmats.shape[:-2], 6))
