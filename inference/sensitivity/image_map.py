"""The sensitivity map as a picture: each pixel coloured by the mean error of the positions that covered it,
over the frame, with a legend of the colour scale.

The colour table is stored in the `.npz` beside the numbers (`colormap_rgb`), so the Blender add-on colours
the mesh with exactly the same scale without sharing code with this torch side.
"""
from __future__ import annotations

import cv2
import numpy as np

OPACITY = 0.6  # how much of the colour covers the frame where the occluder went
COLORMAP = cv2.COLORMAP_TURBO  # blue (no change) to red (largest change), as the paper's figures


def colormap_rgb() -> np.ndarray:
    """(256, 3) uint8 RGB colour of each level 0..255 (0 = no error, 255 = the scale's top)."""
    levels = np.arange(256, dtype=np.uint8)[:, None]
    return cv2.applyColorMap(levels, COLORMAP)[:, 0, ::-1].copy()


def colour_levels(values: np.ndarray, scale_max: float) -> np.ndarray:
    """Errors (any shape, mm) -> uint8 levels 0..255 of the colour table, 0 mm to `scale_max` mm (clipped)."""
    unit = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)) / max(scale_max, 1e-12), 0.0, 1.0)
    return np.rint(unit * 255).astype(np.uint8)


def pixel_means(errors: np.ndarray, corners: np.ndarray, patch_px: int, image_size: tuple[int, int]
                ) -> np.ndarray:
    """(P,) errors per position, (P, 2) occluder corners -> (H, W) float32 mean error of the positions covering
    each pixel (NaN where none; lost positions, NaN, are left out).

    Summed with difference arrays over the box the squares span (not the whole frame, which may be 4K): each
    square adds at its four corners, a cumulative sum fills it in."""
    width, height = image_size
    means = np.full((height, width), np.nan, dtype=np.float32)
    usable = np.isfinite(errors)
    if not usable.any():
        return means
    errors, corners = errors[usable], corners[usable]
    x0, y0 = np.clip(corners[:, 0], 0, width), np.clip(corners[:, 1], 0, height)
    x1, y1 = np.clip(corners[:, 0] + patch_px, 0, width), np.clip(corners[:, 1] + patch_px, 0, height)
    left, top, right, bottom = x0.min(), y0.min(), x1.max(), y1.max()
    sums = np.zeros((2, bottom - top + 1, right - left + 1))  # error sum, count
    for rows, cols, sign in ((y0, x0, 1), (y0, x1, -1), (y1, x0, -1), (y1, x1, 1)):
        np.add.at(sums[0], (rows - top, cols - left), sign * errors)
        np.add.at(sums[1], (rows - top, cols - left), sign)
    sums = sums.cumsum(axis=1).cumsum(axis=2)[:, :-1, :-1]
    count = np.rint(sums[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        means[top:bottom, left:right] = np.where(count > 0, sums[0] / count, np.nan)
    return means


def map_picture(image_rgb: np.ndarray, means: np.ndarray, scale_max: float, title: str) -> np.ndarray:
    """(H, W, 3) uint8 frame, (H, W) mean errors (NaN = not covered) -> (H, W, 3) uint8 RGB picture: the
    colours over the frame where covered, and a legend (title, colour bar, 0 and `scale_max` mm) in the top
    right corner."""
    table = colormap_rgb()
    covered = np.isfinite(means)
    colours = table[colour_levels(means, scale_max)].astype(np.float32)
    picture = image_rgb.astype(np.float32)
    picture[covered] = (1 - OPACITY) * picture[covered] + OPACITY * colours[covered]
    picture = np.rint(picture).astype(np.uint8)
    _draw_legend(picture, table, scale_max, title)
    return picture


def _draw_legend(picture: np.ndarray, table: np.ndarray, scale_max: float, title: str) -> None:
    """A dark panel with a vertical colour bar (top = `scale_max`) and its labels, drawn in place."""
    height, width = picture.shape[:2]
    unit = max(height, width) / 640.0  # sizes follow the picture, readable from thumbnails to 4K
    font_scale, thickness = 0.45 * unit, max(1, round(unit))
    bar_h, bar_w, pad = max(16, round(120 * unit)), max(4, round(12 * unit)), max(2, round(6 * unit))
    labels = (title, f"{scale_max:.1f} mm", "0 mm")
    text_w = max(cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)[0][0] for text in labels)
    line_h = cv2.getTextSize("0", cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)[0][1] + pad
    panel_w = min(width, bar_w + text_w + 3 * pad)
    panel_h = min(height, line_h + bar_h + 2 * pad)
    left = width - panel_w
    panel = picture[:panel_h, left:]
    panel[:] = (0.3 * panel).astype(np.uint8)
    bar_top = line_h + pad
    levels = np.linspace(255, 0, max(bar_h, 1)).round().astype(np.int64)
    bar = table[levels][:, None, :]
    rows = slice(bar_top, min(bar_top + bar_h, panel_h))
    cols = slice(pad, min(pad + bar_w, panel_w))
    panel[rows, cols] = bar[: rows.stop - rows.start]
    white = (255, 255, 255)
    text_x = left + pad + bar_w + pad
    cv2.putText(picture, title, (left + pad, line_h), cv2.FONT_HERSHEY_SIMPLEX, font_scale, white, thickness,
                cv2.LINE_AA)
    cv2.putText(picture, labels[1], (text_x, bar_top + line_h - pad), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                white, thickness, cv2.LINE_AA)
    cv2.putText(picture, labels[2], (text_x, min(bar_top + bar_h, height - 1)), cv2.FONT_HERSHEY_SIMPLEX,
                font_scale, white, thickness, cv2.LINE_AA)


def png_bytes(picture_rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 RGB -> the bytes of a PNG file."""
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(picture_rgb[..., ::-1]))
    if not ok:
        raise ValueError("OpenCV could not encode the sensitivity picture as PNG")
    return encoded.tobytes()
