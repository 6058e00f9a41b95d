"""Rotation conversions: the networks' 6D output, rotation matrices and axis-angle (SMPL / Blender).

All functions work on any leading batch shape, any float dtype and any device, and are written without
branches on data so they stay vectorised; small- and large-angle cases are blended with `torch.where`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# Below this angle (radians) the closed forms lose precision; their Taylor series are used instead.
_SMALL_ANGLE = 1e-3


def rot6d_to_rotmat(x: Tensor) -> Tensor:
    """6D rotation representation (..., 6) -> rotation matrices (..., 3, 3).

    The 6 numbers are read as a 3x2 matrix in row-major order whose columns a1, a2 are orthonormalised
    (Gram-Schmidt); b3 = b1 x b2. This is the convention the PARE and SPIN regressors were trained with,
    so the layout must not change: element k of the 6 is row k // 2, column k % 2.
    """
    a = x.reshape(*x.shape[:-1], 3, 2)
    a1, a2 = a[..., 0], a[..., 1]
    b1 = F.normalize(a1, dim=-1, eps=1e-12)
    b2 = F.normalize(a2 - (b1 * a2).sum(dim=-1, keepdim=True) * b1, dim=-1, eps=1e-12)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-1)


def cross_matrix(v: Tensor) -> Tensor:
    """Vectors (..., 3) -> cross-product matrices (..., 3, 3), so that skew(v) @ u = v x u."""
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    rows = (zero, -z, y, z, zero, -x, -y, x, zero)
    return torch.stack(rows, dim=-1).reshape(*v.shape[:-1], 3, 3)


def axis_angle_to_rotmat(r: Tensor) -> Tensor:
    """Axis-angle vectors (..., 3) (direction = axis, norm = angle in radians) -> matrices (..., 3, 3).

    Rodrigues: R = I + sin(t)/t K + (1 - cos(t))/t^2 K^2 with K = skew(r); series for small t keep it
    exact at and near zero (no division by a vanishing angle).
    """
    angle = torch.linalg.vector_norm(r, dim=-1, keepdim=True).unsqueeze(-1)  # (..., 1, 1)
    small = angle < _SMALL_ANGLE
    safe = torch.where(small, torch.ones_like(angle), angle)
    sq = angle * angle
    sin_term = torch.where(small, 1.0 - sq / 6.0, torch.sin(safe) / safe)
    half_sin = torch.sin(safe / 2) / safe
    cos_term = torch.where(small, 0.5 - sq / 24.0, 2.0 * half_sin * half_sin)  # (1 - cos t) / t^2
    k = cross_matrix(r)
    eye = torch.eye(3, dtype=r.dtype, device=r.device)
    return eye + sin_term * k + cos_term * (k @ k)


def _rotmat_to_quaternion(m: Tensor) -> Tensor:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) as (w, x, y, z) with w >= 0.

    Each of the four components can be recovered from the matrix; dividing by the largest one (which is
    at least 1/2) keeps the result accurate for every rotation, including those near 180 degrees.
    """
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    four_sq = torch.stack((1 + m00 + m11 + m22, 1 + m00 - m11 - m22,
                           1 - m00 + m11 - m22, 1 - m00 - m11 + m22), dim=-1)  # 4 * (w, x, y, z)^2
    big = torch.sqrt(four_sq.clamp(min=0.25))  # 2 * |component|; clamped only where it is not used
    candidates = torch.stack((
        torch.stack((four_sq[..., 0], m21 - m12, m02 - m20, m10 - m01), dim=-1) / big[..., 0:1],
        torch.stack((m21 - m12, four_sq[..., 1], m01 + m10, m02 + m20), dim=-1) / big[..., 1:2],
        torch.stack((m02 - m20, m01 + m10, four_sq[..., 2], m12 + m21), dim=-1) / big[..., 2:3],
        torch.stack((m10 - m01, m02 + m20, m12 + m21, four_sq[..., 3]), dim=-1) / big[..., 3:4],
    ), dim=-2) / 2  # (..., 4 candidates, 4)
    best = four_sq.argmax(dim=-1, keepdim=True).unsqueeze(-1).expand(*m.shape[:-2], 1, 4)
    q = candidates.gather(-2, best).squeeze(-2)
    q = torch.where(q[..., :1] < 0, -q, q)
    return F.normalize(q, dim=-1)


def rotmat_to_axis_angle(m: Tensor) -> Tensor:
    """Rotation matrices (..., 3, 3) -> axis-angle vectors (..., 3) with angle in [0, pi].

    Goes through the quaternion (w, v): angle = 2 atan2(|v|, w), which is well conditioned at every
    angle, unlike acos of the trace (flat near 0 and pi). At exactly pi both r and -r are valid.
    """
    q = _rotmat_to_quaternion(m)
    w, v = q[..., :1], q[..., 1:]
    sin_half = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    small = sin_half < _SMALL_ANGLE
    safe = torch.where(small, torch.ones_like(sin_half), sin_half)
    # angle / sin(angle / 2) = 2 atan2(s, w) / s with s = sin(angle / 2), w = cos(angle / 2);
    # for small s its series 2 / w * (1 - s^2 / (3 w^2)) avoids dividing by s.
    scale = torch.where(small, 2.0 / w * (1.0 - sin_half * sin_half / (3.0 * w * w)),
                        2.0 * torch.atan2(sin_half, w) / safe)
    return v * scale
