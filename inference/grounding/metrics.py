"""How grounded a motion is, in numbers for the tests and the issue-7 benchmark (world frame: Z up, floor at 0).

The contact test is the issue's own: a foot is on the ground in a frame when its lowest point is within
`band` (5 cm) of that person's floor level (the median height of their lowest foot point over the take, so a
person estimated a little above or below the shared floor is judged against their own level).
"""
from __future__ import annotations

import numpy as np

from .floor import NECK, PELVIS

CONTACT_BAND_M = 0.05
FEET = ((0, 1), (2, 3))  # columns of the (n, 4) foot points (FOOT_POINT_NAMES) that make up each foot


def person_floor_level(foot_points: np.ndarray) -> float:
    """(n, 4, 3) world foot points -> the person's floor level: median height of the lowest one per frame."""
    return float(np.median(np.asarray(foot_points)[..., 2].min(axis=1)))


def feet_on_ground(foot_points: np.ndarray, band: float = CONTACT_BAND_M) -> np.ndarray:
    """(n, 4, 3) world foot points -> (n, 2) bool: each foot's lowest point within `band` of the floor level."""
    heights = np.asarray(foot_points)[..., 2]
    level = person_floor_level(foot_points)
    return np.stack([heights[:, list(foot)].min(axis=1) - level <= band for foot in FEET], axis=1)


def foot_skate_mm(foot_points: np.ndarray, on_ground: np.ndarray | None = None) -> float:
    """(n, 4, 3) world foot points of consecutive frames -> median horizontal movement per frame (mm) of each
    foot's lowest point, over the frame pairs where that foot is on the ground in both (NaN if none)."""
    points = np.asarray(foot_points, dtype=np.float64)
    on_ground = feet_on_ground(points) if on_ground is None else on_ground
    moves = []
    for side, foot in enumerate(FEET):
        lowest = np.argmin(points[:, list(foot), 2], axis=1)
        spot = points[np.arange(len(points)), np.array(foot)[lowest], :2]
        both = on_ground[1:, side] & on_ground[:-1, side]
        moves.append(np.linalg.norm(np.diff(spot, axis=0), axis=-1)[both])
    moves = np.concatenate(moves)
    return float(np.median(moves) * 1000.0) if len(moves) else float("nan")


def ground_contact_share(foot_points: np.ndarray) -> float:
    """(n, 4, 3) -> the share of foot-frames on the ground (the issue asks for at least a fifth)."""
    return float(feet_on_ground(foot_points).mean())


def penetration_and_float_mm(foot_points: np.ndarray) -> tuple[float, float]:
    """(n, K, 3) world foot points -> (mean depth of the lowest point below Z = 0, median height of the lowest
    point above Z = 0), millimetres. The median lets a jump's frames in the air not count as floating."""
    lowest = np.asarray(foot_points)[..., 2].min(axis=1)
    return float(np.mean(np.maximum(-lowest, 0.0)) * 1000.0), float(np.median(np.maximum(lowest, 0.0)) * 1000.0)


def trunk_tilt_deg(joints: np.ndarray) -> float:
    """(n, 24, 3) world joints -> mean angle between the pelvis-to-neck direction and +Z, degrees."""
    trunk = np.asarray(joints)[:, NECK] - np.asarray(joints)[:, PELVIS]
    cosine = trunk[:, 2] / np.linalg.norm(trunk, axis=-1)
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))).mean())


def align_on_floor(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n, 3) trajectories -> the estimate turned about Z and shifted along the floor to fit the truth best
    (least squares); heights are left as they are.

    A world found from the people fixes up and the floor, not the heading or the origin on the floor, so
    trajectories are compared up to those.
    """
    estimate, truth = np.asarray(estimate, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    e_mean, t_mean = estimate.mean(axis=0), truth.mean(axis=0)
    e, t = estimate[:, :2] - e_mean[:2], truth[:, :2] - t_mean[:2]
    angle = np.arctan2(np.sum(e[:, 0] * t[:, 1] - e[:, 1] * t[:, 0]), np.sum(e * t))
    cos, sin = np.cos(angle), np.sin(angle)
    turned = np.stack([cos * e[:, 0] - sin * e[:, 1], sin * e[:, 0] + cos * e[:, 1]], axis=-1)
    return np.concatenate([turned + t_mean[:2], estimate[:, 2:]], axis=-1)


def trajectory_error_m(estimate: np.ndarray, truth: np.ndarray, aligned: bool = True) -> float:
    """(n, 3) world trajectories (e.g. the pelvis) -> mean distance in metres, after `align_on_floor`."""
    estimate = align_on_floor(estimate, truth) if aligned else np.asarray(estimate, dtype=np.float64)
    return float(np.linalg.norm(estimate - truth, axis=-1).mean())
