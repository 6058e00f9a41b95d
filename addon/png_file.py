"""RGBA frames to PNG bytes with the standard library and numpy only.

Blender's Python has neither OpenCV nor Pillow, and saving through a Blender image needs bpy and its main
thread; the overlay frames are written from a background thread, so they are encoded here (8-bit RGBA, no
row filters: the frames are mostly transparent and deflate well as they are).
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPE_RGBA = 6
COMPRESSION_LEVEL = 3  # fast; the frames are mostly empty, which deflates well at any level


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(rgba: np.ndarray) -> bytes:
    """(H, W, 4) uint8 straight-alpha RGBA, top row first -> the bytes of a PNG file."""
    pixels = np.ascontiguousarray(rgba)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 4:
        raise ValueError(f"expected (H, W, 4) uint8 pixels, got {pixels.shape} {pixels.dtype}")
    height, width = pixels.shape[:2]
    rows = np.zeros((height, 1 + width * 4), dtype=np.uint8)  # a leading 0 per row: filter type "none"
    rows[:, 1:] = pixels.reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPE_RGBA, 0, 0, 0)
    return (PNG_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), COMPRESSION_LEVEL)) + _chunk(b"IEND", b""))
