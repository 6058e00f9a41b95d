"""The camera's rotation per frame, from the background with the people masked out.

Between consecutive frames, corners of the background (OpenCV's Shi-Tomasi corners outside the people's
masks) are followed with pyramidal Lucas-Kanade optical flow and kept only where the flow run backwards
returns to the start; the survivors are followed on into the next frame (`REFIND_BELOW`). A camera that turns
about its centre maps each background direction by one rotation, whatever the depth, so with the known focal
length every tracked corner becomes a unit viewing direction and the turn between the frames is the rotation
that best aligns the two sets of directions (Kabsch), fitted robustly: RANSAC over pairs of corners, then a
refit on the inliers. The per-pair turns are chained into each frame's rotation into the first frame's camera.

A static camera is recognised, not estimated: when the background's median displacement between two frames
is below `still_px`, that step is exactly the identity, so a tripod shot gives exact identities and never
drifts. Camera translation is not recovered: a moving camera's parallax is left in the residual (and its
rotation still comes out as the dominant turn), see docs/grounding.md.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from .rotations import fit_rotation, normalized

MAX_CORNERS = 400
#: Background corners are found afresh (Shi-Tomasi) only when fewer than this many of the last step's survive
#: outside the people; otherwise the survivors are followed on from where they landed, as in KLT trackers:
#: finding corners cost as much as following them both ways (6 of 11.5 ms a 640x360 frame).
REFIND_BELOW = MAX_CORNERS // 2
MIN_TRACKS = 8
RANSAC_ROUNDS = 200
INLIER_ANGLE_PX = 1.5  # a corner agrees with a rotation when it lands within this many pixels


@dataclass(frozen=True)
class CameraMotion:
    """The camera's turn per frame of the take."""

    frames: np.ndarray  # (F,) source frame indices, increasing (every frame the job read, with its stride)
    reference_from_camera: np.ndarray  # (F, 3, 3) rotates frame t's camera directions into the first one's
    still: np.ndarray  # (F,) bool: frame t did not move from the frame before (True for the first)
    tracked: np.ndarray  # (F,) background corners used for the step into frame t (0 for the first)

    @property
    def static(self) -> bool:
        """True when the whole take was filmed without the camera moving."""
        return bool(self.still.all())

    def at(self, frames: np.ndarray) -> np.ndarray:
        """Source frame indices (n,) -> (n, 3, 3) their cameras' rotations (a frame not fed in takes the
        last one fed before it)."""
        slot = np.searchsorted(self.frames, np.asarray(frames), side="right") - 1
        return self.reference_from_camera[np.clip(slot, 0, len(self.frames) - 1)]


def person_mask(boxes_xywh: np.ndarray, image_size: tuple[int, int], pad_fraction: float = 0.1) -> np.ndarray:
    """People's boxes (k, 4) (top-left x, y, width, height px) -> (H, W) bool mask, each box grown by
    `pad_fraction` of its size on every side (limbs stick out of a detector's box)."""
    width, height = image_size
    mask = np.zeros((height, width), dtype=bool)
    for x, y, w, h in np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4):
        pad_x, pad_y = pad_fraction * w, pad_fraction * h
        left, top = int(max(np.floor(x - pad_x), 0)), int(max(np.floor(y - pad_y), 0))
        mask[top:int(np.ceil(y + h + pad_y)), left:int(np.ceil(x + w + pad_x))] = True
    return mask


def _grey(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _track(previous: np.ndarray, current: np.ndarray, person: np.ndarray | None,
           corners: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Grey frames, the previous frame's person mask and the corners (k, 2) px to follow from the previous frame
    (the last step's survivors; found afresh when None or fewer than `REFIND_BELOW` lie outside the people)
    -> matched background corners (m, 2), (m, 2) px."""
    if corners is not None and person is not None:
        column, row = np.clip(np.rint(corners).astype(np.int64), 0, [person.shape[1] - 1, person.shape[0] - 1]).T
        corners = corners[~person[row, column]]
    if corners is None or len(corners) < REFIND_BELOW:
        allowed = None if person is None else np.where(person, 0, 255).astype(np.uint8)
        found = cv2.goodFeaturesToTrack(previous, MAX_CORNERS, 0.01, 8, mask=allowed, blockSize=7)
        if found is None:
            return np.zeros((0, 2)), np.zeros((0, 2))
        corners = found[:, 0]
    start = np.ascontiguousarray(corners, dtype=np.float32)[:, None]
    flow = {"winSize": (21, 21), "maxLevel": 3,
            "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)}
    ahead, found_ahead, _ = cv2.calcOpticalFlowPyrLK(previous, current, start, None, **flow)
    back, returned, _ = cv2.calcOpticalFlowPyrLK(current, previous, ahead, None, **flow)
    good = (found_ahead[:, 0] == 1) & (returned[:, 0] == 1) & (np.linalg.norm(back - start, axis=-1)[:, 0] < 0.5)
    return start[good, 0].astype(np.float64), ahead[good, 0].astype(np.float64)


def _directions(pixels: np.ndarray, focal_px: float, centre: np.ndarray) -> np.ndarray:
    """(k, 2) pixels -> (k, 3) unit viewing directions in the camera frame (x right, y down, z forward)."""
    return normalized(np.concatenate([(pixels - centre) / focal_px, np.ones((len(pixels), 1))], axis=-1))


def rotation_between_views(before: np.ndarray, after: np.ndarray, focal_px: float, centre: np.ndarray,
                           seed: int = 0) -> tuple[np.ndarray, int]:
    """Matched pixels (k, 2) in two frames -> (rotation taking the second camera's directions into the first's
    (3, 3), number of inliers). RANSAC over pairs, then a least-squares refit on the inliers."""
    source, target = _directions(after, focal_px, centre), _directions(before, focal_px, centre)
    tolerance = INLIER_ANGLE_PX / focal_px  # radians, about
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(source), RANSAC_ROUNDS)
    pairs = np.stack([first, (first + rng.integers(1, len(source), RANSAC_ROUNDS)) % len(source)], axis=1)
    turns = fit_rotation(source[pairs], target[pairs])  # (R, 3, 3), all samples at once
    inliers = np.linalg.norm(np.einsum("rij,kj->rki", turns, source) - target, axis=-1) < tolerance  # (R, k)
    best = inliers[np.argmax(inliers.sum(axis=1))]
    turn = fit_rotation(source[best], target[best])
    best = np.linalg.norm(source @ turn.T - target, axis=-1) < tolerance
    return fit_rotation(source[best], target[best]), int(best.sum())


class CameraMotionTracker:
    """Follows the camera one frame at a time, so the estimate job can feed it from its own frame loop."""

    def __init__(self, focal_px: float, still_px: float = 0.3) -> None:
        self.focal_px, self.still_px = focal_px, still_px
        self._frames: list[int] = []
        self._turns: list[np.ndarray] = []
        self._still: list[bool] = []
        self._tracked: list[int] = []
        self._previous: np.ndarray | None = None
        self._previous_mask: np.ndarray | None = None
        self._survivors: np.ndarray | None = None  # (k, 2) px in the previous frame: corners to follow on

    def add(self, frame_index: int, frame: np.ndarray, person_mask: np.ndarray | None = None) -> None:
        """The next frame (H, W) grey or (H, W, 3) BGR, its source index, and its people's mask (H, W) bool."""
        grey = _grey(np.asarray(frame))
        if self._previous is None:
            self._turns.append(np.eye(3))
            self._still.append(True)
            self._tracked.append(0)
        else:
            before, after = _track(self._previous, grey, self._previous_mask, self._survivors)
            self._survivors = after
            moved = np.median(np.linalg.norm(after - before, axis=-1)) if len(before) else 0.0
            still = len(before) < MIN_TRACKS or moved < self.still_px
            if still:
                step, inliers = np.eye(3), len(before)
            else:
                centre = np.array([grey.shape[1], grey.shape[0]], dtype=np.float64) / 2.0
                step, inliers = rotation_between_views(before, after, self.focal_px, centre)
            self._turns.append(self._turns[-1] if still else self._turns[-1] @ step)
            self._still.append(still)
            self._tracked.append(inliers)
        self._frames.append(int(frame_index))
        self._previous, self._previous_mask = grey, person_mask

    def result(self) -> CameraMotion:
        """The camera's motion over the frames added so far."""
        return CameraMotion(frames=np.array(self._frames, dtype=np.int64),
                            reference_from_camera=np.array(self._turns).reshape(-1, 3, 3),
                            still=np.array(self._still, dtype=bool), tracked=np.array(self._tracked, dtype=np.int64))


def estimate_camera_motion(frames: Iterable[np.ndarray], person_masks: Iterable[np.ndarray | None],
                           focal_px: float, still_px: float = 0.3) -> CameraMotion:
    """Consecutive frames (frame indices 0, 1, ...), each with its people's mask or None, and the focal
    length in pixels (principal point at the image centre) -> CameraMotion.

    Where too few background corners are found (a blank wall, a person filling the frame) the step is taken
    as still.
    """
    tracker = CameraMotionTracker(focal_px, still_px)
    for index, (frame, mask) in enumerate(zip(frames, person_masks, strict=True)):
        tracker.add(index, frame, mask)
    return tracker.result()
