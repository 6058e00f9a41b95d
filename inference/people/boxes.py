"""Where the people are in each frame: a fixed box, or the bundled detector followed by the online tracker.

Both answer `boxes(frame_index, image) -> [(track_id, box_xywh, detected), ...]` while frames stream by, so
the crops can be cut at once; the detector path decides afterwards (`chosen_tracks`) which tracks are real
people. `detected` is False for a box the tracker predicted for a person the detector has missed; a person the
tracker follows between two detections (`DETECT_EVERY`) counts as detected.
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

    def keeps(self, track_id: int) -> bool:
        return True

    def turns(self, track_id: int) -> int:
        return 0  # a box drawn by hand is taken the way up it was drawn

    def kept_tracks(self) -> set[int]:
        return {0}

    def chosen_tracks(self, choice: str) -> list[int]:
        if choice not in ("all", "most-visible", "0"):
            raise UserError(f"--person {choice!r}: with a fixed box there is one person, id 0")
        return [0]


DETECT_EVERY = 4
"""While the tracker is sure of everyone (`OnlineTracker.follow`), the detector runs on one frame in this many
and the people are followed at their predicted boxes in between: detection costs about a tenth of a person's
network time per frame, most of the pipeline's overhead on CPU. A newcomer is found up to this many frames
late; a new or fast-moving person brings detection back to every frame until they are followed again; a lost
one is looked for on the next detection (and estimated at their predicted box meanwhile, as on every frame)."""


WEAK_SCORE = 0.2
"""Detector boxes scoring from this up to the detector's threshold (0.35) confirm a person the tracker already
follows where it expects them (`OnlineTracker.update`), so a pose, blur or partial cover that lowers the score
for a while does not end their track: a jump's landing in the `pan` quality clip scores 0.21-0.30 over its last
six frames, which were lost. They never start a track."""


SCAN_EVERY_FRAMES = 32
"""On large frames the detector looks closer over the whole frame (its second pass, docs/detection.md "Small
people") on the first detection and then on the first detection this many frames after the last scan: small,
distant people beside people it already finds are found within about a second; once tracked, they are looked
for closely where they are expected. Counted in frames, not detections, so a stretch where the detector runs
on every frame (a newcomer, a fast mover) does not scan more often: a scan costs about five first passes."""

SCAN_FPS = 30.0
"""The frame rate `SCAN_EVERY_FRAMES` was chosen at (the quality and speed clips are 30 fps). Faster footage keeps
its duration rather than its frame count (`DetectedPeople.for_footage`): at 60 fps a scan every 64 frames, still
about a second, at half the cost per second of footage (bench/README.md has the figures). `DETECT_EVERY` stays
in frames: the tracker's motion filter learns its velocity from detections a frame apart when a track starts, so
following over eight 60 fps frames drifted further than over four 30 fps ones (tried on the stand-in walker of
`tests/test_tracking.py`: mean box overlap 0.93 -> 0.87, least 0.81 -> 0.70). Slower footage keeps the frame
count."""
MAX_SCAN_FPS = 120.0
"""A frame rate above this counts as this: a container that reports a rate far above the pictures' own (it
happens with variable-frame-rate files) must not space the scans out by many seconds."""


class DetectedPeople:
    """Bundled person detector + online tracker; the chosen tracks are decided when the clip has passed."""

    margin = DETECTION_MARGIN

    def __init__(self, detect_every: int = DETECT_EVERY, scan_every: int = SCAN_EVERY_FRAMES) -> None:
        from .detector import PersonDetector
        from .tracking import OnlineTracker

        self.detector = PersonDetector.load()
        self.tracker = OnlineTracker()
        self.detect_every = detect_every  # in frames given to `boxes`
        self.scan_every = scan_every  # in source frames
        self._followed_frames = 0  # frames followed since the last detection
        self._detected_frames = 0  # frames the detector ran on
        self._scanned_frame: int | None = None  # frame of the last zoomed scan

    @classmethod
    def for_footage(cls, fps: float | None) -> DetectedPeople:
        """The detector and tracker for footage at `fps` (None: unknown, taken as `SCAN_FPS`): zoomed scans as
        often in time as at `SCAN_FPS`, never more often in frames than `SCAN_EVERY_FRAMES` (`SCAN_FPS` says
        why)."""
        speed = min(fps or SCAN_FPS, MAX_SCAN_FPS) / SCAN_FPS
        return cls(scan_every=max(SCAN_EVERY_FRAMES, round(SCAN_EVERY_FRAMES * speed)))

    def boxes(self, frame_index: int, image: np.ndarray) -> list[tuple[int, np.ndarray, bool]]:
        if self._followed_frames + 1 < self.detect_every:
            followed = self.tracker.follow(frame_index)
            if followed is not None:
                self._followed_frames += 1
                lost = self.tracker.coasting(frame_index, COAST_FRAMES)
                return [(i, box, True) for i, box in followed] + [(i, box, False) for i, box in lost]
        self._followed_frames = 0
        scan = self._scanned_frame is None or frame_index - self._scanned_frame >= self.scan_every
        if scan:
            self._scanned_frame = frame_index
        self._detected_frames += 1
        found = self.detector.detect(image, expected=self.tracker.expected(frame_index, COAST_FRAMES),
                                     scan=True if scan else None, weak_threshold=WEAK_SCORE)
        sure = found[:, 4] >= self.detector.score_threshold
        detected = self.tracker.update(frame_index, found[sure], weak=found[~sure])
        predicted = self.tracker.coasting(frame_index, COAST_FRAMES)
        return [(i, box, True) for i, box in detected] + [(i, box, False) for i, box in predicted]

    def keeps(self, track_id: int) -> bool:
        """Whether the track is already seen often enough to be kept (`kept_tracks`) whatever follows, so its
        crops are worth the network's time now; the others' wait (a flicker's never run). Its height is not
        known for good until the clip ends: a track kept here and later found too small only costs time."""
        from .tracking import MIN_FRAMES

        return self.tracker.frames_seen(track_id) >= MIN_FRAMES

    def turns(self, track_id: int) -> int:
        """Quarter turns clockwise that stand the person upright, as the detector last found them
        (`OnlineTracker.turns`): 0 for people found upright."""
        return self.tracker.turns(track_id)

    def kept_tracks(self) -> set[int]:
        """Ids of the real people once the clip has passed: not flickers or tiny far-away boxes; a clip the
        detector saw fewer times than the minimum track length keeps tracks found in all of those."""
        from .tracking import MIN_FRAMES, keep_tracks

        return keep_tracks(self.tracker.finish(), min_frames=min(MIN_FRAMES, self._detected_frames))

    def chosen_tracks(self, choice: str) -> list[int]:
        """Track ids to keep (`kept_tracks`), then `choice`."""
        from .tracking import choose_tracks

        kept = self.kept_tracks()
        return choose_tracks([s for s in self.tracker.finish() if s.id in kept], choice)
