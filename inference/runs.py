"""Runs of True in a per-frame flag: where a foot is planted, which frames are unreliable, which landmarks
another track took. One helper, so that every caller counts a run's ends the same way."""
from __future__ import annotations

import numpy as np


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(n,) bool -> [(start, stop)] index ranges of its runs of True, in order."""
    edges = np.flatnonzero(np.diff(np.r_[0, np.asarray(mask).astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))
