"""Runs of True in a per-frame flag: where a foot is planted, which frames are unreliable, which landmarks
another track took. One place, so that every caller counts a run's ends, and the holes it bridges, the same way."""
from __future__ import annotations

import numpy as np


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(n,) bool -> [(start, stop)] index ranges of its runs of True, in order."""
    edges = np.flatnonzero(np.diff(np.r_[0, np.asarray(mask).astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def filled(mask: np.ndarray, longest_hole: int) -> np.ndarray:
    """(n,) bool with each hole of at most `longest_hole` False between two runs of True made True: a flicker of
    a flag inside a run (a contact probability dipping, landmarks drifting just past a limit) does not split it."""
    runs = true_runs(mask)
    closed = np.asarray(mask, dtype=bool).copy()
    for (_, stop), (start, _) in zip(runs[:-1], runs[1:]):
        if start - stop <= longest_hole:
            closed[stop:start] = True
    return closed
