"""PARE's part maps put back into the full image: bilinear un-crop, colouring and compositing (numpy only).

A result's maps are 56 x 56 over the square crop box `bbox_xywh` of each frame; cell (r, c) is centred on
image point (x + (c + 0.5) w / 56, y + (r + 0.5) h / 56) (docs/result_format.md), image pixel (i, j) on
(i + 0.5, j + 0.5). Un-cropping samples the map bilinearly at every image pixel centre inside the box (clamped
to the outermost cells near the box edge); pixels outside the box stay transparent. Bilinear interpolation is
separable, so the columns are interpolated first (C, 56, w) and then the rows, in chunks, which keeps the
25-channel segmentation of a large box small in memory.

Layers are premultiplied RGBA float32 (un-cropping and "over" compositing are exact in that form); a finished
frame is straight-alpha uint8, as PNG stores it. Colours are the sRGB palette of `body_parts`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .body_parts import PART_COLORS

ROW_CHUNK = 128  # image rows interpolated at once for the 25 segmentation channels


@dataclass(frozen=True)
class AxisTaps:
    """Bilinear taps along one axis: image pixel k reads cells low[k] and low[k] + 1, weight `frac[k]` on the
    second."""

    low: np.ndarray  # (k,) int
    frac: np.ndarray  # (k,) float32


@dataclass(frozen=True)
class UncropGrid:
    """The image pixels a box covers (`rows`, `cols`: slices of the full image) and their map taps."""

    rows: slice
    cols: slice
    row_taps: AxisTaps
    col_taps: AxisTaps

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows.stop - self.rows.start, self.cols.stop - self.cols.start


@dataclass(frozen=True)
class Layer:
    """One person's overlay over `grid`'s window: (h, w, 4) premultiplied RGBA."""

    grid: UncropGrid
    rgba: np.ndarray


def _axis(origin: float, side: float, image_extent: int, map_size: int) -> tuple[slice, AxisTaps] | None:
    """Pixels along one axis whose centres lie in [origin, origin + side), and where they fall in the map."""
    start = max(0, math.ceil(origin - 0.5))
    stop = min(image_extent, math.ceil(origin + side - 0.5))
    if stop <= start:
        return None
    centres = np.arange(start, stop, dtype=np.float64) + 0.5
    position = np.clip((centres - origin) * map_size / side - 0.5, 0.0, map_size - 1.0)
    low = np.minimum(np.floor(position).astype(np.int64), map_size - 2)
    return slice(start, stop), AxisTaps(low, (position - low).astype(np.float32))


def uncrop_grid(box_xywh: np.ndarray, width: int, height: int, map_size: int = 56) -> UncropGrid | None:
    """Where a map over the box (x, y, w, h) lands in a width x height image; None if the box misses it."""
    x, y, w, h = (float(v) for v in box_xywh)
    if w <= 0 or h <= 0:
        return None
    cols, rows = _axis(x, w, width, map_size), _axis(y, h, height, map_size)
    if cols is None or rows is None:
        return None
    return UncropGrid(rows=rows[0], cols=cols[0], row_taps=rows[1], col_taps=cols[1])


def _along_last(maps: np.ndarray, taps: AxisTaps) -> np.ndarray:
    """(..., S) -> (..., k) interpolated at the taps."""
    low, high = maps[..., taps.low], maps[..., taps.low + 1]
    return low + (high - low) * taps.frac


def _rows(columns: np.ndarray, taps: AxisTaps) -> np.ndarray:
    """(C, S, w) column-interpolated maps -> (C, k, w) at the given row taps."""
    low, high = columns[:, taps.low, :], columns[:, taps.low + 1, :]
    return low + (high - low) * taps.frac[None, :, None]


def _chunk(taps: AxisTaps, start: int, stop: int) -> AxisTaps:
    return AxisTaps(taps.low[start:stop], taps.frac[start:stop])


def uncrop(maps: np.ndarray, grid: UncropGrid) -> np.ndarray:
    """maps (C, S, S) over the box -> (C, h, w) float32 values at the pixels of `grid`."""
    columns = _along_last(np.asarray(maps, dtype=np.float32), grid.col_taps)
    return _rows(columns, grid.row_taps)


def segmentation_labels(logits: np.ndarray, grid: UncropGrid) -> np.ndarray:
    """logits (25, S, S) -> (h, w) int part label per pixel of `grid` (0 = background, j + 1 = part j): the
    argmax of the bilinearly un-cropped logits, so part borders are smooth rather than 56-cell blocks."""
    columns = _along_last(np.asarray(logits, dtype=np.float32), grid.col_taps)
    height = grid.shape[0]
    labels = np.empty(grid.shape, dtype=np.int64)
    for start in range(0, height, ROW_CHUNK):
        stop = min(start + ROW_CHUNK, height)
        labels[start:stop] = _rows(columns, _chunk(grid.row_taps, start, stop)).argmax(axis=0)
    return labels


def segmentation_layer(logits: np.ndarray, grid: UncropGrid) -> Layer:
    """Part colours where a part wins, transparent where the background does."""
    palette = np.zeros((len(PART_COLORS) + 1, 4), dtype=np.float32)
    palette[1:, :3] = PART_COLORS
    palette[1:, 3] = 1.0
    return Layer(grid, palette[segmentation_labels(logits, grid)])


def attention_rgba(attention: np.ndarray, part: int | None = None) -> np.ndarray:
    """attention (24, S, S), each map summing to 1 -> (4, S, S) premultiplied RGBA at map resolution.

    One `part`: its colour, its map scaled to a peak of 1 as opacity, so its shape shows however sharp it is.
    All parts (None): each cell in the colour of the part attending to it most, opacity that attention over
    the strongest attention anywhere in the map, so a part that looks everywhere (a flat map) stays faint."""
    maps = np.asarray(attention, dtype=np.float32)
    colors = np.asarray(PART_COLORS, dtype=np.float32)
    if part is not None:
        values, color = maps[part], colors[part][:, None, None]
    else:
        strongest = maps.argmax(axis=0)
        values, color = maps.max(axis=0), np.moveaxis(colors[strongest], -1, 0)
    peak = float(values.max())
    alpha = values / peak if peak > 0 else np.zeros_like(values)
    return np.concatenate([color * alpha, alpha[None]], axis=0)


def attention_layer(attention: np.ndarray, grid: UncropGrid, part: int | None = None) -> Layer:
    return Layer(grid, np.moveaxis(uncrop(attention_rgba(attention, part), grid), 0, -1))


def composite(layers: list[Layer], width: int, height: int) -> np.ndarray:
    """Layers drawn back to front ("over") -> (height, width, 4) straight-alpha uint8 frame. Only the window
    the layers cover is computed in float; the rest of the frame is transparent."""
    frame = np.zeros((height, width, 4), dtype=np.uint8)
    if not layers:
        return frame
    top, bottom = min(l.grid.rows.start for l in layers), max(l.grid.rows.stop for l in layers)
    left, right = min(l.grid.cols.start for l in layers), max(l.grid.cols.stop for l in layers)
    window = np.zeros((bottom - top, right - left, 4), dtype=np.float32)
    for layer in layers:
        rows, cols = layer.grid.rows, layer.grid.cols
        target = window[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left]
        target *= 1.0 - layer.rgba[..., 3:]
        target += layer.rgba
    alpha = window[..., 3:]
    window[..., :3] /= np.maximum(alpha, 1e-6)  # premultiplied -> straight (colour 0 where alpha is 0)
    frame[top:bottom, left:right] = np.clip(np.rint(window * 255.0), 0, 255).astype(np.uint8)
    return frame
