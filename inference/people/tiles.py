"""Where the detector's second, zoomed pass looks, and how its boxes join the first pass's.

The second pass runs the network at a larger scale than the first, either over the whole frame (one input:
the network is fully convolutional, so this is the same as overlapping tiles, without seams) or over windows
around people the caller expects but the first pass did not return. A window is centred on its person, so a
box cut by a window's inner edge is someone else partly seen: it is dropped (that person is in the first
pass, in another window, or not found). Boxes of all passes are then merged so each person keeps one box.
Boxes here are rows [x, y, w, h] (and score, turns: `PersonDetector.detect`) in image pixels; windows are
(x0, y0, x1, y1) integer pixels.
"""
from __future__ import annotations

import numpy as np

from .tracking import box_intersection

#: An expected person counts as returned by the first pass when one of its boxes overlaps theirs this much.
MATCH_IOU = 0.3
#: Boxes from different passes are one person when their IoU reaches this, or when the smaller lies this much
#: inside the larger (a pass that sees only part of the body gives a smaller box inside the other's).
DUPLICATE_IOU = 0.5
DUPLICATE_INSIDE = 0.8
#: A window is at least this many times its person's size, so the person is well inside it.
WINDOW_CONTEXT = 2.0
#: ... and this many times where that still fits one network input, so a small person is found even where the
#: expected box is off by a fifth of its size (bench/bench_detection.py, "everyone expected").
WINDOW_ROOM = 3.0
EDGE_PX = 2.0  # a box within this many network pixels of a window's inner edge is cut by it
DETECTION_COLUMNS = 6  # x, y, w, h, score, turns (`PersonDetector.detect`)


def overlap_matrix(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4+) and (M, 4+) [x, y, w, h] boxes -> (N, M) IoU and (N, M) intersection / smaller box's area."""
    inter = box_intersection(a, b)
    area_a, area_b = a[:, None, 2:4].prod(axis=-1), b[None, :, 2:4].prod(axis=-1)
    iou = inter / np.maximum(area_a + area_b - inter, 1e-9)
    return iou, inter / np.maximum(np.minimum(area_a, area_b), 1e-9)


def missed(expected: np.ndarray, found: np.ndarray) -> np.ndarray:
    """The rows of `expected` (M, 4+) that no `found` box (K, 4+) overlaps with IoU >= `MATCH_IOU`."""
    if len(found) == 0 or len(expected) == 0:
        return expected
    return expected[overlap_matrix(expected, found)[0].max(axis=1) < MATCH_IOU]


def apart_from(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """The rows of `boxes` (K, 4+) that overlap no row of `others` (M, 4+) by `MATCH_IOU`, as IoU or as a share of
    the smaller box."""
    if len(boxes) == 0 or len(others) == 0:
        return boxes
    iou, inside = overlap_matrix(boxes, others)
    return boxes[np.maximum(iou, inside).max(axis=1) < MATCH_IOU]


def window_around(box: np.ndarray, input_side: float, least_side: float, image_hw: tuple[int, int]
                  ) -> tuple[int, int, int, int]:
    """A square window centred on `box`, kept inside the image (shifted, then cut to it when larger): `WINDOW_ROOM`
    times the box but no more than `input_side` px (one network input), at least `least_side` px and
    `WINDOW_CONTEXT` times the box. So a small person costs a small input, a large one keeps its zoom."""
    height, width = image_hw
    x, y, w, h = (float(v) for v in box[:4])
    size = max(w, h)
    span = max(least_side, WINDOW_CONTEXT * size, min(WINDOW_ROOM * size, input_side))
    corners = []
    for centre, limit in ((x + w / 2, width), (y + h / 2, height)):
        lo = min(max(0.0, centre - span / 2), max(0.0, limit - span))
        corners.append((int(lo), int(min(limit, np.ceil(lo + span)))))
    (x0, x1), (y0, y1) = corners
    return x0, y0, x1, y1


def not_cut(boxes: np.ndarray, window: tuple[int, int, int, int], image_hw: tuple[int, int],
            scale: float) -> np.ndarray:
    """Boolean mask of `boxes` (K, 4+, image pixels) that touch no inner edge of `window` (an image edge is
    fine: the person is cut by the frame, not by the window); `scale` is the window's network scale."""
    x0, y0, x1, y1 = window
    margin = EDGE_PX / scale
    keep = np.ones(len(boxes), bool)
    if x0 > 0:
        keep &= boxes[:, 0] > x0 + margin
    if y0 > 0:
        keep &= boxes[:, 1] > y0 + margin
    if x1 < image_hw[1]:
        keep &= boxes[:, 0] + boxes[:, 2] < x1 - margin
    if y1 < image_hw[0]:
        keep &= boxes[:, 1] + boxes[:, 3] < y1 - margin
    return keep


def merge_passes(passes: list[np.ndarray]) -> np.ndarray:
    """(K_i, 6) boxes of several passes -> (K, 6) float32, best score first, one box per person: a box is
    dropped when a better one of another pass is the same person (`DUPLICATE_IOU` / `DUPLICATE_INSIDE`).
    Each pass's own boxes are already NMSed, so two boxes of one pass are never compared."""
    rows = np.concatenate([p.reshape(-1, DETECTION_COLUMNS) for p in passes]).astype(np.float32)
    origin = np.concatenate([np.full(len(p), i) for i, p in enumerate(passes)])
    order = np.argsort(-rows[:, 4], kind="stable")
    rows, origin = rows[order], origin[order]
    iou, inside = overlap_matrix(rows, rows)
    duplicate = (iou >= DUPLICATE_IOU) | (inside >= DUPLICATE_INSIDE)
    kept: list[int] = []
    for i in range(len(rows)):
        if not any(duplicate[i, j] and origin[i] != origin[j] for j in kept):
            kept.append(i)
    return rows[kept]
