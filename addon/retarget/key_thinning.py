"""Fewer keys within a tolerance, for animators who edit the result by hand (numpy only).

Per-frame keys are exact but uneditable. Ramer-Douglas-Peucker keeps the frames without which linear
interpolation between the kept keys would leave some channel more than `tolerance` off; all channels of a
bone are thinned together, so a bone's keys stay on the same frames (what an animator expects to drag).
"""
from __future__ import annotations

import numpy as np


def kept_frames(frames: np.ndarray, values: np.ndarray, tolerance: float) -> np.ndarray:
    """frames (n,), values (n, k) -> sorted indices (m,) of the keys to keep: first and last always, and
    enough between them that linear interpolation of the kept keys is within `tolerance` of every value."""
    frames = np.asarray(frames, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64).reshape(len(frames), -1)
    keep = np.zeros(len(frames), dtype=bool)
    keep[[0, -1]] = True
    spans = [(0, len(frames) - 1)]
    while spans:
        start, end = spans.pop()
        if end - start < 2:
            continue
        inside = np.arange(start + 1, end)
        weight = ((frames[inside] - frames[start]) / (frames[end] - frames[start]))[:, None]
        line = values[start] + weight * (values[end] - values[start])
        error = np.abs(values[inside] - line).max(axis=1)
        worst = int(np.argmax(error))
        if error[worst] > tolerance:
            split = int(inside[worst])
            keep[split] = True
            spans += [(start, split), (split, end)]
    return np.flatnonzero(keep)
