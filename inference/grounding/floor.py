"""The floor under the people: its up direction and height, in the (reference) camera frame, from the feet.

Every frame of a walking or standing person has a foot on the ground, so the lowest foot point of each frame
lies on the floor give or take the foot's roll (a few cm). Those points are fitted with a plane: they pin the
floor's tilt along every direction the people moved in. Along a direction nobody moved (one person walking a
straight line, or standing still) the points say nothing, and the bodies' up axes (pelvis to neck, averaged
over the take, whose forward lean cancels between people and over turns) decide instead. Both go into one
eigenproblem (`_plane_normal`), so the data outweighs the prior exactly where it has spread.

Robustness: frames whose lowest foot is far from the floor (jumps, mis-estimates) are trimmed away each
round (only the densest 10 cm band of each person's heights is kept); each person's points are taken about
their own mean height, since a monocular estimate puts people at slightly wrong depths and so heights (the
tilt comes from within each person, never from the gap between two); the floor height is the median of the
kept points of the people who share the commonest level (someone on a platform is not pulled down to the
ground, nor the ground up to them). A `FloorHint` (the camera's pitch and roll, when the user knows the
camera is level or tilted by so much) replaces the estimated up direction; the height still comes from the
feet.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from contract.options import check_floor

from .contact import FOOT_POINT_JOINTS
from .rotations import axis_rotation, normalized

PELVIS, NECK = 0, 12
CAMERA_DOWN = np.array([0.0, 1.0, 0.0])  # OpenCV camera axes: y points down the image
# Camera height assumed when nobody's feet are seen (an empty take still needs a world to put the camera in).
DEFAULT_CAMERA_HEIGHT_M = 1.6
# Half the height band in which the lowest foot points of standing frames are sought.
CONTACT_BAND_M = 0.05
# People whose feet are within this of each other's height stand on one floor; further apart, one of them is
# on something else (a platform, stairs): a monocular estimate's depth errors rarely move feet by more.
SAME_FLOOR_M = 0.3
# Weight of the bodies' up axis against the foot points: the variance (m^2) of foot spread that counts as much
# as the prior. 0.1 = points must spread over more than +-30 cm to outweigh it (a walk over metres dominates
# it): a real monocular estimate's feet wander that much in depth, and with 0.01 a three-quarter-view walk of
# bench/quality_data came out 3.2 degrees tilted against 0.1 with this (bench/bench_grounding.py).
UP_PRIOR_VARIANCE_M2 = 0.1
FIT_ROUNDS = 4


@dataclass(frozen=True)
class FloorPlane:
    """The plane height(p) = normal . p + offset = 0, in camera coordinates (metres)."""

    normal: np.ndarray  # (3,) unit vector pointing up, away from the floor
    offset: float

    def height(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (...,) signed height above the floor in metres."""
        return np.asarray(points, dtype=np.float64) @ self.normal + self.offset


@dataclass(frozen=True)
class FloorFit:
    """A fitted floor and how well each person stands on it."""

    plane: FloorPlane
    # Per person, the median height above the shared floor of their lowest foot point in their own standing
    # frames (0 for a person exactly on it; depth errors of a monocular estimate show up here).
    person_levels: tuple[float, ...]
    inlier_fraction: float  # share of frames whose lowest foot point was taken as standing on the floor


@dataclass(frozen=True)
class FloorHint:
    """What the user knows about the camera: its pitch (looking down is positive) and its roll (the horizon
    turned clockwise in the image is positive), in degrees."""

    pitch_deg: float = 0.0
    roll_deg: float = 0.0

    def up_in_camera(self) -> np.ndarray:
        """(3,) the world's up direction in the camera frame of a camera pitched and rolled as given."""
        # A camera pitched down by p sees the up direction tilted toward its image top and its forward axis.
        pitch = axis_rotation(np.array([1.0, 0.0, 0.0]), np.radians(self.pitch_deg))
        roll = axis_rotation(np.array([0.0, 0.0, 1.0]), np.radians(self.roll_deg))
        return roll @ pitch @ -CAMERA_DOWN


def parse_floor_hint(text: str) -> FloorHint | None:
    """`--floor` text -> hint: "auto" (None: estimate from the people), "level" (a level camera), or
    "pitch=P[,roll=R]" in degrees (a camera looking down by P, its horizon turned clockwise by R). The syntax is
    checked as the option is (`contract.options.check_floor`: UserError)."""
    if not text.strip():
        return None
    check_floor(text)
    text = text.strip().lower()
    if text == "auto":
        return None
    if text == "level":
        return FloorHint()
    values = {key.strip(): float(value) for key, _, value in (item.partition("=") for item in text.split(","))}
    return FloorHint(pitch_deg=values.get("pitch", 0.0), roll_deg=values.get("roll", 0.0))


def body_up(joints_per_person: Sequence[np.ndarray]) -> np.ndarray | None:
    """People's joints [(n, 24, 3)] -> (3,) robust mean of their pelvis-to-neck directions, or None if empty.

    Directions more than 30 degrees from the first mean (bent over, lying, mis-estimated) are dropped.
    """
    trunks = [normalized(j[:, NECK] - j[:, PELVIS]) for j in joints_per_person if len(j)]
    if not trunks:
        return None
    directions = np.concatenate(trunks)
    mean = normalized(directions.mean(axis=0))
    upright = directions @ mean > np.cos(np.radians(30.0))
    return normalized(directions[upright].mean(axis=0)) if upright.any() else mean


def _lowest_points(foot_points: Sequence[np.ndarray], up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per person (n, k, 3) foot points -> (N, 3) each frame's lowest point along `up`, (N,) person index."""
    lowest, owner = [], []
    for person, points in enumerate(foot_points):
        if len(points):
            pick = np.argmin(points @ up, axis=1)
            lowest.append(points[np.arange(len(points)), pick])
            owner.append(np.full(len(points), person))
    return np.concatenate(lowest), np.concatenate(owner)


def _standing(heights: np.ndarray) -> np.ndarray:
    """(N,) heights of lowest foot points -> (N,) bool: inside the densest band of 2 * CONTACT_BAND_M.

    Standing frames pile up at one height while frames in the air or mis-estimated spread out, so the
    densest band is the floor however many of them there are on either side (a percentile is not).
    """
    ordered = np.sort(heights)
    counts = np.searchsorted(ordered, ordered + 2 * CONTACT_BAND_M, side="right") - np.arange(len(ordered))
    bottom = ordered[np.argmax(counts)]
    return (heights >= bottom) & (heights <= bottom + 2 * CONTACT_BAND_M)


def _standing_per_person(heights: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """(N,) heights and owners -> (N,) bool: inside the densest band of each person's own heights, so a
    person whose depth (and with it height) is a little off still lends the floor its tilt."""
    standing = np.zeros(len(heights), dtype=bool)
    for person in np.unique(owner):
        mine = owner == person
        standing[mine] = _standing(heights[mine])
    return standing


def _shared_level(own_heights: Sequence[np.ndarray]) -> float:
    """Each person's standing heights -> the floor's height: the level that most standing foot-frames share
    (people within SAME_FLOOR_M of each other stand on one floor; someone on a platform stands elsewhere),
    the lowest such level on a tie, as the median of its people's heights."""
    people = [h for h in own_heights if len(h)]
    levels = np.array([np.median(h) for h in people])
    counts = np.array([len(h) for h in people])
    support = [counts[(levels >= level) & (levels <= level + SAME_FLOOR_M)].sum() for level in levels]
    best = np.max(support)
    bottom = min(level for level, votes in zip(levels, support) if votes == best)
    return float(np.median(np.concatenate([h for h, level in zip(people, levels)
                                           if bottom <= level <= bottom + SAME_FLOOR_M])))


def _plane_normal(points: np.ndarray, owner: np.ndarray, prior_up: np.ndarray) -> np.ndarray:
    """(N, 3) floor points, (N,) their person, (3,) prior up -> (3,) unit normal, on the prior's side.

    Minimises sum_i (n . (p_i - mean of p_i's person))^2 + lambda |n x u|^2 over unit n: the smallest
    eigenvector of S + lambda (I - u u^T), S the scatter of the points about their person's mean (each
    person may stand at their own height), lambda = N * UP_PRIOR_VARIANCE_M2.
    """
    centred = points.copy()
    for person in np.unique(owner):
        centred[owner == person] -= points[owner == person].mean(axis=0)
    prior = len(points) * UP_PRIOR_VARIANCE_M2 * (np.eye(3) - np.outer(prior_up, prior_up))
    _, vectors = np.linalg.eigh(centred.T @ centred + prior)
    normal = vectors[:, 0]
    return normal if normal @ prior_up >= 0 else -normal


def estimate_floor(joints_per_person: Sequence[np.ndarray], foot_points_per_person: Sequence[np.ndarray] | None = None,
                   hint: FloorHint | None = None) -> FloorFit:
    """People's camera-frame joints [(n, 24, 3)] -> the floor plane they stand on.

    `foot_points_per_person` [(n, k, 3)]: the points that touch the ground (default: SMPL's ankle and toe
    joints, FOOT_POINT_JOINTS; pass mesh heel / toe keypoints to put the soles, not the joints, on the floor).
    With moving cameras, pass points already in the reference camera's frame (world_frame.stabilize_points).
    """
    if foot_points_per_person is None:
        foot_points_per_person = [np.asarray(j, dtype=np.float64)[:, FOOT_POINT_JOINTS] for j in joints_per_person]
    foot_points = [np.asarray(p, dtype=np.float64) for p in foot_points_per_person]
    hinted_up = None if hint is None else hint.up_in_camera()
    prior_up = hinted_up if hinted_up is not None else body_up(joints_per_person)
    if prior_up is None or not any(len(p) for p in foot_points):
        up = -CAMERA_DOWN if prior_up is None else prior_up
        return FloorFit(FloorPlane(up, DEFAULT_CAMERA_HEIGHT_M), tuple(0.0 for _ in foot_points), 0.0)
    up = prior_up
    for _ in range(FIT_ROUNDS):
        lowest, owner = _lowest_points(foot_points, up)
        standing = _standing_per_person(lowest @ up, owner)
        if hinted_up is None and standing.sum() >= 3:
            up = _plane_normal(lowest[standing], owner[standing], prior_up)
    heights = lowest @ up
    own = [heights[standing & (owner == p)] for p in range(len(foot_points))]
    offset = -_shared_level(own)
    levels = tuple(float(np.median(mine)) + offset if len(mine) else 0.0 for mine in own)
    return FloorFit(FloorPlane(up, offset), levels, float(standing.mean()))
