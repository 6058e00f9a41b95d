"""Signed-distance primitives and their smooth blending, evaluated on many points at once (numpy only).

Distances are negative inside. Several primitives are only approximately metric (ellipsoids, squashed
cones, the lofted torso): their zero level set is exact and their value is close to the distance near it,
which is all the blending and the surface extraction need.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Field = Callable[[np.ndarray], np.ndarray]  # points (N, 3) -> signed distances (N,)


def smooth_min(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum: equals min(a, b) where they differ by more than k, a fillet of width ~k
    where they are close (k = 0: the plain union)."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def smooth_max(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth intersection (the mirror of smooth_min)."""
    return -smooth_min(-a, -b, k)


def _frame(axis: np.ndarray, up_hint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to `axis` (unit), the first as close to `up_hint` as possible."""
    first = up_hint - axis * float(up_hint @ axis)
    if np.linalg.norm(first) < 1e-9:
        first = np.cross(axis, [1.0, 0.0, 0.0] if abs(axis[0]) < 0.9 else [0.0, 0.0, 1.0])
    first = first / np.linalg.norm(first)
    return first, np.cross(axis, first)


def round_cone(start, end, radius_start: float, radius_end: float, squash=(1.0, 1.0),
               up_hint=(0.0, 1.0, 0.0)) -> Field:
    """A sphere-swept cone from (start, radius_start) to (end, radius_end): a limb segment with rounded ends.

    `squash` = (s1, s2) stretches the cross-section by s1 toward `up_hint` and by s2 across it, for flat
    limbs (wrists, hands, feet); the distance is then approximate.
    """
    a, b = np.asarray(start, float), np.asarray(end, float)
    length = float(np.linalg.norm(b - a))
    axis = (b - a) / length
    across_up, across_side = _frame(axis, np.asarray(up_hint, float))
    sin_t = (radius_start - radius_end) / length
    cos_t = np.sqrt(max(1.0 - sin_t * sin_t, 1e-12))
    s1, s2 = squash

    def field(points: np.ndarray) -> np.ndarray:
        rel = points - a
        along = rel @ axis
        radial = np.hypot((rel @ across_up) / s1, (rel @ across_side) / s2)
        # 2D (along, radial): the side line touches both circles; tangent direction (cos t, -sin t).
        to_side = along * cos_t - radial * sin_t
        side = along * sin_t + radial * cos_t - radius_start
        near_start = np.hypot(along, radial) - radius_start
        near_end = np.hypot(along - length, radial) - radius_end
        dist = np.where(to_side < 0, near_start, np.where(to_side > length * cos_t, near_end, side))
        return dist * min(s1, s2)
    return field


def ellipsoid(center, radii, rotation: np.ndarray | None = None) -> Field:
    """Ellipsoid with half-axes `radii` along the columns of `rotation` (identity: x, y, z)."""
    c, r = np.asarray(center, float), np.asarray(radii, float)
    rot = np.eye(3) if rotation is None else np.asarray(rotation, float)

    def field(points: np.ndarray) -> np.ndarray:
        local = (points - c) @ rot
        k0 = np.linalg.norm(local / r, axis=1)
        k1 = np.linalg.norm(local / (r * r), axis=1)
        return np.where(k1 > 1e-12, k0 * (k0 - 1.0) / np.maximum(k1, 1e-12), -r.min())
    return field


def rotation_from_axes(x_axis, y_axis) -> np.ndarray:
    """(3, 3) rotation whose columns are x_axis, the part of y_axis perpendicular to it, and their cross."""
    x = np.asarray(x_axis, float)
    x = x / np.linalg.norm(x)
    y = np.asarray(y_axis, float) - x * float(np.dot(y_axis, x))
    y = y / np.linalg.norm(y)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def loft(heights: np.ndarray, half_width: np.ndarray, front: np.ndarray, back: np.ndarray,
         exponent: np.ndarray, center_x: float = 0.0, rounding: float = 0.02) -> Field:
    """A vertical loft of superellipse cross-sections (the torso).

    At height y the section spans x in center_x +- half_width(y) and z in [back(y), front(y)], with
    superellipse exponent(y) (2 = ellipse, larger = boxier); the key values are interpolated smoothly
    (cubic) between the given heights, and the ends are closed with a fillet of `rounding`.
    """
    fine = np.linspace(heights[0], heights[-1], 2000)
    table = [_smooth_interp(fine, heights, values) for values in (half_width, front, back, exponent)]
    bottom, top = float(heights[0]), float(heights[-1])

    def field(points: np.ndarray) -> np.ndarray:
        y = points[:, 1]
        a, zf, zb, n = (np.interp(y, fine, column) for column in table)
        zc, b = 0.5 * (zf + zb), 0.5 * (zf - zb)
        u = np.abs(points[:, 0] - center_x) / a
        w = np.abs(points[:, 2] - zc) / b
        rho = (u ** n + w ** n) ** (1.0 / n)
        # d rho / d(x, z): the first-order distance (rho - 1) / |grad rho| of a level-set function
        scale = np.maximum(rho, 1e-9) ** (1.0 - n)
        grad = np.hypot(scale * u ** (n - 1.0) / a, scale * w ** (n - 1.0) / b)
        section = (rho - 1.0) / np.maximum(grad, 1e-9)
        caps = np.maximum(bottom - y, y - top)
        return smooth_max(section, caps, rounding)
    return field


def _smooth_interp(x: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Cubic Hermite interpolation of values at increasing keys, slopes by finite differences: smooth
    (continuous first derivative) where linear interpolation would leave visible kinks in the loft."""
    keys, values = np.asarray(keys, float), np.asarray(values, float)
    slopes = np.gradient(values, keys)
    index = np.clip(np.searchsorted(keys, x) - 1, 0, len(keys) - 2)
    x0, x1 = keys[index], keys[index + 1]
    span = x1 - x0
    t = (x - x0) / span
    h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, -2 * t**3 + 3 * t**2, t**3 - t**2
    return (h00 * values[index] + h10 * span * slopes[index] + h01 * values[index + 1]
            + h11 * span * slopes[index + 1])


@dataclass(frozen=True)
class Part:
    """One primitive of a blended body: its field, where it can matter (a box), and how it joins.

    mode "add" blends it in with smooth_min(k), "cut" carves it out with smooth_max(-field, k),
    "clip" intersects the body with it (smooth_max(field, k)).
    """

    field: Field
    low: np.ndarray  # (3,) box corners; outside the box the part is far from everything that matters
    high: np.ndarray
    k: float
    mode: str = "add"


# A part changes the field only within its box; outside it, the part is farther than this from everything
# that later parts may blend with (their blend widths stay below it), so cutting it off there leaves no seam.
BLEND_REACH_M = 0.06


def part(field: Field, low, high, k: float, mode: str = "add") -> Part:
    """A Part whose box is the given bounds of the primitive grown by everything it may influence."""
    pad = 2.0 * k + BLEND_REACH_M
    return Part(field, np.asarray(low, float) - pad, np.asarray(high, float) + pad, k, mode)


def combine(value: np.ndarray, piece: Part, points: np.ndarray) -> np.ndarray:
    """Blend `piece` into the field `value` (N,) at `points` (N, 3), touching only points in its box."""
    inside = np.all((points >= piece.low) & (points <= piece.high), axis=1)
    if not inside.any():
        return value
    here = piece.field(points[inside])
    if piece.mode == "add":
        value[inside] = smooth_min(value[inside], here, piece.k)
    elif piece.mode == "cut":
        value[inside] = smooth_max(value[inside], -here, piece.k)
    else:
        value[inside] = smooth_max(value[inside], here, piece.k)
    return value
