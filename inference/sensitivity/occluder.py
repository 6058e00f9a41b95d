"""Where the occluder goes and how it is painted: integer pixel squares of the original image.

The pixel rule, which anyone can repeat to reproduce a position: a position with centre (cx, cy) and side
`patch_px` paints the grey (128, 128, 128) into the pixel columns x0 <= x < x0 + patch_px and rows
y0 <= y < y0 + patch_px of the original image, with x0 = cx - patch_px / 2 and y0 = cy - patch_px / 2 (both
integers by construction), clipped to the image. Painting happens before the crop, so the network sees the
square resampled exactly as it would see a real object there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from contract.errors import UserError
from ..crop import CROP_SIZE

OCCLUDER_GREY = 128
DEFAULT_PATCH_FRACTION = 1 / 7
"""The paper's setting: a 32 px square on a 224 px crop, so by default 1/7 of the crop's side."""


@dataclass(frozen=True)
class OccluderGrid:
    """The occluder's positions over one square crop box, in original-image pixels."""

    corners: np.ndarray  # (P, 2) int64 top-left pixel (x0, y0) of each square
    patch_px: int  # side of the square

    @property
    def centers(self) -> np.ndarray:
        """(P, 2) float64 square centres: corner + patch_px / 2 (see the module doc)."""
        return self.corners + self.patch_px / 2.0

    def __len__(self) -> int:
        return len(self.corners)


def occluder_grid(square_cxcywh: np.ndarray, image_size: tuple[int, int], patch_crop_px: float | None = None,
                  stride_crop_px: float | None = None) -> OccluderGrid:
    """Positions of a square of `patch_crop_px` crop pixels every `stride_crop_px` crop pixels over the crop box
    (cx, cy, side, side), converted to original-image pixels and rounded to whole pixels.

    Defaults: patch = 1/7 of the crop, stride = half the patch. Squares that would paint no pixel of the image
    (parts of the crop beyond the picture's edge are black in every crop anyway) are left out.
    """
    cx, cy, side = (float(v) for v in np.asarray(square_cxcywh, dtype=np.float64)[:3])
    patch_crop_px = CROP_SIZE * DEFAULT_PATCH_FRACTION if patch_crop_px is None else float(patch_crop_px)
    stride_crop_px = patch_crop_px / 2 if stride_crop_px is None else float(stride_crop_px)
    if not 0 < patch_crop_px <= CROP_SIZE:
        raise UserError(f"--patch must be between 1 and {CROP_SIZE} crop pixels, got {patch_crop_px:g}")
    if stride_crop_px <= 0:
        raise UserError(f"--stride must be positive, got {stride_crop_px:g}")
    pixels_per_crop_px = side / CROP_SIZE
    patch_px = max(1, round(patch_crop_px * pixels_per_crop_px))
    stride_px = max(1.0, stride_crop_px * pixels_per_crop_px)
    steps = math.floor((side - patch_px) / stride_px + 1e-9) + 1
    offsets = np.round(np.arange(max(steps, 1)) * stride_px).astype(np.int64)
    left, top = math.floor(cx - side / 2 + 0.5), math.floor(cy - side / 2 + 0.5)
    xs, ys = np.meshgrid(left + offsets, top + offsets)
    corners = np.stack([xs.ravel(), ys.ravel()], axis=1)
    width, height = image_size
    inside = ((corners[:, 0] < width) & (corners[:, 0] + patch_px > 0)
              & (corners[:, 1] < height) & (corners[:, 1] + patch_px > 0))
    if not inside.any():
        raise UserError("The person's box lies outside the image: no occluder position paints any pixel")
    return OccluderGrid(corners[inside], patch_px)


def painted_images(image_rgb: np.ndarray, grid: OccluderGrid) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 image -> the image with each position painted, one after the other.

    One buffer is painted and restored in turn (a 4K frame is 25 MB; a copy per position would not do), so
    each yielded image is valid only until the next one is asked for.
    """
    buffer = image_rgb.copy()
    height, width = image_rgb.shape[:2]
    for x0, y0 in grid.corners:
        rows = slice(max(int(y0), 0), min(int(y0) + grid.patch_px, height))
        cols = slice(max(int(x0), 0), min(int(x0) + grid.patch_px, width))
        buffer[rows, cols] = OCCLUDER_GREY
        yield buffer
        buffer[rows, cols] = image_rgb[rows, cols]


def paint_occluder(image_rgb: np.ndarray, center_xy: np.ndarray, patch_px: int) -> np.ndarray:
    """A copy of the image with the grey square of side `patch_px` centred on `center_xy` painted in, by the
    module's pixel rule: what a checker does to reproduce one position of the map."""
    corner = np.asarray(center_xy, dtype=np.float64) - patch_px / 2.0
    if not np.allclose(corner, np.round(corner)):
        raise ValueError(f"centre {center_xy} with side {patch_px} does not put the square on whole pixels")
    grid = OccluderGrid(np.round(corner).astype(np.int64)[None], int(patch_px))
    return next(painted_images(image_rgb, grid)).copy()
