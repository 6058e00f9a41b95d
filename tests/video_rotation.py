"""Mark an MP4 as a phone marks a portrait clip: the frames stay as encoded, the video track's display matrix
(ISO/IEC 14496-12 `tkhd`) says how to turn them for viewing. OpenCV cannot write that matrix, so tests patch it.
"""
from __future__ import annotations

import struct
from pathlib import Path

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
