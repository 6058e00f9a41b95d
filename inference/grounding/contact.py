"""Foot contact: per frame and per foot point (heel and toe of each foot), the probability that it is planted.

A planted point is low and still. Both are measured in the Z-up world, per point against its own planted
height (the low percentile of its heights within 1.5 s): an ankle joint stands about 8 cm above the floor
when the foot is flat and a toe joint 2 cm, and a monocular estimate puts each person a little above or
below the shared floor. Each measure passes through a logistic step, and the two are multiplied:

    p = sigmoid((height_margin - (z - planted)) / height_softness) * sigmoid((speed_limit - v) / speed_softness)

v is the horizontal speed in metres per second (so the numbers mean the same at any frame rate or stride),
from positions lightly smoothed over time so that depth jitter does not read as motion. 2D evidence, when
given, is the foot's speed measured in the image (converted to metres per second at the foot's depth, with
the camera's own motion taken out): it is averaged with the 3D speed, since the image sees sideways motion
far more precisely than depth, while the 3D speed is the only one that sees motion along the viewing ray.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The foot points, in the order every (n, 4) contact array uses, and the SMPL joints that stand for them.
FOOT_POINT_NAMES = ("left_heel", "left_toe", "right_heel", "right_toe")
FOOT_POINT_JOINTS = (7, 10, 8, 11)  # SMPL's ankles carry the heels, SMPL's "foot" joints the toes
PLANTED_PERCENTILE = 15.0
PLANTED_WINDOW_S = 1.5


@dataclass(frozen=True)
class ContactParams:
    """Thresholds of the contact probability (metres, metres per second); p = 1/2 exactly at each limit."""

    height_margin: float = 0.06
    height_softness: float = 0.015
    speed_limit: float = 1.1
    speed_softness: float = 0.1
    position_smoothing_frames: float = 1.5  # Gaussian sigma applied to positions before differencing


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def smooth_over_time(values: np.ndarray, sigma_frames: float) -> np.ndarray:
    """(n, ...) samples -> Gaussian-smoothed along axis 0, the ends renormalised (no pull toward zero)."""
    values = np.asarray(values, dtype=np.float64)
    if sigma_frames <= 0 or len(values) < 2:
        return values
    radius = int(np.ceil(3 * sigma_frames))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma_frames) ** 2)
    n = len(values)
    index = np.arange(n)[:, None] + offsets[None]
    inside = (index >= 0) & (index < n)
    weights = kernel[None] * inside
    gathered = values[np.clip(index, 0, n - 1)]  # (n, taps, ...)
    weights = weights.reshape(weights.shape + (1,) * (values.ndim - 1))
    return (gathered * weights).sum(axis=1) / weights.sum(axis=1)


def speed(positions: np.ndarray, frames: np.ndarray, fps: float, sigma_frames: float = 0.0) -> np.ndarray:
    """Positions (n, K, d) at source frames (n,) -> (n, K) speed in position units per second.

    Central differences over the neighbouring samples, divided by their true time apart (strides and gaps).
    """
    positions = smooth_over_time(positions, sigma_frames)
    if len(positions) < 2:
        return np.zeros(positions.shape[:2])
    times = np.asarray(frames, dtype=np.float64) / fps
    before = np.r_[0, np.arange(len(positions) - 1)]
    after = np.r_[np.arange(1, len(positions)), len(positions) - 1]
    step = np.linalg.norm(positions[after] - positions[before], axis=-1)
    return step / (times[after] - times[before])[:, None]


def horizontal_speed(points: np.ndarray, frames: np.ndarray, fps: float, sigma_frames: float = 0.0) -> np.ndarray:
    """World points (n, K, 3) (Z up) at source frames (n,) -> (n, K) speed along the floor in metres per second."""
    return speed(np.asarray(points, dtype=np.float64)[..., :2], frames, fps, sigma_frames)


def planted_heights(heights: np.ndarray, frames: np.ndarray, fps: float) -> np.ndarray:
    """(n, K) heights above the floor at source frames (n,) -> (n, K) each point's height when planted around
    each frame: a low percentile over the PLANTED_WINDOW_S seconds either side (local in time, so a person
    stepping off a platform is planted on it before and on the ground after)."""
    heights = np.asarray(heights, dtype=np.float64)
    times = np.asarray(frames, dtype=np.float64) / fps
    starts = np.searchsorted(times, times - PLANTED_WINDOW_S, side="left")
    stops = np.searchsorted(times, times + PLANTED_WINDOW_S, side="right")
    return np.stack([np.percentile(heights[start:stop], PLANTED_PERCENTILE, axis=0)
                     for start, stop in zip(starts, stops)]).reshape(heights.shape)


def image_speed_in_metres(points_2d: np.ndarray, depth: np.ndarray, focal_px: float, frames: np.ndarray,
                          fps: float, sigma_frames: float = ContactParams.position_smoothing_frames) -> np.ndarray:
    """Stabilised image positions (n, K, 2) px, depths (n, K) m -> (n, K) sideways speed in metres per second."""
    return speed(points_2d, frames, fps, sigma_frames) * np.asarray(depth, dtype=np.float64) / focal_px


def contact_probability(foot_points: np.ndarray, frames: np.ndarray, fps: float,
                        image_speed: np.ndarray | None = None,
                        params: ContactParams = ContactParams()) -> np.ndarray:
    """One person's world foot points (n, K, 3) (Z up, floor at 0; K = 4 in FOOT_POINT_NAMES order for the
    SMPL joints) at source frames (n,) -> (n, K) contact probability in [0, 1].

    `image_speed` (n, K): optional 2D evidence in metres per second (`image_speed_in_metres`).
    """
    foot_points = np.asarray(foot_points, dtype=np.float64)
    heights = foot_points[..., 2]
    lift = heights - planted_heights(heights, frames, fps)
    moving = horizontal_speed(foot_points, frames, fps, params.position_smoothing_frames)
    if image_speed is not None:
        moving = 0.5 * (moving + np.asarray(image_speed, dtype=np.float64))
    low = _sigmoid((params.height_margin - lift) / params.height_softness)
    still = _sigmoid((params.speed_limit - moving) / params.speed_softness)
    return low * still
