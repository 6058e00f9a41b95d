"""A result's part maps -> one full-image RGBA PNG per source frame and overlay kind, on disk.

Files are `<folder>/<kind>/<kind>_000000.png`, numbered by source frame from 0 to frame_count - 1, so Blender
plays them as an image sequence in step with the footage. Frames where nobody was estimated (before a person
appears, between strided frames) are transparent. Where several people overlap, the nearer one (smaller
`cam_t` depth) is drawn over the farther. The maps hold 56 x 56 cells, so frames are made at most
`MAX_SIDE` pixels on their longer side (the image planes stretch them over the whole view, exactly aligned):
a 4K clip's overlays take a ninth of the time and disk of full size. No bpy here: the frames are written from
a background thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..contract.errors import UserError
from ..contract.result_file import PersonTrack, Result
from .overlay_math import Layer, attention_layer, composite, segmentation_layer, uncrop_grid
from .png_file import encode_png

ATTENTION, SEGMENTATION = "attention", "segmentation"
KINDS = (ATTENTION, SEGMENTATION)
MAX_SIDE = 1280


@dataclass(frozen=True)
class OverlayRequest:
    kinds: tuple[str, ...]  # some of KINDS
    attention_part: int | None = None  # one SMPL joint's part, or None for all parts combined


@dataclass(frozen=True)
class OverlaySequence:
    """One kind's frames on disk: `first_file` is source frame 0's, `frames` files in all."""

    kind: str
    first_file: Path
    frames: int


def overlay_file(folder: Path, kind: str, frame: int) -> Path:
    return folder / kind / f"{kind}_{frame:06d}.png"


def check_maps(result: Result) -> None:
    """UserError unless every person carries PARE's part maps (SPIN-style regressors have none)."""
    if any(track.part_attention is None or track.part_segmentation is None or track.bbox_xywh is None
           for track in result.persons):
        raise UserError(f"The result has no part attention or segmentation maps (model {result.meta.model}): "
                        f"overlays need a PARE checkpoint.")


def frame_size(image_width: int, image_height: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """Overlay frame size for an image: the image's, scaled down to `max_side` on its longer side."""
    scale = min(1.0, max_side / max(image_width, image_height))
    return max(1, round(image_width * scale)), max(1, round(image_height * scale))


def _person_layer(track: PersonTrack, row: int, kind: str, request: OverlayRequest, scale: np.ndarray,
                  size: tuple[int, int]) -> Layer | None:
    grid = uncrop_grid(track.bbox_xywh[row] * scale, *size)
    if grid is None:
        return None
    if kind == ATTENTION:
        return attention_layer(track.part_attention[row], grid, request.attention_part)
    return segmentation_layer(track.part_segmentation[row], grid)


def _rows_by_frame(result: Result) -> list[dict[int, int]]:
    """Per person: source frame -> row of its arrays."""
    return [{int(frame): row for row, frame in enumerate(track.frame)} for track in result.persons]


def write_overlays(result: Result, request: OverlayRequest, folder: Path) -> Iterator[tuple[int, int]]:
    """Write every frame of every requested kind under `folder`, yielding (frames done, frame count) after
    each source frame. Stop iterating to cancel; the caller removes the folder."""
    check_maps(result)
    meta = result.meta
    width, height = size = frame_size(meta.image_width, meta.image_height)
    scale = np.array([width / meta.image_width, height / meta.image_height] * 2)  # image -> frame pixels
    for kind in request.kinds:
        (folder / kind).mkdir(parents=True, exist_ok=True)
    blank = encode_png(np.zeros((height, width, 4), dtype=np.uint8))
    rows = _rows_by_frame(result)
    count = meta.frame_count
    for frame in range(count):
        present = [(float(track.cam_t[rows[p][frame], 2]), p) for p, track in enumerate(result.persons)
                   if frame in rows[p]]
        present.sort(reverse=True)  # farthest first, so nearer people are drawn over them
        for kind in request.kinds:
            layers = [_person_layer(result.persons[p], rows[p][frame], kind, request, scale, size)
                      for _, p in present]
            layers = [layer for layer in layers if layer is not None]
            data = encode_png(composite(layers, width, height)) if layers else blank
            overlay_file(folder, kind, frame).write_bytes(data)
        yield frame + 1, count


def overlay_sequences(result: Result, request: OverlayRequest, folder: Path) -> list[OverlaySequence]:
    """The sequences `write_overlays` writes, for the scene builder."""
    return [OverlaySequence(kind, overlay_file(folder, kind, 0), result.meta.frame_count)
            for kind in request.kinds]
