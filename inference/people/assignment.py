"""Minimum-cost one-to-one assignment (the Hungarian method), for matching detections to tracks."""
from __future__ import annotations

import numpy as np


def min_cost_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """(R, C) costs, np.inf = not allowed -> (row, col) pairs of a minimum-cost matching.

    Among the matchings with the most allowed pairs, the one of least total cost (Kuhn-Munkres). Pairs of
    infinite cost are never returned. Shortest augmenting paths with dual potentials, O(R^2 C) for R <= C.
    """
    cost = np.asarray(cost, dtype=np.float64)
    allowed = np.isfinite(cost)
    if not allowed.any():
        return []
    finite = cost[allowed]
    # A forbidden pair costs more than any full matching of allowed pairs, so it is used only when unavoidable.
    big = (finite.max() - finite.min() + 1.0) * (min(cost.shape) + 1) + finite.max()
    work = np.where(allowed, cost, big)
    transposed = work.shape[0] > work.shape[1]
    if transposed:
        work = work.T
    pairs = _augmenting_path_assignment(work)
    if transposed:
        pairs = [(c, r) for r, c in pairs]
    return sorted((r, c) for r, c in pairs if allowed[r, c])


def _augmenting_path_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """(R, C) finite costs with R <= C -> every row matched to a distinct column at minimum total cost.

    Rows join one at a time. Column 0 is a virtual start column holding the new row; Dijkstra-like, the free
    column with the least reduced cost joins the alternating tree and the potentials are shifted so that
    tree edges stay tight, until a free real column is reached; the path is then flipped.
    """
    rows, cols = cost.shape
    row_pot, col_pot = np.zeros(rows), np.zeros(cols + 1)
    owner = np.full(cols + 1, -1)  # owner[j]: row matched to column j (j = 1..cols), -1 if free
    for row in range(rows):
        owner[0], column = row, 0
        slack, came_from = np.full(cols + 1, np.inf), np.zeros(cols + 1, dtype=int)
        in_tree = np.zeros(cols + 1, dtype=bool)
        while owner[column] != -1:
            in_tree[column] = True
            i = owner[column]
            reduced = cost[i] - row_pot[i] - col_pot[1:]
            better = ~in_tree[1:] & (reduced < slack[1:])
            slack[1:][better], came_from[1:][better] = reduced[better], column
            free_slack = np.where(in_tree[1:], np.inf, slack[1:])
            nxt = int(np.argmin(free_slack)) + 1
            step = free_slack[nxt - 1]
            row_pot[owner[in_tree]] += step
            col_pot[in_tree] -= step
            slack[~in_tree] -= step
            column = nxt
        while column:  # flip the alternating path back to the virtual column
            previous = came_from[column]
            owner[column] = owner[previous]
            column = previous
    return [(int(owner[j]), j - 1) for j in range(1, cols + 1) if owner[j] != -1]
