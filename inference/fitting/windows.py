"""A long video track fitted in overlapping windows, so that the fit's memory does not grow with the track.

The linked solver (`linked_solver`) holds a few (n, 69, 69) blocks per row: about 250 KB a row, so a track of
10 minutes at 60 fps (36,000 rows) would need some 9 GB. Past `WINDOW_ROWS` rows a track is fitted in windows of
that many rows, each overlapping its neighbours by `OVERLAP_ROWS` on either side, and each window gives the
result only its middle rows: the smoothness term ties a frame to its neighbours over a few samples, so
`OVERLAP_ROWS` samples away from a window's edge the edge no longer shows. One shape per person still holds: the
betas are fitted first on an even subsample of the whole track (at most `WINDOW_ROWS` rows) and held in every
window.
"""
from __future__ import annotations

import numpy as np

WINDOW_ROWS = 1500  # rows per window (about 400 MB of solver state)
OVERLAP_ROWS = 100  # rows each window solves beyond the ones it keeps, on each side


def needs_windows(n: int) -> bool:
    return n > WINDOW_ROWS


def shape_rows(n: int) -> np.ndarray:
    """(k,) rows spread evenly over a track of n rows, at most WINDOW_ROWS of them, to fit its shape on."""
    return np.arange(0, n, -(-n // WINDOW_ROWS))


def window_spans(n: int) -> list[tuple[slice, slice]]:
    """For a track of n rows, each window's rows to solve and, within those, the rows it keeps: consecutive
    kept ranges cover 0..n once; each solved range reaches OVERLAP_ROWS rows past its kept one where it can,
    and holds at most WINDOW_ROWS."""
    window, overlap = WINDOW_ROWS, OVERLAP_ROWS
    kept_size = max(window - 2 * overlap, 1)
    count = -(-n // kept_size)
    edges = np.linspace(0, n, count + 1).round().astype(int)
    spans = []
    for start, end in zip(edges[:-1], edges[1:]):
        solved = slice(max(0, start - overlap), min(n, end + overlap))
        spans.append((solved, slice(start - solved.start, end - solved.start)))
    return spans
