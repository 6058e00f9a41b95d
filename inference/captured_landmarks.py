"""Landmarks one person's track took from another person: left unseen on the track that took them.

Each track's landmarks are looked for in the region its last landmarks gave (`people.landmark_regions`). When two
people overlap in the picture, the landmark model, shown a crop holding both, can settle on the other one (the
one facing the camera), and the region then follows that person: Pose2Sim's two-person take, camera 3, where the
man turns his back and passes in front of the woman. His track's face landmarks lie on her face from frame 38,
his shoulders and arms on hers in frames 59-75, and from frame 76 all his landmarks lie on hers (3-8 % of her
size apart), so two bodies stood on her and his was lost. Landmarks that coincide belong to the track that was
already there: the other one's moved onto that person (his slid from him onto her; hers stayed with her). Whose
box fits the landmarks better cannot tell: a box on part of a person (cut at the knees, occluded) fits its own
landmarks worse than a second box would. A frame whose landmarks coincide as a whole is left unseen on the taker
(a gap in its body, better than a second body on the wrong person), and looked at again with the other person
painted out (`landmarks_again`); in a frame where only a part does (at
least PART_LANDMARKS landmarks: a face, a face and shoulders), only those landmarks are, and its body is posed
there from the rest (the man's face on hers had turned his head and shoulders towards her: 150-250 mm off in
the other views' triangulation). A track whose shared frames mostly coincide with another's as a whole is a
repeat of it, left to `duplicate_tracks`.
"""
from __future__ import annotations

import numpy as np

from .duplicate_tracks import SAME_BODY_SHARE, SHARED_FRAMES_SHARE, mean_miss
from .runs import filled, true_runs

SEEN = 0.5  # landmark confidence above which both tracks' landmarks are compared
LOOKBACK = 10  # shared frames before a run of coinciding landmarks over which the tracks' motions are compared
# Shared frames (at most) between two coinciding ones that count as coinciding too: a frame whose landmarks drift
# just past the limit inside a run on the other person would otherwise stand alone, a body for one frame.
HOLE = 3
PART_LANDMARKS = 5  # coinciding landmarks that make part of a body taken: more than one hand's four (a handshake)


def taken_landmarks(frames: list[np.ndarray], landmarks: list[np.ndarray], confidence: list[np.ndarray],
                    mirror: np.ndarray) -> list[np.ndarray]:
    """Per track (frames (n_i,), landmarks (n_i, L, 2) px, confidence (n_i, L)), (n_i, L) bool: the landmarks it
    took from another track's person (whole rows where all its landmarks did); `mirror` (L,) each landmark's
    left/right twin (a track's sides are put in order only later)."""
    taken = [np.zeros(c.shape, dtype=bool) for c in confidence]
    for first in range(len(frames)):
        for second in range(first + 1, len(frames)):
            shared, rows, other_rows = np.intersect1d(frames[first], frames[second], return_indices=True)
            if len(shared) == 0:
                continue
            points, seen = landmarks[first][rows], confidence[first][rows]
            other_points, other_seen = landmarks[second][other_rows], confidence[second][other_rows]
            whole = filled(_coincide(points, seen, other_points, other_seen, mirror), HOLE)
            if whole.sum() >= SHARED_FRAMES_SHARE * min(len(frames[first]), len(frames[second])):
                continue
            near = _near(points, seen, other_points, other_seen, mirror)
            near[whole] = True
            pair = ((first, rows), (second, other_rows))
            for start, stop in true_runs(filled(near.sum(axis=1) >= PART_LANDMARKS, HOLE)):
                track, track_rows = pair[_taker(pair, start, frames, landmarks, confidence)]
                taken[track][track_rows[start:stop]] |= near[start:stop]
    return taken


def near_landmarks(points: np.ndarray, seen: np.ndarray, other_points: np.ndarray, other_seen: np.ndarray,
                   mirror: np.ndarray) -> tuple[bool, np.ndarray]:
    """One frame of two tracks (L, 2 pixels; L confidence each) -> whether the first's landmarks lie on the
    other's body as a whole, and (L,) which of them lie near the other's same landmarks, as `taken_landmarks`
    judges a frame."""
    args = (points[None], seen[None], other_points[None], other_seen[None], mirror)
    return bool(_coincide(*args)[0]), _near(*args)[0]


def _taker(pair: tuple[tuple[int, np.ndarray], tuple[int, np.ndarray]], start: int, frames: list[np.ndarray],
           landmarks: list[np.ndarray], confidence: list[np.ndarray]) -> int:
    """0 or 1: which track of the pair came onto the other's person at shared row `start`: the one whose
    landmarks moved more over the LOOKBACK shared rows before; with no shared rows before, the one that
    started later (the shorter, if both started together)."""
    if start == 0:
        (first, _), (second, _) = pair
        if frames[first][0] != frames[second][0]:
            return int(frames[second][0] > frames[first][0])
        return int(len(frames[second]) < len(frames[first]))
    before = max(0, start - LOOKBACK)
    moved = [np.linalg.norm(_centre(landmarks[t][rows[start]], confidence[t][rows[start]])
                            - _centre(landmarks[t][rows[before]], confidence[t][rows[before]])) for t, rows in pair]
    return int(moved[1] > moved[0])


def _centre(points: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """(2,) the mean of the landmarks (L, 2) seen (L,), of all of them if none is."""
    chosen = seen > SEEN
    return points[chosen].mean(axis=0) if chosen.any() else np.nanmean(points, axis=0)


def _coincide(points: np.ndarray, seen: np.ndarray, other_points: np.ndarray, other_seen: np.ndarray,
              mirror: np.ndarray) -> np.ndarray:
    """(k,) whether two tracks' landmarks (k, L, 2) lie on one body, frame by frame: their mean distance over the
    landmarks both see, as a share of the body's size, under SAME_BODY_SHARE (either way round left and right)."""
    both = (seen > SEEN) & (other_seen > SEEN)
    size = np.linalg.norm(_extent(other_points, both), axis=-1)
    miss = mean_miss(points, other_points, mirror, both)
    return (both.sum(axis=1) >= 4) & (miss < SAME_BODY_SHARE * np.nan_to_num(size))


def _near(points: np.ndarray, seen: np.ndarray, other_points: np.ndarray, other_seen: np.ndarray,
          mirror: np.ndarray) -> np.ndarray:
    """(k, L) whether each landmark both tracks see lies within SAME_BODY_SHARE of the other body's size of the
    other's same landmark (k, L, 2 points; k, L seen), left and right taken the way round, frame by frame, that
    puts more of them together."""
    limit = SAME_BODY_SHARE * np.nan_to_num(np.linalg.norm(_extent(other_points, other_seen > SEEN), axis=-1))
    near, near_mirrored = ((seen > SEEN) & (other_sure > SEEN)
                           & (np.nan_to_num(np.linalg.norm(points - other, axis=-1), nan=np.inf) < limit[:, None])
                           for other, other_sure in ((other_points, other_seen),
                                                     (other_points[:, mirror], other_seen[:, mirror])))
    mirrored = near_mirrored.sum(axis=1) > near.sum(axis=1)
    return np.where(mirrored[:, None], near_mirrored, near)


def _extent(points: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """(k, 2) width and height of the landmarks (k, L, 2) seen (k, L); 0 in a frame with none seen."""
    high = np.where(seen[..., None], points, -np.inf).max(axis=1)
    low = np.where(seen[..., None], points, np.inf).min(axis=1)
    return np.where(seen.any(axis=1)[:, None], high - low, 0.0)
