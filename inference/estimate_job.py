"""The estimate job: frames -> people -> crops / landmarks -> network / landmark fit -> tracks -> grounded in a
Z-up world (floor, foot contact, locked feet, the camera's turn) -> result file.

Frames stream through a background thread (decode, detect, track, crop, landmarks) while the network runs
batches, so neither waits for the other and a long clip never sits in memory. The job writes a complete result
file or nothing (the writer is atomic), so a cancel or an error never leaves a half-written output behind.
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import cv2
import numpy as np

from .prefetch import prefetched
from .camera import default_focal_length
from .crop import square_box
from contract.errors import UserError
from contract.file_checks import output_file
from .crop_estimator import CropEstimator, pick_device
from .captured_landmarks import taken_landmarks
from .landmarks_again import boxes_round_another, landmarks_again, retries_of, with_found_again
from .duplicate_tracks import mirror_order, repeated_tracks
from .finalize import (FIT_SMOOTHING, Geometry, RawTrack, ground_tracks, landmark_track, pare_track,
                       track_report, trim_after_last_detection, with_consistent_sides, without_landmarks)
from .fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES
from .frames import FrameRange, FrameSource, frames_at, open_frames
from .grounding.camera_motion import CameraMotionTracker, person_mask
from .grounding.floor import parse_floor_hint
from .people.boxes import DetectedPeople, FixedBox, centred_box
from .people.measures import PersonMeasures
from contract.options import checked_values
from contract.result_file import MAP_ARRAYS, PersonTrack, write_result
from contract.skeleton import JOINT_NAMES
from .smoothing import OneEuroParams
from .track_store import TrackStore

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as work advances; the CLI turns it into text or JSON lines."""


class Cancelled(Exception):
    """The caller asked the job to stop; nothing is written."""


def _xywh(box_cxcywh: np.ndarray) -> np.ndarray:
    cx, cy, w, h = box_cxcywh
    return np.array([cx - w / 2, cy - h / 2, w, h], dtype=np.float64)


# The camera's turn is followed on frames this long at most: corners and flow are as reliable there, and
# a full-HD frame would cost several times as much.
CAMERA_MOTION_SIDE_PX = 640


class CameraFollower:
    """Feeds each frame, shrunk, with its people masked out, to the camera-motion tracker (grounding)."""

    def __init__(self, width: int, height: int, focal_px: float) -> None:
        self.scale = min(1.0, CAMERA_MOTION_SIDE_PX / max(width, height))
        self.size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        self.tracker = CameraMotionTracker(focal_px * self.scale)

    def add(self, index: int, image_rgb: np.ndarray, boxes_xywh: list[np.ndarray]) -> None:
        grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
        if self.scale < 1.0:
            grey = cv2.resize(grey, self.size, interpolation=cv2.INTER_AREA)
        boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4) * self.scale
        self.tracker.add(index, grey, person_mask(boxes, (grey.shape[1], grey.shape[0])))


def person_samples(source: FrameSource, people: FixedBox | DetectedPeople, measures: PersonMeasures,
                   camera: CameraFollower | None = None
                   ) -> Iterator[tuple[int, int, np.ndarray, dict[str, np.ndarray] | None, bool]]:
    """(frame index, track id, square crop box xywh, measurements, kept) per person per frame, `kept` telling
    whether the track is already sure to be kept (`people.keeps`); after each frame one (frame index, -1,
    empty, None, False) marker, so the consumer can count frames with nobody in them. `camera`, when given,
    follows the camera's turn on every frame, its people masked by their boxes."""
    for index, image in source:
        found = people.boxes(index, image)
        if camera is not None:
            camera.add(index, image, [box for _, box, _ in found])
        for track_id, box, detected in found:
            box = np.asarray(box, dtype=np.float64)
            square = square_box(box, people.margin)
            sample = measures.measure(image, box, square, (track_id, index), people.turns(track_id))
            sample["detected"] = np.asarray(detected)
            yield index, track_id, _xywh(square), sample, people.keeps(track_id)
        yield index, -1, np.zeros(4), None, False


def estimate_people(estimator: CropEstimator, source: FrameSource, people: FixedBox | DetectedPeople,
                    measures: PersonMeasures, store: TrackStore, batch_size: int,
                    progress: Progress | None = None,
                    should_stop: Callable[[], bool] | None = None,
                    camera: CameraFollower | None = None) -> tuple[int, int]:
    """Measure every person of every frame into `store` (crops go through the network in batches); returns
    how many frames were read and the index of the last one (-1 when none). `camera`: see person_samples.
    Crops of a track not yet sure to be kept wait (in memory, about 150 KB each) until it is, or until the clip
    has passed and it is kept after all; a detector flicker never reaches the network."""
    Row = tuple[int, int, np.ndarray, dict[str, np.ndarray]]
    pending: list[Row] = []
    waiting: dict[int, list[Row]] = {}
    frames_read, last_index = 0, -1

    def flush(rows: list[Row]) -> None:
        turns = np.array([sample.pop("crop_turns") for *_, sample in rows])
        out = estimator.run(np.stack([sample.pop("crop") for *_, sample in rows]), turns)
        for row, (index, track_id, box, sample) in enumerate(rows):
            store.add(track_id, index, box, {**sample, **{key: value[row] for key, value in out.items()}})

    def queue(rows: list[Row]) -> None:
        pending.extend(rows)
        while len(pending) >= batch_size:
            flush(pending[:batch_size])
            del pending[:batch_size]

    samples = person_samples(source, people, measures, camera)
    # A network on the CPU keeps every core busy: frames made beside it in a thread cost it more than their own
    # work (its threads wait at every layer for the one the producer displaced), so the two take turns there,
    # each on every core. A GPU network leaves the CPU to the producer, which then works ahead in a thread.
    stream = samples if estimator.network_on_cpu else prefetched(samples, max_ahead=2 * batch_size)
    for index, track_id, box, sample, kept in stream:
        if should_stop is not None and should_stop():
            raise Cancelled()
        if sample is None:
            frames_read, last_index = frames_read + 1, index
            if progress is not None:
                progress("estimate", frames_read, max(frames_read, source.frame_count))
        elif "crop" not in sample:
            store.add(track_id, index, box, sample)
        elif kept:
            queue([*waiting.pop(track_id, []), (index, track_id, box, sample)])
        else:
            waiting.setdefault(track_id, []).append((index, track_id, box, sample))
    for track_id in sorted(people.kept_tracks() & set(waiting)):
        queue(waiting[track_id])
    if pending:
        flush(pending)
    return frames_read, last_index


def raw_track(store: TrackStore, track_id: int) -> RawTrack:
    columns = {name: store.column(track_id, name) for name in store.column_names(track_id)}
    maps = {name: store.maps(track_id, name) for name in MAP_ARRAYS}
    raw = RawTrack(frame=store.frames(track_id), box_xywh=store.boxes(track_id), **columns, **maps)
    return trim_after_last_detection(raw)


def _frame_count(source: FrameSource, frames_read: int, last_index: int) -> int:
    """Frames in the source; when a video ends before its container said, the frames it really has."""
    if source.kind == "video" and frames_read < source.frame_count:
        log.warning("%s ended early: %d of the %d requested frames could be read (a cut or damaged file, or a "
                    "container that only estimates its frame count)", source.path.name, frames_read,
                    source.frame_count)
        return last_index + 1
    return source.total_frames


def finish_tracks(estimator: CropEstimator, store: TrackStore, chosen: list[int], geometry: Geometry,
                  smoothing: OneEuroParams | None, refine: bool, video: bool, source: FrameSource | None = None,
                  margin: float = 1.0) -> tuple[list[PersonTrack], list[int], list[dict], list[dict]]:
    """The chosen tracks as result tracks (a landmark track never seen by the landmark model is left out);
    returns the tracks, their ids, the refinement figures per refined track, and each track's quality report.
    With the `source` (and the margin its crop boxes were drawn with), landmarks that went onto another person
    are looked for again in those frames with that person painted out (`landmarks_again`), and a track that is
    only a second box round another's person is left out (`boxes_round_another`)."""
    tracks, ids, figures, reports = [], [], [], []
    taken = landmarks_taken(store, chosen)
    again, round_another = landmarks_found_again(source, store, taken, margin) if source is not None else ({}, set())
    for track_id in (t for t in chosen if t not in round_another):
        raw = raw_track(store, track_id)
        if track_id in taken:
            raw, track_taken = with_found_again(raw, store.frames(track_id), taken[track_id],
                                                again.get(track_id, {}))
            raw = without_landmarks(raw, store.frames(track_id), track_taken)
        if video:
            raw = with_consistent_sides(raw)
        if estimator.network is None:
            track = landmark_track(raw, estimator, geometry, video, smoothing)
        else:
            track, refined = pare_track(raw, estimator, geometry, smoothing, refine, video)
            if refined is not None:
                figures.append({"track": track_id, **refined})
        if track is not None:
            tracks.append(track)
            ids.append(track_id)
            reports.append(track_report(track_id, raw, track))
    return tracks, ids, figures, reports


def landmarks_taken(store: TrackStore, chosen: list[int]) -> dict[int, np.ndarray]:
    """Per track with landmarks, (n, L) bool over its stored frames: the landmarks it took from another track's
    person (`captured_landmarks`)."""
    with_landmarks = [t for t in chosen if "landmarks_image" in store.column_names(t)]
    if len(with_landmarks) < 2:
        return {}
    taken = taken_landmarks([store.frames(t) for t in with_landmarks],
                            [store.column(t, "landmarks_image") for t in with_landmarks],
                            [store.column(t, "landmarks_confidence") for t in with_landmarks],
                            mirror_order(BLAZEPOSE_LANDMARK_NAMES))
    for track_id, track_taken in zip(with_landmarks, taken):
        whole, some = track_taken.all(axis=1), track_taken.any(axis=1)
        whole, part = int(whole.sum()), int((some & ~whole).sum())
        if whole or part:
            log.info("track %d: the landmarks of %d frame(s), and some of them in %d more, lie on another person; "
                     "left unseen there", track_id, whole, part)
    return dict(zip(with_landmarks, taken))


def landmarks_found_again(source: FrameSource, store: TrackStore, taken: dict[int, np.ndarray], margin: float
                          ) -> tuple[dict[int, dict[int, object]], set[int]]:
    """Per track, source frame -> landmarks found again where all of its landmarks had gone onto another
    track's person (`landmarks_again`), a second look at those frames only; and the tracks that this look shows
    to be a second box round another's person (`boxes_round_another`)."""
    mirror = mirror_order(BLAZEPOSE_LANDMARK_NAMES)
    retries = retries_of({t: store.frames(t) for t in taken}, {t: store.boxes(t) for t in taken},
                         {t: store.column(t, "landmarks_image") for t in taken},
                         {t: store.column(t, "landmarks_confidence") for t in taken}, taken, margin, mirror)
    if not retries:
        return {}, set()
    from .keypoints.blazepose_landmarks import LandmarkModel

    found = landmarks_again(frames_at(source, {r.frame for r in retries}), retries, LandmarkModel.load(), mirror)
    again: dict[int, dict[int, object]] = {}
    for (track, frame), landmarks in found.items():
        again.setdefault(track, {})[frame] = landmarks
    for track in sorted({r.track for r in retries}):
        log.info("track %d: its landmarks found again in %d of the %d frame(s) they lay on another person, that "
                 "person painted out", track, len(again.get(track, {})), sum(r.track == track for r in retries))
    round_another = boxes_round_another(retries, found, {t: len(store.frames(t)) for t in taken})
    if round_another:
        log.info("left out track(s) %s: each is a second box round another track's person (its landmarks lay on "
                 "that person, and with them painted out nobody was left in it)", sorted(round_another))
    return again, round_another


def without_repeats(tracks: list[PersonTrack], ids: list[int], figures: list[dict], reports: list[dict]
                    ) -> tuple[list[PersonTrack], list[int], list[dict], list[dict]]:
    """`finish_tracks`' output less the tracks that repeat another person's (`duplicate_tracks`)."""
    repeats = repeated_tracks([track.frame for track in tracks], [track.joints2d for track in tracks],
                              mirror_order(JOINT_NAMES), [track.bbox_xywh for track in tracks],
                              JOINT_NAMES.index("head"))
    if not repeats:
        return tracks, ids, figures, reports
    dropped = {ids[index] for index in repeats}
    log.info("left out track(s) %s: each repeats a longer track's body (a second box on one person)",
             sorted(dropped))
    keep = [index for index in range(len(tracks)) if index not in repeats]
    return ([tracks[i] for i in keep], [ids[i] for i in keep], [f for f in figures if f["track"] not in dropped],
            [reports[i] for i in keep])


def nobody_found(name: str, bbox: str | None, detect: bool, landmarks_only: bool) -> str:
    """Why a run found nobody, with the advice the user has not followed yet."""
    if bbox is None and detect:
        return f"Nobody was found in {name}. If a person is there, pass their box with --bbox X,Y,W,H (pixels)."
    where = f"the box {bbox}" if bbox is not None else "the whole frame (--no-detect)"
    if landmarks_only:
        return (f"The landmark model saw no person in {where} of {name}. Draw the box around the whole person "
                "(head to feet, or to the picture's edge), or estimate with a PARE checkpoint (--checkpoint), "
                "which takes whatever the box holds.")
    return f"No person could be estimated in {where} of {name}: check the box against the picture."


def run_estimate(input_path: str | Path, output: str | Path, options: Mapping[str, Any] | None = None, *,
                 progress: Progress | None = None, should_stop: Callable[[], bool] | None = None) -> dict:
    """The whole job; returns the meta written. Raises UserError for anything the user can fix.

    `options`: values of `contract.options.ESTIMATE_OPTIONS` by name; the rest take their defaults. No
    checkpoint: the keypoint backend (BlazePose landmarks fitted by the body model). No SMPL file: the bundled
    stand-in body. People: `bbox` fixes one box for every frame; otherwise the bundled detector and tracker find
    them (`detect` False: the whole frame as one centred person). `person` picks tracks: "all", "most-visible"
    or ids "0,2". `refine` fits PARE's estimate to the landmarks.
    """
    chosen_options = checked_values(options or {})
    checkpoint, smpl, refine = chosen_options["checkpoint"], chosen_options["smpl"], chosen_options["refine"]
    output = output_file(output, ".npz", "--output")
    if not output.parent.is_dir():
        raise UserError(f"The output folder {output.parent} does not exist")
    if refine and checkpoint is None:
        raise UserError("--refine refines PARE's estimate and needs --checkpoint; without a checkpoint the "
                        "landmark fit is the estimate already")
    frame_range = FrameRange.parse(chosen_options["frame_range"], chosen_options["stride"])
    smoothing = OneEuroParams(chosen_options["smooth_min_cutoff"], chosen_options["smooth_beta"]) \
        if chosen_options["smooth"] else None
    bbox, focal_length = chosen_options["bbox"], chosen_options["focal_length"]
    floor_hint = parse_floor_hint(chosen_options["floor"])
    foot_lock = chosen_options["foot_lock"] == "auto"
    batch_size, precision = chosen_options["batch_size"], chosen_options["precision"]
    source = open_frames(input_path, frame_range)
    torch_device = pick_device(chosen_options["device"])
    if progress is not None:
        progress("load", 0, 1)
    estimator = CropEstimator.load(checkpoint, smpl, torch_device, precision)
    measures = PersonMeasures(crops=estimator.network is not None, landmarks=estimator.network is None or refine)
    if bbox is not None:
        people: FixedBox | DetectedPeople = FixedBox(np.array(bbox.split(","), dtype=np.float64))
    elif chosen_options["detect"]:
        people = DetectedPeople.for_footage(source.fps)
    else:
        people = FixedBox(centred_box(source.width, source.height))
    if progress is not None:
        progress("load", 1, 1)
    focal = float(focal_length) if focal_length else default_focal_length(source.width, source.height)
    geometry = Geometry(source.width, source.height, focal, source.fps or 30.0)
    video = source.kind != "image"
    if not video:
        smoothing = None
    elif smoothing is not None and estimator.network is None:
        smoothing = FIT_SMOOTHING  # the `smooth_*` options set PARE's filter; the fit has its own, lighter one
    camera = CameraFollower(source.width, source.height, focal) \
        if video and chosen_options["camera_motion"] == "auto" else None
    with TrackStore(output.parent) as store:
        frames_read, last_index = estimate_people(estimator, source, people, measures, store, batch_size,
                                                  progress, should_stop, camera)
        if frames_read == 0:
            raise UserError(f"No frame could be read from {source.path}")
        chosen = [t for t in people.chosen_tracks(chosen_options["person"]) if t in store.track_ids()]
        if progress is not None:
            progress("fit" if estimator.network is None or refine else "finish", 0, 1)
        tracks, ids, refinement, quality = without_repeats(*finish_tracks(
            estimator, store, chosen, geometry, smoothing, refine, video, source if video else None, people.margin))
        if not tracks:
            raise UserError(nobody_found(source.path.name, bbox, chosen_options["detect"], estimator.network is None))
        if progress is not None:
            progress("ground", 0, 1)
        tracks, world, floor = ground_tracks(tracks, source.fps, focal,
                                             None if camera is None else camera.tracker.result(), floor_hint,
                                             foot_lock)
        meta = {
            "image_width": source.width,
            "image_height": source.height,
            "footage_turn": source.turn,
            "fps": source.fps,
            "focal_length_px": focal,
            "frame_count": _frame_count(source, frames_read, last_index),
            "source": str(Path(input_path).resolve()),
            "model": estimator.arch,
            "precision": precision,
            "checkpoint": None if checkpoint is None else Path(checkpoint).name,
            "body_model": estimator.body.name if smpl is None else Path(smpl).name,
            "track_ids": ids,
            "smoothing": None if smoothing is None else asdict(smoothing),
            "refinement": refinement or None,
            "quality": quality,
            "floor": floor,
        }
        if progress is not None:
            progress("write", 0, 1)
        write_result(output, meta, tracks, world)
    if progress is not None:
        progress("write", 1, 1)
    return meta
