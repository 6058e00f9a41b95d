"""Pictures stored turned, as cameras and phones store them, built byte by byte: a JPEG with an EXIF orientation,
and an MP4 whose video track's display matrix (ISO/IEC 14496-12 `tkhd`) says how to turn its frames for viewing
(OpenCV writes neither, so tests add them).
"""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

_CONTAINERS = {b"moov", b"trak"}
_ONE = 0x10000  # 16.16 fixed point
# (a, b, c, d) of the display matrix for a clockwise turn, as phones write it (ffprobe: "rotate: 90")
_TURNS = {0: (1, 0, 0, 1), 90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}


def _boxes(data: bytes, start: int, end: int):
    """(type, body start, box end) of the boxes in data[start:end]."""
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[start + 8:start + 16])[0], 16
        elif size == 0:
            size = end - start
        yield kind, start + header, start + size
        start += size


def _track_headers(data: bytes, start: int, end: int):
    for kind, body, box_end in _boxes(data, start, end):
        if kind == b"tkhd":
            yield body
        elif kind in _CONTAINERS:
            yield from _track_headers(data, body, box_end)


def mark_rotated(path: Path, degrees: int) -> None:
    """Set every track's display matrix of the MP4 at `path` to a clockwise turn by `degrees` (0/90/180/270)."""
    data = bytearray(path.read_bytes())
    headers = list(_track_headers(data, 0, len(data)))
    assert headers, f"{path} has no track header"
    a, b, c, d = _TURNS[degrees]
    matrix = struct.pack(">9i", a * _ONE, b * _ONE, 0, c * _ONE, d * _ONE, 0, 0, 0, 0x40000000)
    for body in headers:
        version = data[body]
        # version/flags 4, then created, modified, track id, reserved, duration (4 bytes each, or 8 for the
        # times and duration in version 1), reserved 8, layer 2, group 2, volume 2, reserved 2
        offset = body + 4 + (32 if version == 1 else 20) + 16
        data[offset:offset + 36] = matrix
    path.write_bytes(bytes(data))


def tiff_ifd(byte_order: str, entries: list[tuple[int, int, int, int]], first_ifd: int = 8) -> bytes:
    """TIFF header + one IFD; entries (tag, type, count, value) with the value stored inline."""
    mark = b"II*\x00" if byte_order == "<" else b"MM\x00*"
    body = struct.pack(byte_order + "H", len(entries))
    for tag, kind, count, value in entries:
        inline = struct.pack(byte_order + "HH", value, 0) if kind == 3 else struct.pack(byte_order + "I", value)
        body += struct.pack(byte_order + "HHI", tag, kind, count) + inline
    return mark + struct.pack(byte_order + "I", first_ifd) + body + b"\x00\x00\x00\x00"


def exif_tiff(orientation: int, byte_order: str = ">") -> bytes:
    return tiff_ifd(byte_order, [(0x0112, 3, 1, orientation)])


def jpeg_with_orientation(rgb: np.ndarray, orientation: int, byte_order: str = ">") -> bytes:
    """A JPEG of `rgb` (as stored) with an APP1 EXIF segment holding the orientation tag, right after SOI."""
    jpeg = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 98])[1].tobytes()
    payload = b"Exif\x00\x00" + exif_tiff(orientation, byte_order)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]
