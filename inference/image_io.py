"""Read any photo a user is likely to have into an upright 8-bit RGB array.

OpenCV decodes the pixels (`IMREAD_UNCHANGED`, so alpha and 16-bit depth survive), and this module does the
rest itself: it turns the pixels upright by the EXIF orientation tag (phones store portrait photos sideways
and set the tag) of JPEG, PNG and WebP files, composites transparency over a neutral grey, and brings every
depth to 8 bits. TIFF needs no help: OpenCV's TIFF decoder applies the TIFF orientation tag itself. The file
is read as bytes by Python and decoded from memory, so paths with any characters work on every platform
(`cv2.imread` fails on non-ASCII paths on Windows).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np

from contract.clips import IMAGE_SUFFIXES
from contract.errors import UserError
from contract.file_checks import regular_file

#: File name endings (lower case) that are treated as still images.

#: Largest image file read (a 16-bit 16K x 16K TIFF is 1.5 GiB); larger files are refused, not read whole.
MAX_IMAGE_FILE_BYTES = 2 << 30

#: Grey level that transparent pixels are composited over. 128 is close to the ImageNet mean
#: (124, 116, 104) that the network input subtracts, so a transparent background becomes an almost-zero,
#: featureless network input instead of a strong black or white edge around the person.
TRANSPARENT_BACKGROUND_GREY = 128

_EXIF_ORIENTATION_TAG = 0x0112
# Flip applied after the optional transpose, per EXIF orientation: mirror left-right, turn 180, flip up-down.
_MIRROR, _TURN, _FLIP = np.s_[:, ::-1], np.s_[::-1, ::-1], np.s_[::-1]
_ORIENTATION_FLIPS = {2: _MIRROR, 3: _TURN, 4: _FLIP, 6: _MIRROR, 7: _TURN, 8: _FLIP}
_EXIF_TURNS = {3: 180, 6: 90, 8: 270}  # the orientations that are a pure turn, as clockwise degrees


def read_image_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode the image file at `path` into a (H, W, 3) uint8 RGB array, shown the right way up.

    Grayscale is repeated to three channels, palette images are expanded, alpha is composited over
    `TRANSPARENT_BACKGROUND_GREY`, 16-bit images are scaled to 8 bits (v / 257, rounded) and float images
    are read as 0..1. Raises `UserError` naming the path when it is missing, not a file, unreadable, empty or
    not an image OpenCV can decode.
    """
    data = _read_bytes(Path(path))
    try:
        decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        decoded = None
    if decoded is None:
        raise UserError(f"Cannot read image {path}: the file is damaged or not an image in a supported format "
                        f"({', '.join(IMAGE_SUFFIXES)}).")
    rgb = _to_rgb_uint8(decoded, path)
    return apply_exif_orientation(rgb, exif_orientation(data))


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise UserError(f"Image not found: {path}")
    if path.is_dir():
        raise UserError(f"Expected an image file but {path} is a folder.")
    regular_file(path, "image")  # a pipe or device would block or never end
    if path.stat().st_size > MAX_IMAGE_FILE_BYTES:
        raise UserError(f"Cannot read image {path}: {path.stat().st_size / 2**30:.1f} GiB is more than any photo "
                        f"({MAX_IMAGE_FILE_BYTES / 2**30:.0f} GiB at most).")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"Cannot read image {path}: {error.strerror or error}.") from error
    if not data:
        raise UserError(f"Cannot read image {path}: the file is empty.")
    return data


def _to_rgb_uint8(decoded: np.ndarray, path: str | os.PathLike[str]) -> np.ndarray:
    """OpenCV's BGR / BGRA / gray / gray+alpha array of any supported depth -> (H, W, 3) uint8 RGB."""
    pixels = decoded if decoded.ndim == 3 else decoded[:, :, None]
    channels = pixels.shape[2]
    if channels not in (1, 2, 3, 4):
        raise UserError(f"Cannot read image {path}: {channels} colour channels are not supported.")
    has_alpha = channels in (2, 4)
    colour = pixels[:, :, : channels - 1] if has_alpha else pixels
    if colour.shape[2] == 3:
        colour = colour[:, :, ::-1]  # BGR -> RGB
    else:
        colour = np.repeat(colour, 3, axis=2)
    if pixels.dtype == np.uint8 and not has_alpha:
        return np.ascontiguousarray(colour)
    unit = _to_unit_float(colour, path)
    if has_alpha:
        alpha = _to_unit_float(pixels[:, :, channels - 1 :], path)
        unit = unit * alpha + (TRANSPARENT_BACKGROUND_GREY / 255.0) * (1.0 - alpha)
    return np.clip(np.rint(unit * 255.0), 0, 255).astype(np.uint8)


def _to_unit_float(values: np.ndarray, path: str | os.PathLike[str]) -> np.ndarray:
    """Integer pixels scaled by their full range, float pixels taken as 0..1; float64 result."""
    if values.dtype in (np.uint8, np.uint16):
        return values.astype(np.float64) / np.iinfo(values.dtype).max
    if values.dtype.kind == "f":
        return np.clip(np.nan_to_num(values.astype(np.float64)), 0.0, 1.0)
    raise UserError(f"Cannot read image {path}: pixels of type {values.dtype} are not supported; "
                    "save it as 8- or 16-bit.")


def apply_exif_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a stored (H, W, ...) image upright for EXIF orientation 1..8 (other values: unchanged).

    Orientations 5..8 store the picture transposed (portrait shots from a sideways sensor), so their output
    is (W, H, ...). Value meanings follow the EXIF/TIFF standard: 2 mirrored, 3 upside down, 4 flipped,
    5 transposed, 6 needs a 90 degree clockwise turn, 7 transverse, 8 needs a 90 degree counter-clockwise turn.
    """
    if orientation in (5, 6, 7, 8):
        image = image.swapaxes(0, 1)
    if orientation in _ORIENTATION_FLIPS:
        image = image[_ORIENTATION_FLIPS[orientation]]
    return np.ascontiguousarray(image)


def exif_turn(path: str | os.PathLike[str]) -> int:
    """Clockwise degrees (0, 90, 180 or 270) that `read_image_rgb` turns the photo at `path` by, as its EXIF
    orientation says; 0 for mirrored orientations too. Blender shows photos as stored, so the scene turns the
    footage behind the bodies by this much."""
    return _EXIF_TURNS.get(exif_orientation(_read_bytes(Path(path))), 0)


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1..8) stored in an encoded JPEG, PNG or WebP file; 1 when absent or unreadable.

    Damaged metadata never stops a photo from loading: any parse problem means "no orientation".
    """
    try:
        tiff = _find_exif_tiff_block(data)
        return _tiff_orientation(tiff) if tiff else 1
    except (struct.error, IndexError, ValueError):
        return 1


def _find_exif_tiff_block(data: bytes) -> bytes | None:
    """The TIFF-structured EXIF block of the file, located by the container format."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg_exif(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_exif(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_exif(data)
    return None  # TIFF: already upright from OpenCV; other formats carry no EXIF


def _jpeg_exif(data: bytes) -> bytes | None:
    """Walk the JPEG marker segments up to the first scan; EXIF is an APP1 segment starting 'Exif\\0\\0'."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length field
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: metadata comes before these
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            return segment[6:]
        pos += 2 + length
    return None


def _png_exif(data: bytes) -> bytes | None:
    """PNG chunks are (length u32 BE, type, payload, crc); EXIF lives in an 'eXIf' chunk."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"eXIf":
            return data[pos + 8 : pos + 8 + length]
        if kind == b"IEND":
            return None
        pos += 12 + length
    return None


def _webp_exif(data: bytes) -> bytes | None:
    """WebP RIFF chunks are (fourcc, size u32 LE, payload padded to even); EXIF lives in an 'EXIF' chunk."""
    pos = 12
    while pos + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[pos : pos + 8])
        if kind == b"EXIF":
            payload = data[pos + 8 : pos + 8 + length]
            return payload[6:] if payload.startswith(b"Exif\x00\x00") else payload
        pos += 8 + length + (length & 1)
    return None


def _tiff_orientation(tiff: bytes) -> int:
    """Read tag 0x0112 (a SHORT) from IFD0 of a TIFF structure; 1 when the tag is missing or out of range."""
    byte_order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if byte_order is None:
        return 1
    (ifd_offset,) = struct.unpack(byte_order + "I", tiff[4:8])
    (entry_count,) = struct.unpack(byte_order + "H", tiff[ifd_offset : ifd_offset + 2])
    for index in range(entry_count):
        start = ifd_offset + 2 + 12 * index
        tag, field_type, _count, value = struct.unpack(byte_order + "HHIH", tiff[start : start + 10])
        if tag == _EXIF_ORIENTATION_TAG:
            return value if field_type == 3 and 1 <= value <= 8 else 1
    return 1


def check_rgb_image(image_rgb: np.ndarray) -> None:
    """Raise ValueError unless `image_rgb` is (H, W, 3) uint8, what `read_image_rgb` and the frame sources
    give; the models' inputs are built on that assumption (a programming error otherwise, not a user error)."""
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image_rgb.shape} {image_rgb.dtype}")
