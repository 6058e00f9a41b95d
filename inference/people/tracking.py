"""Online multi-person tracking: per-frame person boxes -> a stable id per person and a steady crop box.

The pipeline streams frames and cuts crops as they go by, so the tracker is online and causal: `update` sees
one frame's detections and answers at once. Each track carries a constant-velocity filter on its box
(centre and log size): its prediction is where the person should be now, and its estimate is the crop box.

Association, per frame: every live track's box is predicted to this frame; detections are assigned to
tracks by minimum total cost (the Hungarian method, `assignment.py`), first on overlap with the predicted box
(cost 1 - IoU, pairs under `min_iou` not allowed), then, for what is left, on centre distance to the
predicted centre (under half the track's length, similar size), which catches fast or small people whose
boxes no longer overlap the prediction. Tracks choose in tiers: confirmed ones (seen `CONFIRM_HITS` times)
seen in the previous update, then confirmed ones currently lost, then new ones. So a person hidden behind
another cannot take the visible one's box where their predicted boxes overlap, nor can a duplicate box
steal a person. A detection left over starts a new, tentative track (ids count up from 0, never reused); a
tentative track missed more than `TENTATIVE_MAX_MISSES` updates in a row ends (most are flickers), a
confirmed one survives up to `max_gap` frames unseen and keeps its id when the person reappears near the
predicted box.

Boxes are (x, y, w, h) in pixels with (x, y) the top-left corner, as `crop.square_box` takes them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.errors import UserError

from .assignment import min_cost_assignment

CONFIRM_HITS = 3
"""Detections a track needs before it counts as confirmed."""

TENTATIVE_MAX_MISSES = 2
"""Consecutive missed updates that end a track not yet confirmed: a flicker ends at once, while a small or
hard-to-see person whom the detector finds only every other frame still gathers a track."""

CENTRE_GATE = 0.5
"""Fallback match radius around the predicted centre, in track lengths (the longer side of the predicted box: a
person lying down is as long as standing, while their box's height is a third of it; gated on heights, a dancer
filmed sideways got a second track whenever she moved a third of her box's height in a frame)."""

SIZE_RATIO_GATE = 1.5
"""For the centre fallback, detection and track sizes (square roots of their box areas) must agree within this
factor: a far, small person passing in front of a near one's predicted centre is not that person. Areas, not
heights: a dancer bending over with an arm out (the `near` quality clip, frame 22) keeps her box's size within
12 % while its height falls to 0.6 of what it was; a height gate gave her a second track and a ghost."""

RESTART_AFTER_MISSES = 3
"""A track back after more than this many missed updates restarts its box filter from the new box (with the
mean velocity over the gap): where it was predicted to be is stale by then, and a crop must not lag."""

FOLLOW_MAX_SPEED = 0.05
"""Between detections a track is followed at its predicted box only while its box moves less than this many of
its heights per frame: a person running across the picture, or one whose box is swinging (a kick, a fall),
is detected in every frame instead."""

FOLLOW_MIN_HITS = 5
"""Detections a track needs before it is followed between detections: its velocity has settled by then."""

MOTION_GAIN = 0.5
"""Position gain of the motion filter when `box_smoothing` is None (crops then follow the raw boxes)."""


def box_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4+) and (M, 4+) boxes (x, y, w, h, ...) -> (N, M) areas of their intersections."""
    return paired_intersection(a[:, None], b[None, :])


def paired_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., 4+) and (..., 4+) boxes (x, y, w, h, ...), broadcast against each other -> (...) areas of their
    intersections."""
    a_lo, a_hi = a[..., :2], a[..., :2] + a[..., 2:4]
    b_lo, b_hi = b[..., :2], b[..., :2] + b[..., 2:4]
    return np.clip(np.minimum(a_hi, b_hi) - np.maximum(a_lo, b_lo), 0.0, None).prod(axis=-1)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) and (M, 4) boxes (x, y, w, h) -> (N, M) intersection over union."""
    overlap = box_intersection(a, b)
    union = a[:, None, 2:].prod(axis=-1) + b[None, :, 2:].prod(axis=-1) - overlap
    return overlap / np.maximum(union, 1e-12)


def _usable(detections: np.ndarray | None) -> np.ndarray:
    """(K, 5) or (K, 6) detections (or None) -> (K', 6) float64, those with finite values and a positive size;
    the sixth column, the quarter turns the person was found at (`PersonDetector.detect`), is 0 where missing."""
    rows = np.asarray(np.zeros((0, 6)) if detections is None else detections, dtype=np.float64)
    rows = rows.reshape(-1, rows.shape[-1])
    if rows.shape[1] == 5:
        rows = np.concatenate([rows, np.zeros((len(rows), 1))], axis=1)
    return rows[np.isfinite(rows).all(axis=1) & (rows[:, 2] > 0) & (rows[:, 3] > 0)]


def _to_state(box_xywh: np.ndarray) -> np.ndarray:
    """(..., 4) (x, y, w, h) -> (..., 4) (cx, cy, log w, log h): sizes change by ratios, centres by pixels."""
    x, y, w, h = np.moveaxis(box_xywh, -1, 0)
    return np.stack([x + w / 2, y + h / 2, np.log(w), np.log(h)], axis=-1)


def _to_box(state: np.ndarray) -> np.ndarray:
    cx, cy, w, h = state[0], state[1], np.exp(state[2]), np.exp(state[3])
    return np.array([cx - w / 2, cy - h / 2, w, h])


class ConstantVelocityFilter:
    """Alpha-beta filter (the steady-state constant-velocity Kalman filter) on a box state (4,).

    Position gain `gain` in (0, 1] (1 = follow each measurement), velocity gain gain^2 / (2 - gain)
    (Benedict-Bordner, the minimum-noise choice for a given transient). Unlike a plain low-pass it has no lag
    on steady motion: a person walking at constant speed stays centred in the crop. It starts from two
    points (the second sets the velocity), so a track born in motion needs no warm-up.
    """

    def __init__(self, state: np.ndarray, frame: int, gain: float):
        if not 0.0 < gain <= 1.0:
            raise ValueError(f"box smoothing gain must be in (0, 1], got {gain}")
        self.gain, self.velocity_gain = gain, gain * gain / (2.0 - gain)
        self.state, self.velocity, self.frame, self.updates = state, np.zeros(4), frame, 1

    def predict(self, frame: int) -> np.ndarray:
        return self.state + self.velocity * (frame - self.frame)

    def update(self, state: np.ndarray, frame: int, restart: bool = False) -> None:
        """Take the measured state at `frame`; `restart`: start again from it (two-point start)."""
        elapsed = frame - self.frame
        if self.updates == 1 or restart:
            self.velocity = (state - self.state) / elapsed
            self.state = state
        else:
            predicted = self.predict(frame)
            residual = state - predicted
            self.state = predicted + self.gain * residual
            self.velocity = self.velocity + self.velocity_gain * residual / elapsed
        self.frame, self.updates = frame, self.updates + 1


@dataclass(frozen=True)
class TrackSummary:
    """What is known about one track once the clip has passed (heights in pixels)."""

    id: int
    first_frame: int
    last_frame: int
    frames_seen: int
    median_height: float
    mean_score: float


class _Track:
    def __init__(self, track_id: int, frame: int, box: np.ndarray, score: float, gain: float, turns: int = 0):
        self.id, self.first_frame = track_id, frame
        self.motion = ConstantVelocityFilter(_to_state(box), frame, gain)
        self.heights, self.scores, self.misses = [float(box[3])], [score], 0
        self.turns = turns  # quarter turns clockwise that stood the person upright when last found

    def observe(self, box: np.ndarray, score: float, frame: int, turns: int | None = None) -> None:
        """`turns` None: a detection that does not say which way up the person is (a weak upright box)."""
        self.motion.update(_to_state(box), frame, restart=self.misses > RESTART_AFTER_MISSES)
        self.heights.append(float(box[3]))
        self.scores.append(score)
        if turns is not None:
            self.turns = turns

    def steady(self) -> bool:
        """The box moves less than `FOLLOW_MAX_SPEED` heights per frame (centre and size)."""
        velocity = self.motion.velocity
        height = float(np.exp(self.motion.state[3]))
        return bool(np.hypot(*velocity[:2]) < FOLLOW_MAX_SPEED * height
                    and np.abs(velocity[2:]).max() < FOLLOW_MAX_SPEED)

    @property
    def confirmed(self) -> bool:
        return len(self.heights) >= CONFIRM_HITS

    @property
    def last_frame(self) -> int:
        return self.motion.frame

    def summary(self) -> TrackSummary:
        return TrackSummary(self.id, self.first_frame, self.last_frame, len(self.heights),
                            float(np.median(self.heights)), float(np.mean(self.scores)))


class OnlineTracker:
    """Streaming tracker: call `update` for every processed frame (also those without detections), in order.

    max_gap: frames a confirmed track may go unseen and still keep its id (30 = 1 s at 30 fps, 0.5 s at 60:
        a walker passing behind another is hidden for about that long). It counts frame indices, i.e. time,
        so it needs no change with a stride, only a value larger than the stride.
    min_iou: least overlap between a detection and a track's predicted box for the overlap match (0.3, as in
        SORT). The prediction follows the motion, so it holds at any stride while people move steadily; the
        centre fallback covers the rest.
    box_smoothing: position gain of the constant-velocity box filter, 0.4 by default: frame-to-frame box
        jitter drops about 3x and the error to the true box about 1.8x (tests/test_tracking.py), with no lag
        on steady walking; an abrupt stop overshoots by about one frame's motion and settles within about 10
        updates. Lower is steadier but slower to settle; None crops the raw boxes. It acts per update, so
        with a stride s it settles over s times more frames.
    """

    def __init__(self, max_gap: int = 30, min_iou: float = 0.3, box_smoothing: float | None = 0.4):
        self.max_gap, self.min_iou, self.box_smoothing = max_gap, min_iou, box_smoothing
        self._gain = MOTION_GAIN if box_smoothing is None else box_smoothing
        self._live: list[_Track] = []
        self._ended: list[_Track] = []
        self._next_id = 0
        self._frame: int | None = None

    def update(self, frame_index: int, detections: np.ndarray, weak: np.ndarray | None = None
               ) -> list[tuple[int, np.ndarray]]:
        """(K, 5) detections (x, y, w, h, score), or (K, 6) with the quarter turns they were found at
        (`PersonDetector.detect`, kept per track: `turns`), in frame `frame_index` -> [(track id, box (x, y, w,
        h)), ...].

        One entry per usable detection (finite, positive size), in detection order: the id of the track it
        belongs to and that track's smoothed box in this frame (the raw box if smoothing is off). `weak`: (L, 5)
        detections too unsure to count as people (`PersonDetector.detect(weak_threshold=...)`); one that
        overlaps the predicted box of a track no detection took (IoU >= `min_iou`), a track already seen
        `MIN_FRAMES` times, is that person, seen (a pose, blur or partial cover the detector is unsure of), and
        gets an entry after the others; the rest are dropped and never start a track (as ByteTrack's second
        association).
        """
        if self._frame is not None and frame_index <= self._frame:
            raise ValueError(f"frames must be given in increasing order, got {frame_index} after {self._frame}")
        self._frame = frame_index
        detections, weak = _usable(detections), _usable(weak)
        self._end_tracks([t for t in self._live if frame_index - t.last_frame > self.max_gap])
        owners = self._associate(frame_index, detections[:, :4])
        weak_owners = self._associate_weak(frame_index, weak[:, :4], set(owners.values()))
        for k, track in owners.items():
            track.observe(detections[k, :4], float(detections[k, 4]), frame_index, int(detections[k, 5]))
        for k, track in weak_owners.items():
            track.observe(weak[k, :4], float(weak[k, 4]), frame_index)
        for track in self._live:
            track.misses = 0 if track.last_frame == frame_index else track.misses + 1
        self._end_tracks([t for t in self._live if t.misses > TENTATIVE_MAX_MISSES and not t.confirmed])
        smoothed = self.box_smoothing is not None
        answers = []
        for k, (box, score, turns) in enumerate(zip(detections[:, :4], detections[:, 4], detections[:, 5])):
            track = owners.get(k)
            if track is None:
                track = _Track(self._next_id, frame_index, box, float(score), self._gain, int(turns))
                self._next_id += 1
                self._live.append(track)
            answers.append((track.id, _to_box(track.motion.state) if smoothed else box.copy()))
        for k, track in sorted(weak_owners.items()):
            answers.append((track.id, _to_box(track.motion.state) if smoothed else weak[k, :4].copy()))
        return answers

    def expected(self, frame_index: int, max_frames: int) -> np.ndarray:
        """(M, 4) predicted boxes at `frame_index` (a frame not given yet) of every live track seen within the
        last `max_frames` frames, new ones included: where the detector should find people, e.g. to look
        closer where it does not (`PersonDetector.detect(expected=...)`). Reads the tracker, changes nothing."""
        live = [t for t in self._live if frame_index - t.last_frame <= max_frames]
        return np.array([_to_box(t.motion.predict(frame_index)) for t in live], dtype=np.float64).reshape(-1, 4)

    def coasting(self, frame_index: int, max_frames: int) -> list[tuple[int, np.ndarray]]:
        """[(track id, predicted box), ...] for the confirmed tracks the last `update` missed (`frame_index`: that
        frame, or a frame followed after it) but seen within the last `max_frames` frames: where the person
        probably is while briefly hidden or missed by the detector, so the caller can still estimate them there."""
        return [(t.id, _to_box(t.motion.predict(frame_index))) for t in self._live
                if t.confirmed and t.misses and frame_index - t.last_frame <= max_frames]

    def follow(self, frame_index: int) -> list[tuple[int, np.ndarray]] | None:
        """Between two detections: [(track id, predicted box), ...] at `frame_index` for the tracks the last
        `update` found, when the tracker is sure of them all (each found `FOLLOW_MIN_HITS` times, moving
        steadily: see `FOLLOW_MAX_SPEED`) and has no new track; None when it is not, or follows nobody, and the
        frame needs the detector. People it has lost are not in the answer (`coasting` has their guesses) and
        do not hold the detector to every frame: it looks for them on the next detection. Frames must still
        come in increasing order, as for `update`."""
        if self._frame is not None and frame_index <= self._frame:
            raise ValueError(f"frames must be given in increasing order, got {frame_index} after {self._frame}")
        seen = [t for t in self._live if not t.misses]
        if not seen or not all(t.confirmed for t in self._live) or not all(
                len(t.heights) >= FOLLOW_MIN_HITS and t.steady() for t in seen):
            return None
        self._frame = frame_index
        return [(t.id, _to_box(t.motion.predict(frame_index))) for t in seen]

    def turns(self, track_id: int) -> int:
        """Quarter turns clockwise of the picture in which a live track's person last stood upright (0 for an
        ended or unknown id): how to turn their crop for a network trained on upright people."""
        return next((t.turns for t in self._live if t.id == track_id), 0)

    def frames_seen(self, track_id: int) -> int:
        """Detections so far of a live track (0 for an ended or unknown id)."""
        return next((len(t.heights) for t in self._live if t.id == track_id), 0)

    def finish(self) -> list[TrackSummary]:
        """Summaries of every track so far (ended or not), by id; call it after the last frame."""
        return sorted((t.summary() for t in self._ended + self._live), key=lambda s: s.id)

    def _end_tracks(self, tracks: list[_Track]) -> None:
        for track in tracks:
            self._live.remove(track)
            self._ended.append(track)

    def _associate(self, frame: int, boxes: np.ndarray) -> dict[int, _Track]:
        """(K, 4) detection boxes -> {detection index: track}: tier by tier, overlap before distance."""
        owners: dict[int, _Track] = {}
        tiers = ([t for t in self._live if t.confirmed and not t.misses],
                 [t for t in self._live if t.confirmed and t.misses],
                 [t for t in self._live if not t.confirmed])
        for group in tiers:
            for gate in (self._overlap_cost, self._centre_cost):
                tracks = [t for t in group if t not in owners.values()]
                free = [k for k in range(len(boxes)) if k not in owners]
                if not tracks or not free:
                    continue
                predicted = np.stack([_to_box(t.motion.predict(frame)) for t in tracks])
                for r, c in min_cost_assignment(gate(predicted, boxes[free])):
                    owners[free[c]] = tracks[r]
        return owners

    def _associate_weak(self, frame: int, boxes: np.ndarray, taken: set[_Track]) -> dict[int, _Track]:
        """(L, 4) weak detection boxes -> {index: track no detection took}, on overlap alone; only tracks already
        seen `MIN_FRAMES` times (sure to be kept), so weak boxes never make a flicker or a duplicate box, which a
        weak box may well repeat, into a person."""
        tracks = [t for t in self._live if len(t.heights) >= MIN_FRAMES and t not in taken]
        if not tracks or not len(boxes):
            return {}
        predicted = np.stack([_to_box(t.motion.predict(frame)) for t in tracks])
        return {c: tracks[r] for r, c in min_cost_assignment(self._overlap_cost(predicted, boxes))}

    def _overlap_cost(self, predicted: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        iou = box_iou(predicted, boxes)
        return np.where(iou >= self.min_iou, 1.0 - iou, np.inf)

    @staticmethod
    def _centre_cost(predicted: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        length = predicted[:, 2:4].max(axis=1, keepdims=True)
        offset = (predicted[:, None, :2] + predicted[:, None, 2:] / 2) - (boxes[None, :, :2] + boxes[None, :, 2:] / 2)
        distance = np.linalg.norm(offset, axis=-1) / length
        ratio = np.sqrt(boxes[None, :, 2:4].prod(axis=-1) / predicted[:, None, 2:4].prod(axis=-1))
        ok = (distance <= CENTRE_GATE) & (ratio <= SIZE_RATIO_GATE) & (ratio >= 1 / SIZE_RATIO_GATE)
        return np.where(ok, distance, np.inf)


MIN_FRAMES = 5
"""Default least number of frames with a detection: a detector flicker rarely lasts that long (0.2 s at
25 fps), a person walking through the picture always does."""

MIN_HEIGHT_PX = 50
"""Default least median box height: well below the 80 px of the smallest people the detector is meant for,
and about where a 224 px crop of a person stops showing limbs the network can read."""


def keep_tracks(summaries: list[TrackSummary], min_frames: int = MIN_FRAMES,
                min_height_px: float = MIN_HEIGHT_PX) -> set[int]:
    """Ids of the tracks that are real people: seen in at least `min_frames` frames, at least `min_height_px` tall.

    For a single photo (or a clip shorter than `min_frames` processed frames) pass `min_frames=1`.
    """
    return {s.id for s in summaries if s.frames_seen >= min_frames and s.median_height >= min_height_px}


def choose_tracks(summaries: list[TrackSummary], choice: str) -> list[int]:
    """Track ids picked by `choice`: "all", "most-visible" or a comma list of ids like "0,2" (in that order).

    "most-visible" is the track seen in the most frames, ties going to the taller one. No tracks at all give
    an empty list for "all" and "most-visible"; asking for ids that do not exist is a UserError.
    """
    ids = [s.id for s in summaries]
    choice = choice.strip().lower()
    if choice == "all":
        return sorted(ids)
    if choice == "most-visible":
        return [max(summaries, key=lambda s: (s.frames_seen, s.median_height)).id] if summaries else []
    existing = ", ".join(str(i) for i in sorted(ids)) or "none"
    try:
        wanted = [int(part) for part in choice.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--person {choice!r}: use all, most-visible or track ids like 0,2 "
                        f"(tracks found: {existing})") from None
    unknown = [i for i in wanted if i not in ids]
    if unknown or not wanted:
        raise UserError(f"--person {choice!r}: no track {', '.join(map(str, unknown)) or 'given'} "
                        f"(tracks found: {existing})")
    return list(dict.fromkeys(wanted))
