"""When a person is present in a take: the spans of source frames their body should be seen in.

The tracker keeps estimating a person it has lost for up to `COAST_FRAMES` frames (at its predicted box), so
within a track, frames further apart than that mean the person was gone in between. The add-on shows a body
only during its spans (no ghost standing frozen before its person enters or after they leave), and readers of
results from other tools get the same rule.
"""
from __future__ import annotations

import numpy as np

COAST_FRAMES = 10
"""A person the detector misses for up to this many frames (a third of a second at 30 fps: a flicker, a brief
occlusion) is still estimated at the tracker's predicted box, so the rig has no hole there; predicted frames
after a person's last detection are dropped again when the track is finished."""


def presence_spans(frames: np.ndarray, coast_frames: int = COAST_FRAMES) -> list[tuple[int, int]]:
    """frames (n,) sorted source frames of one track -> [(first, last), ...] inclusive spans of presence.

    The frame step is the track's smallest step (the stride it was estimated with); a jump longer than
    `coast_frames + 1` steps starts a new span.
    """
    frames = np.asarray(frames, dtype=np.int64)
    if len(frames) == 0:
        return []
    steps = np.diff(frames)
    step = int(steps[steps > 0].min()) if np.any(steps > 0) else 1
    breaks = np.flatnonzero(steps > (coast_frames + 1) * step)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(frames) - 1]])
    return [(int(frames[a]), int(frames[b])) for a, b in zip(starts, ends)]


def visibility_keys(spans: list[tuple[int, int]], first_frame: int) -> tuple[np.ndarray, np.ndarray]:
    """Constant keys of a "hidden" switch for `spans` of source frames, with source frame 0 at scene frame
    `first_frame`: (scene frames (k,), hidden (k,) 0/1). Hidden from the take's start until the first span,
    shown through each span, hidden after it."""
    keys: dict[int, float] = {first_frame: 1.0}
    for first, last in spans:
        keys[first_frame + first] = 0.0
        keys[first_frame + last + 1] = 1.0
    frames = np.array(sorted(keys), dtype=np.float64)
    return frames, np.array([keys[int(frame)] for frame in frames], dtype=np.float64)
