"""Small batched rotation helpers the grounding modules share (numpy, matrices acting on column vectors)."""
from __future__ import annotations

import numpy as np

_TINY = 1e-12


def normalized(vectors: np.ndarray) -> np.ndarray:
    """(..., 3) -> unit vectors along the last axis (zero vectors stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), _TINY)


def axis_rotation(axis: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Unit axis (3,) or (..., 3) and angles (...,) radians -> (..., 3, 3) right-handed rotations (Rodrigues)."""
    axis = normalized(axis)
    shape = np.broadcast_shapes(np.shape(angles), axis.shape[:-1])
    angles = np.broadcast_to(np.asarray(angles, dtype=np.float64), shape)
    axis = np.broadcast_to(axis, shape + (3,))
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(angles)
    cross = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1),
                      np.stack([-y, x, zero], -1)], -2)
    sin, cos = np.sin(angles)[..., None, None], np.cos(angles)[..., None, None]
    return np.eye(3) + sin * cross + (1.0 - cos) * (cross @ cross)


def rotation_between(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(..., 3) directions -> (..., 3, 3) the smallest rotation carrying `source` onto `target`.

    The smallest one turns about source x target and leaves directions along that axis alone, so a bone
    re-aimed with it keeps its twist. Opposite directions turn half a turn about any perpendicular axis.
    """
    a, b = normalized(source), normalized(target)
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1)
    cos = np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)
    fallback = np.cross(a, np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]))
    axis = np.where((sin < 1e-9)[..., None], fallback, axis)
    return axis_rotation(axis, np.arctan2(sin, cos))


def rotation_angle_deg(rotations: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (...,) the angle of each rotation in degrees."""
    trace = np.trace(np.asarray(rotations, dtype=np.float64), axis1=-2, axis2=-1)
    return np.degrees(np.arccos(np.clip((trace - 1.0) / 2.0, -1.0, 1.0)))


def fit_rotation(source: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(..., k, 3) and (..., k, 3) corresponding directions -> (..., 3, 3) rotations R minimising
    sum w |target - R source|^2, one per leading index (weights (..., k), default 1).

    The orthogonal Procrustes (Kabsch) solution through the SVD, with the reflection removed. Batched so a
    RANSAC can fit all its samples in one call.
    """
    source, target = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    weighted = target if weights is None else target * np.asarray(weights, dtype=np.float64)[..., None]
    covariance = np.einsum("...ki,...kj->...ij", weighted, source)
    u, _, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(u @ vt))
    flip = np.ones(u.shape[:-2] + (3,))
    flip[..., 2] = np.where(sign == 0, 1.0, sign)
    return (u * flip[..., None, :]) @ vt
