"""Motion-quality metrics of estimated 3D joints against ground truth (numpy only).

Shapes: T frames, J joints; points in metres, results in millimetres. Joint j is SMPL's joint j
(contract.skeleton.JOINT_NAMES) on both sides: the truth's body is the stand-in, whose joints are SMPL's.
Why each one:
  * PA-MPJPE: the pose alone (each frame aligned by the best similarity transform): what a pose estimator
    is first judged by.
  * root-aligned MPJPE: pose and orientation (only the pelvis positions made equal): a body turned the wrong
    way scores badly here, not under PA.
  * absolute MPJPE: where the joints are in the world, depth included (the known camera puts the estimate
    in the world); a body at the wrong distance or size scores badly here.
  * acceleration error and jitter: how the motion moves, on runs of consecutive frames: a pose can be right
    on average and still shake.
"""
from __future__ import annotations

import numpy as np

from contract.skeleton import JOINT_NAMES

LIMB_JOINT_NAMES = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
                    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")
LIMB_JOINTS = np.array([JOINT_NAMES.index(name) for name in LIMB_JOINT_NAMES])
ALL_JOINTS = np.arange(len(JOINT_NAMES))
ROOT = JOINT_NAMES.index("pelvis")
MM = 1000.0


def similarity_align(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(T, J, 3) `predicted` moved onto `truth` frame by frame with the scale, rotation and translation that
    minimise the squared distances (Umeyama's closed form; a reflection is never chosen)."""
    mu_p, mu_t = predicted.mean(axis=1, keepdims=True), truth.mean(axis=1, keepdims=True)
    p, t = predicted - mu_p, truth - mu_t
    covariance = np.einsum("tji,tjk->tik", t, p)  # (T, 3, 3) sum of t p^T
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(u @ vt))
    correction = np.ones_like(singular)
    correction[:, -1] = sign
    rotation = u @ (correction[:, :, None] * vt)
    scale = (singular * correction).sum(axis=1) / (p ** 2).sum(axis=(1, 2))
    return scale[:, None, None] * np.einsum("tik,tjk->tji", rotation, p) + mu_t


def _mean_error_mm(predicted: np.ndarray, truth: np.ndarray, joints: np.ndarray) -> float:
    return float(np.linalg.norm(predicted[:, joints] - truth[:, joints], axis=-1).mean() * MM)


def pa_mpjpe(predicted: np.ndarray, truth: np.ndarray, joints: np.ndarray = ALL_JOINTS) -> float:
    """Mean joint error (mm) after aligning each frame's `joints` by a similarity transform."""
    return _mean_error_mm(similarity_align(predicted[:, joints], truth[:, joints]), truth[:, joints],
                          np.arange(len(joints)))


def root_aligned(points: np.ndarray) -> np.ndarray:
    """(T, J, 3) joints relative to the pelvis."""
    return points - points[:, ROOT:ROOT + 1]


def root_aligned_mpjpe(predicted: np.ndarray, truth: np.ndarray, joints: np.ndarray = ALL_JOINTS) -> float:
    """Mean joint error (mm) once both pelvises are at the origin; orientation still counts."""
    return _mean_error_mm(root_aligned(predicted), root_aligned(truth), joints)


def absolute_mpjpe(predicted: np.ndarray, truth: np.ndarray, joints: np.ndarray = ALL_JOINTS) -> float:
    """Mean joint error (mm) with no alignment at all: position and depth count."""
    return _mean_error_mm(predicted, truth, joints)


def consecutive_runs(frames: np.ndarray, length: int) -> list[np.ndarray]:
    """Index ranges into `frames` (sorted source frame numbers) of runs of consecutive frames at least
    `length` long: finite differences are taken only inside them, never across a gap."""
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    return [run for run in np.split(np.arange(len(frames)), breaks) if len(run) >= length]


def _differences(points: np.ndarray, frames: np.ndarray, order: int) -> np.ndarray:
    """(K, J, 3) `order`-th finite differences over time inside the consecutive runs (K may be 0)."""
    pieces = [np.diff(points[run], n=order, axis=0) for run in consecutive_runs(frames, order + 1)]
    return np.concatenate(pieces) if pieces else np.zeros((0, *points.shape[1:]))


def acceleration_error(predicted: np.ndarray, truth: np.ndarray, frames: np.ndarray,
                       joints: np.ndarray = ALL_JOINTS) -> float:
    """Mean difference (mm/frame^2) between the pelvis-relative joints' accelerations and the truth's; NaN
    when no three consecutive frames were estimated."""
    difference = _differences(root_aligned(predicted)[:, joints] - root_aligned(truth)[:, joints], frames, 2)
    return float(np.linalg.norm(difference, axis=-1).mean() * MM) if len(difference) else float("nan")


def jitter(points: np.ndarray, frames: np.ndarray, joints: np.ndarray = ALL_JOINTS) -> float:
    """Mean jerk (mm/frame^3, third difference) of the pelvis-relative joints: shaking, where real motion is
    smooth (the truth's own jitter is its floor); NaN with fewer than four consecutive frames."""
    jerk = _differences(root_aligned(points)[:, joints], frames, 3)
    return float(np.linalg.norm(jerk, axis=-1).mean() * MM) if len(jerk) else float("nan")


def joints_on_person(joints_2d: np.ndarray, masks: np.ndarray, counted: np.ndarray | None = None) -> np.ndarray:
    """(T,) fraction of each frame's (T, J, 2) pixel joints that fall on the person's (T, H, W) mask, of the
    joints `counted` (T, J) bool (default all; e.g. those the truth has inside the picture, so a body whose
    legs rightly leave a close framing is not called off its person); 0 where none is counted."""
    height, width = masks.shape[1:]
    column = np.clip(np.round(joints_2d[..., 0]).astype(int), -1, width)
    row = np.clip(np.round(joints_2d[..., 1]).astype(int), -1, height)
    inside = in_picture(np.stack([column, row], axis=-1), (height, width))
    frame = np.broadcast_to(np.arange(len(masks))[:, None], column.shape)
    hits = np.zeros(column.shape, bool)
    hits[inside] = masks[frame[inside], row[inside], column[inside]]
    counted = np.ones(column.shape, bool) if counted is None else np.asarray(counted, bool)
    return (hits & counted).sum(axis=1) / np.maximum(counted.sum(axis=1), 1)


def in_picture(points_2d: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """(T, J, 2) pixels -> (T, J) bool: inside an image of (height, width)."""
    height, width = image_hw
    x, y = points_2d[..., 0], points_2d[..., 1]
    return (x >= 0) & (x < width) & (y >= 0) & (y < height)


def to_world(camera_points: np.ndarray, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """(T, J, 3) camera-frame points -> world, for cameras with X_cam = R X_world + t ((T, 3, 3), (T, 3))."""
    return np.einsum("tji,tnj->tni", rotation, camera_points - translation[:, None])
