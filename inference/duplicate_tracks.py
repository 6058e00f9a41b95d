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
"""
from __future__ import annotations

import numpy as np

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


def mirror_order(names: tuple[str, ...] | list[str]) -> np.ndarray:
    """(J,) each joint's left/right twin by name ("left_x" <-> "right_x"; a centre joint is its own)."""
    twin = {"left_": "right_", "right_": "left_"}
    return np.array([names.index(next((twin[side] + name[len(side):] for side in twin if name.startswith(side)),
                                      name)) for name in names])


def repeated_tracks(frames: list[np.ndarray], joints2d: list[np.ndarray], mirror: np.ndarray | None = None
                    ) -> set[int]:
    """Tracks' frame numbers (n_i,) and 2D joints (n_i, J, 2) px -> indices of the tracks that repeat a longer
    kept track (most of their frames shared with it, their joints on its joints there, or on its joints with
    left and right swapped when `mirror` (J,) gives each joint's twin, see `mirror_order`)."""
    longest_first = sorted(range(len(frames)), key=lambda index: (-len(frames[index]), index))
    repeats: set[int] = set()
    for position, candidate in enumerate(longest_first):
        for kept in longest_first[:position]:
            if kept not in repeats and _repeats(frames[candidate], joints2d[candidate], frames[kept], joints2d[kept],
                                                mirror):
                repeats.add(candidate)
                break
    return repeats


def _repeats(frames: np.ndarray, joints: np.ndarray, other_frames: np.ndarray, other_joints: np.ndarray,
             mirror: np.ndarray | None) -> bool:
    shared, rows, other_rows = np.intersect1d(frames, other_frames, return_indices=True)
    if len(shared) == 0 or len(shared) < SHARED_FRAMES_SHARE * len(frames):
        return False
    size = np.linalg.norm(np.ptp(other_joints[other_rows], axis=1), axis=-1)  # (k,)
    miss = np.linalg.norm(joints[rows] - other_joints[other_rows], axis=-1).mean(axis=-1)  # (k,)
    if mirror is not None:
        mirrored = np.linalg.norm(joints[rows][:, mirror] - other_joints[other_rows], axis=-1).mean(axis=-1)
        miss = np.minimum(miss, mirrored)
    return bool(np.median(miss / np.maximum(size, 1.0)) < SAME_BODY_SHARE)
