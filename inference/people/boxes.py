"""Where the people are in each frame: a fixed box, or the bundled detector followed by the online tracker.

Both answer `boxes(frame_index, image) -> [(track_id, box_xywh, detected), ...]` while frames stream by, so
the crops can be cut at once; the detector path decides afterwards (`chosen_tracks`) which tracks are real
people. `detected` is False for a box the tracker predicted for a person the detector briefly missed.
"""
from __future__ import annotations

import numpy as np

from contract.errors import UserError
from contract.presence import COAST_FRAMES  # misses up to this long are estimated at the predicted box

DETECTION_MARGIN = 1.2
"""Detector boxes are tight around the body; PARE was trained on crops about 1.2x the body's extent
(SPIN-style datasets scale keypoint boxes by 1.2), so the square crop is widened by this factor."""


def centred_box(width: int, height: int) -> np.ndarray:
    """The whole frame as one square person box (x, y, w, h)."""
    side = max(width, height)
    return np.array([(width - side) / 2, (height - side) / 2, side, side], dtype=np.float64)


class FixedBox:
    """The same box in every frame: the user's `--bbox`, or the whole frame. One track, id 0."""

    margin = 1.0  # a hand-drawn box is taken as meant

    def __init__(self, box_xywh: np.ndarray) -> None:
        self.box = np.asarray(box_xywh, dtype=np.float64)

    def boxes(self, frame_index: int, image: np.ndarray) -> list[tuple[int, np.ndarray, bool]]:
        return [(0, self.box, True)]

    def chosen_tracks(self, choice: str, frames_read: int) -> list[int]:
        if choice not in ("all", "most-visible", "0"):
            raise UserError(f"--person {choice!r}: with a fixed box there is one person, id 0")
        return [0]


class DetectedPeople:
    """Bundled person detector + online tracker; the chosen tracks are decided when the clip has passed."""

    margin = DETECTION_MARGIN

    def __init__(self) -> None:
        from .detector import PersonDetector
        from .tracking import OnlineTracker

        self.detector = PersonDetector.load()
        self.tracker = OnlineTracker()

    def boxes(self, frame_index: int, image: np.ndarray) -> list[tuple[int, np.ndarray, bool]]:
        detected = self.tracker.update(frame_index, self.detector.detect(image))
        predicted = self.tracker.coasting(frame_index, COAST_FRAMES)
        return [(i, box, True) for i, box in detected] + [(i, box, False) for i, box in predicted]

    def chosen_tracks(self, choice: str, frames_read: int) -> list[int]:
        """Track ids to keep: real people (not flickers or tiny far-away boxes; a clip shorter than the
        minimum track length keeps tracks as long as the clip), then `choice`."""
        from .tracking import MIN_FRAMES, choose_tracks, keep_tracks

        summaries = self.tracker.finish()
        kept = keep_tracks(summaries, min_frames=min(MIN_FRAMES, frames_read))
        return choose_tracks([s for s in summaries if s.id in kept], choice)
