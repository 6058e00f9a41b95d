"""Two tracks of one person, recognised by their estimates: the shorter is a repeat and is left out.

The detector can box one body twice for a while, e.g. once around the trunk and once around the trunk and the
outstretched arms (IoU about 0.45, so NMS keeps both). When the second box lives long enough to be kept, the
person gets a second rig that doubles their body for those frames (the quality bench's `dance cut`: five
frames). Boxes cannot tell this from two people, one in front of the other, whose boxes overlap as much; the
estimates can: in the frames both tracks have, a repeat's joints land where the other's do (here 4 % of the
body's size in the picture, median), while two people's lie a body part or more apart. Left and right count
as one: the two tracks' landmarks are relabelled each along its own track (`keypoints.side_order`), and a
repeat that starts inside a run the landmark model mislabelled can end up labelled the other way round (issue
9's real footage, camera 2 at a quarter of its size: a second rig on the person for 60 frames).

A second box can also hold only part of the person, e.g. their head and raised hands (Pose2Sim's two-person
take, camera 1: a box a quarter of the person's size for 17 frames, grown by its landmarks onto the whole
person over the next ten). A crop that small gives a squashed body whose joints miss the person's by a third
of their size, but it still sees the part it holds: its head lands on the person's head. In a frame where one
track's box lies inside the other's and their heads meet, the two are one body; a second person whose box lies
inside a nearer person's (further back, or in front of them) has a head of their own.
"""
from __future__ import annotations

import numpy as np

from .people.tracking import paired_intersection

#: Median over the shared frames of the mean joint distance, as a share of the longer track's body size in the
#: picture (its joints' bounding-box diagonal), below which two tracks are one body. Kept well under what two
#: people pressed together can reach (two people hugging, seen from the side: their joints about a chest's depth
#: apart, some 15 % of that size), since leaving out a real person is worse than keeping a repeat.
SAME_BODY_SHARE = 0.08
#: A repeat shares at least this share of its frames with the track it repeats. Not all: a second box can
#: outlive the first by a frame or two (issue 9's real footage, camera 1 cut below the knees: frames 94-99 on
#: a track that ended at 97, so a second rig stood on the person for four frames). Leaving such a repeat out
#: costs those few frames at the end; a track that goes on well past its overlap is a continuation and stays.
SHARED_FRAMES_SHARE = 0.5
#: Head distance, as a share of the body's size, under which a track whose box lies inside the other's is the
#: same body (the squashed partial bodies above: 0-2 %); two heads side by side (a hug, cheek to cheek) are some
#: 8-15 % apart.
SAME_HEAD_SHARE = 0.04
#: Share of a box's area inside the other box for it to count as lying inside it.
INSIDE_SHARE = 0.9


def mirror_order(names: tuple[str, ...] | list[str]) -> np.ndarray:
    """(J,) each joint's left/right twin by name ("left_x" <-> "right_x"; a centre joint is its own)."""
    twin = {"left_": "right_", "right_": "left_"}
    return np.array([names.index(next((twin[side] + name[len(side):] for side in twin if name.startswith(side)),
                                      name)) for name in names])


def repeated_tracks(frames: list[np.ndarray], joints2d: list[np.ndarray], mirror: np.ndarray | None = None,
                    boxes: list[np.ndarray] | None = None, head: int | None = None) -> set[int]:
    """Tracks' frame numbers (n_i,) and 2D joints (n_i, J, 2) px -> indices of the tracks that repeat a longer
    kept track (most of their frames shared with it, their joints on its joints there, or on its joints with
    left and right swapped when `mirror` (J,) gives each joint's twin, see `mirror_order`; with `boxes`
    (n_i, 4) x, y, w, h px and the `head` joint's index, also frames where one box lies inside the other and
    the heads meet)."""
    longest_first = sorted(range(len(frames)), key=lambda index: (-len(frames[index]), index))
    repeats: set[int] = set()
    for position, candidate in enumerate(longest_first):
        for kept in longest_first[:position]:
            pair = None if boxes is None else (boxes[candidate], boxes[kept])
            if kept not in repeats and _repeats(frames[candidate], joints2d[candidate], frames[kept], joints2d[kept],
                                                mirror, pair, head):
                repeats.add(candidate)
                break
    return repeats


def _repeats(frames: np.ndarray, joints: np.ndarray, other_frames: np.ndarray, other_joints: np.ndarray,
             mirror: np.ndarray | None, boxes: tuple[np.ndarray, np.ndarray] | None, head: int | None) -> bool:
    shared, rows, other_rows = np.intersect1d(frames, other_frames, return_indices=True)
    if len(shared) == 0 or len(shared) < SHARED_FRAMES_SHARE * len(frames):
        return False
    size = np.linalg.norm(np.ptp(other_joints[other_rows], axis=1), axis=-1)  # (k,)
    share = mean_miss(joints[rows], other_joints[other_rows], mirror) / np.maximum(size, 1.0)
    if boxes is not None and head is not None:
        heads_meet = np.linalg.norm(joints[rows, head] - other_joints[other_rows, head], axis=-1) \
            < SAME_HEAD_SHARE * size
        share = np.where(heads_meet & nested(boxes[0][rows], boxes[1][other_rows]), 0.0, share)
    return bool(np.median(share) < SAME_BODY_SHARE)


def mean_miss(points: np.ndarray, other: np.ndarray, mirror: np.ndarray | None = None,
              seen: np.ndarray | None = None) -> np.ndarray:
    """(k, J, 2) and (k, J, 2) -> (k,) their mean distance over the joints `seen` (k, J) (all when None), the
    smaller of as labelled and, when `mirror` (J,) gives each joint's twin, with left and right swapped."""
    seen = np.ones(points.shape[:2], dtype=bool) if seen is None else seen
    count = np.maximum(seen.sum(axis=1), 1)
    labellings = (points,) if mirror is None else (points, points[:, mirror])
    return np.min([np.where(seen, np.linalg.norm(labelled - other, axis=-1), 0.0).sum(axis=1) / count
                   for labelled in labellings], axis=0)


def nested(boxes: np.ndarray, other_boxes: np.ndarray) -> np.ndarray:
    """(k, 4) and (k, 4) x, y, w, h -> (k,) whether, frame by frame, either box lies inside the other (at least
    INSIDE_SHARE of its area)."""
    smaller = np.minimum(np.prod(boxes[:, 2:], axis=1), np.prod(other_boxes[:, 2:], axis=1))
    return paired_intersection(boxes, other_boxes) >= INSIDE_SHARE * np.maximum(smaller, 1e-9)
