"""Landmarks looked for again where a track's had gone onto another person, with that person painted out.

`captured_landmarks` leaves a track's landmarks unseen in the frames where they lie on another person: shown a
crop holding both, the landmark model settled on the one facing the camera. The first person is often still
plain to see. In Pose2Sim's two-person take, camera 3, the man passes in front of the woman with his back
turned; from frame 76 his crop, even his own detector box, gave her landmarks, and his body was lost for the
rest of the take. With her painted out (grey over her own segmentation from the landmark model, grown by a
margin, since her outline's pixels still show her), his landmarks are found again in 23 of those 24 frames.
A frame's new landmarks are kept only where they no longer lie on the other person as a whole
(`captured_landmarks.near_landmarks`), less any part still on her, so a retry that finds her again, or nobody,
leaves the frame as it was: unseen.

Finding nobody is also evidence: a track whose box holds another person's and in which, that person painted out,
nobody is left, is a second box round that person (`boxes_round_another`), not a person of its own.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Protocol

import cv2
import numpy as np

from .captured_landmarks import PART_LANDMARKS, near_landmarks
from .duplicate_tracks import INSIDE_SHARE
from .finalize import RawTrack
from .people.tracking import paired_intersection

MASK_GROWTH_PX = 15  # the painted-out region reaches this far beyond the other person's segmentation
GREY = 128
#: `boxes_round_another`: share of a track's frames whose landmarks all lay on another person, from which the
#: track may be a second box round them. The man of Pose2Sim's two-person take, camera 3, whose landmarks went
#: onto the woman while he passed in front of her, has 22 such frames of 100 (his box holding hers in 21), and is
#: found again in all of them; the box round the whole frame below, 20 of 52.
ROUND_ANOTHER_SHARE = 0.25


class LandmarkFinder(Protocol):
    """What the retry asks of the landmark model (`keypoints.blazepose_landmarks.LandmarkModel`)."""

    def landmarks(self, image_rgb: np.ndarray, box_xywh: np.ndarray): ...

    def person_mask(self, image_rgb: np.ndarray, roi) -> np.ndarray: ...


@dataclass(frozen=True)
class Retry:
    """One frame of one track whose landmarks lay on another track's person."""

    track: int
    frame: int  # source frame index
    other_track: int  # the track whose person the landmarks lay on
    own_box: np.ndarray  # (4,) x, y, w, h round the track's person
    other_box: np.ndarray  # (4,) round the other person
    other_landmarks: np.ndarray  # (L, 2) pixels, the other track's in this frame
    other_confidence: np.ndarray  # (L,)


def painted_out(image_rgb: np.ndarray, mask: np.ndarray, growth_px: int = MASK_GROWTH_PX) -> np.ndarray:
    """(H, W, 3) picture with the (H, W) bool mask, grown by `growth_px`, painted grey (a new array)."""
    side = 2 * growth_px + 1
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((side, side), np.uint8)) > 0
    out = image_rgb.copy()
    out[grown] = GREY
    return out


def landmarks_again(frames: Iterable[tuple[int, np.ndarray]], retries: list[Retry], model: LandmarkFinder,
                    mirror: np.ndarray) -> dict[tuple[int, int], tuple[object, np.ndarray]]:
    """(track, frame) -> the landmarks found for the track's person with the other person painted out, and (L,)
    those of them still on the other person (at least PART_LANDMARKS of them, as `captured_landmarks` takes a
    part; else none), for the retries where the body found no longer lies on the other one as a whole.
    `frames` yields (source frame index, RGB picture) in order and must hold every retry's frame; `mirror` (L,)
    each landmark's left/right twin."""
    by_frame: dict[int, list[Retry]] = {}
    for retry in retries:
        by_frame.setdefault(retry.frame, []).append(retry)
    found_again = {}
    for index, image in frames:
        for retry in by_frame.get(index, ()):
            other = model.landmarks(image, retry.other_box)
            if other is None:
                continue
            found = model.landmarks(painted_out(image, model.person_mask(image, other.roi)), retry.own_box)
            if found is None:
                continue
            whole, near = near_landmarks(found.image, found.confidence, retry.other_landmarks,
                                         retry.other_confidence, mirror)
            if not whole:
                still_on_other = near if near.sum() >= PART_LANDMARKS else np.zeros_like(near)
                found_again[(retry.track, index)] = (found, still_on_other)
    return found_again


def boxes_round_another(retries: list[Retry], found_again: dict[tuple[int, int], object],
                        frame_counts: dict[int, int]) -> set[int]:
    """Tracks that are a second box round another track's person: in at least ROUND_ANOTHER_SHARE of its
    `frame_counts` its landmarks all lay on that person (its `retries`), and in most of those its box held theirs
    and, with them painted out, nobody was found in it (not in `found_again`, keyed (track, frame)). The detector
    can box a person together with the scenery round them: Pose2Sim's balancing take, camera 4 cut at the
    knees, a box over the whole frame holding the man and a poster's figure (scores 0.35-0.5, 52 frames), whose
    landmarks lay on the man in 20 frames and were found again in 3; its body, a worse fit of him, stood 15-30 %
    of his size off his own, a second rig on him. A person of their own is found again once the other is painted
    out (the man above, 22 of 22), and a person further back has a box inside the nearer one's, not round it.
    Two boxes round each other (one person boxed twice, each taking the other's landmarks at times) never both
    go: a track is left out only while a track it took from stays, the shorter one first."""
    by_track: dict[int, list[Retry]] = {}
    for retry in retries:
        by_track.setdefault(retry.track, []).append(retry)
    candidates = []
    for track, rows in by_track.items():
        if len(rows) < ROUND_ANOTHER_SHARE * frame_counts[track]:
            continue
        own, other = np.array([r.own_box for r in rows]), np.array([r.other_box for r in rows])
        held = paired_intersection(own, other) >= INSIDE_SHARE * np.prod(other[:, 2:], axis=1)  # theirs inside
        empty = np.array([(track, r.frame) not in found_again for r in rows])
        if np.mean(held & empty) > 0.5:
            candidates.append(track)
    round_another: set[int] = set()
    for track in sorted(candidates, key=lambda t: (frame_counts[t], -t)):
        if {r.other_track for r in by_track[track]} - round_another:
            round_another.add(track)
    return round_another


def box_within(square_xywh: np.ndarray, margin: float) -> np.ndarray:
    """(4,) a track's stored square crop box -> the square box of the same centre `margin` times smaller: the
    detector's box's long side, so the landmark model's region from it is the one it had from that box."""
    x, y, side, _ = square_xywh
    inner = side / margin
    return np.array([x + (side - inner) / 2.0, y + (side - inner) / 2.0, inner, inner])


def retries_of(frames: dict[int, np.ndarray], boxes: dict[int, np.ndarray], landmarks: dict[int, np.ndarray],
               confidence: dict[int, np.ndarray], taken: dict[int, np.ndarray], margin: float,
               mirror: np.ndarray) -> list[Retry]:
    """The frames where all of a track's landmarks were taken (`taken`: per track (n, L) bool over its frames),
    each with the track whose person they lay on. Per track: frames (n,), square crop boxes (n, 4), landmarks
    (n, L, 2), confidence (n, L)."""
    found = []
    for track, track_taken in taken.items():
        for row in np.flatnonzero(track_taken.all(axis=1)):
            frame = frames[track][row]
            for other in (t for t in taken if t != track):
                other_rows = np.flatnonzero(frames[other] == frame)
                if len(other_rows) == 0:
                    continue
                theirs = (landmarks[other][other_rows[0]], confidence[other][other_rows[0]])
                _, near = near_landmarks(landmarks[track][row], confidence[track][row], *theirs, mirror)
                if near.sum() >= PART_LANDMARKS:
                    found.append(Retry(track, int(frame), other, box_within(boxes[track][row], margin),
                                       box_within(boxes[other][other_rows[0]], margin), *theirs))
                    break
    return found


def with_found_again(raw: RawTrack, stored_frames: np.ndarray, taken: np.ndarray,
                     found: dict[int, tuple[object, np.ndarray]]) -> tuple[RawTrack, np.ndarray]:
    """A track's raw measurements with the landmarks found again (source frame -> landmarks and those still on
    the other person) in place of the taken ones, and its (n, L) `taken` mask over `stored_frames` (n,) set there
    to the ones still on the other person."""
    if not found:
        return raw, taken
    taken = taken.copy()
    image, confidence = raw.landmarks_image.copy(), raw.landmarks_confidence.copy()
    world = raw.landmarks_world.copy()
    for frame, (landmarks, still_taken) in found.items():
        taken[stored_frames == frame] = still_taken
        rows = raw.frame == frame
        image[rows], confidence[rows], world[rows] = landmarks.image, landmarks.confidence, landmarks.world
    return replace(raw, landmarks_image=image, landmarks_confidence=confidence, landmarks_world=world), taken
