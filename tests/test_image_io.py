"""read_image_rgb on every kind of file a user may hand us; the odd formats are built byte by byte here."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from contract.errors import UserError
from inference.image_io import (IMAGE_SUFFIXES, TRANSPARENT_BACKGROUND_GREY, exif_orientation,
                                read_image_rgb)
from turned_files import exif_tiff, jpeg_with_orientation, tiff_ifd

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def quadrant_image(height: int = 48, width: int = 80) -> np.ndarray:
    """Upright RGB test picture: red top-left, green top-right, blue bottom-left, white bottom-right."""
    image = np.zeros((height, width, 3), np.uint8)
    h, w = height // 2, width // 2
    image[:h, :w], image[:h, w:], image[h:, :w], image[h:, w:] = RED, GREEN, BLUE, WHITE
    return image


def assert_quadrants(image: np.ndarray, height: int = 48, width: int = 80, tolerance: int = 12) -> None:
    assert image.shape == (height, width, 3) and image.dtype == np.uint8
    h, w = height // 4, width // 4
    for (row, col), colour in zip([(h, w), (h, 3 * w), (3 * h, w), (3 * h, 3 * w)], [RED, GREEN, BLUE, WHITE]):
        assert np.abs(image[row, col].astype(int) - colour).max() <= tolerance


# How a camera stores an upright picture for each EXIF orientation (written from the EXIF definitions, by
# where the stored row 0 / column 0 appear when viewed).
STORED_FROM_UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: np.rot90(a, 2),
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, 1),
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
    8: lambda a: np.rot90(a, -1),
}


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(rows: np.ndarray, color_type: int, bit_depth: int = 8, extra_chunks: tuple = ()) -> bytes:
    """PNG from (H, W*samples) big-endian sample rows, filter 0; extra chunks go before the image data."""
    height = rows.shape[0]
    width = rows.shape[1] // {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    raw = b"".join(b"\x00" + row.astype(">u2" if bit_depth == 16 else np.uint8).tobytes() for row in rows)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    chunks = [png_chunk(b"IHDR", header), *(png_chunk(k, d) for k, d in extra_chunks),
              png_chunk(b"IDAT", zlib.compress(raw)), png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_in_jpeg_shows_the_photo_upright(tmp_path, orientation):
    upright = quadrant_image()
    stored = np.ascontiguousarray(STORED_FROM_UPRIGHT[orientation](upright))
    data = jpeg_with_orientation(stored, orientation, byte_order="<" if orientation % 2 else ">")
    image = read_image_rgb(write(tmp_path, "photo.jpg", data))
    assert_quadrants(image)
    # OpenCV's own EXIF handling (IMREAD_COLOR) agrees pixel for pixel.
    assert np.array_equal(image, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB))


def webp_with_orientation(rgb: np.ndarray, orientation: int) -> bytes:
    """Lossless WebP of `rgb` (as stored) in the extended layout: VP8X header, image chunk, EXIF chunk."""
    simple = cv2.imencode(".webp", rgb[:, :, ::-1], [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()
    height, width = rgb.shape[:2]
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x08, 0, 0, 0])  # flag: has EXIF
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    exif = exif_tiff(orientation, "<")
    body = b"WEBP" + vp8x + simple[12:] + b"EXIF" + struct.pack("<I", len(exif)) + exif + bytes(len(exif) % 2)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_exif_orientation_in_png_webp_and_tiff(tmp_path):
    upright = quadrant_image()
    stored = np.ascontiguousarray(STORED_FROM_UPRIGHT[6](upright))
    png = cv2.imencode(".png", stored[:, :, ::-1])[1].tobytes()
    ihdr_end = 8 + 12 + 13
    with_exif = png[:ihdr_end] + png_chunk(b"eXIf", exif_tiff(6)) + png[ihdr_end:]
    assert_quadrants(read_image_rgb(write(tmp_path, "photo.png", with_exif)), tolerance=0)
    assert_quadrants(read_image_rgb(write(tmp_path, "photo.webp", webp_with_orientation(stored, 6))), tolerance=0)

    # An uncompressed 8-bit grayscale TIFF stored for orientation 8 (upright: bright top-left quadrant);
    # OpenCV's TIFF decoder applies this tag itself, and it must not be applied twice.
    gray = np.zeros((48, 80), np.uint8)
    gray[:24, :40] = 200
    stored = np.ascontiguousarray(STORED_FROM_UPRIGHT[8](gray))
    height, width = stored.shape
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 0), (274, 3, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, stored.size)]
    header_size = len(tiff_ifd("<", entries))
    entries[5] = (273, 4, 1, header_size)  # strip offset: pixels follow the IFD
    image = read_image_rgb(write(tmp_path, "scan.tif", tiff_ifd("<", entries) + stored.tobytes()))
    assert image.shape == (48, 80, 3)
    assert (image[:24, :40] == 200).all() and (image[24:] == 0).all() and (image[:, 40:] == 0).all()


def test_exif_orientation_parsing_of_containers_and_damage():
    webp = b"RIFF" + struct.pack("<I", 0) + b"WEBP" + b"VP8X" + struct.pack("<I", 10) + bytes(10)
    payload = b"Exif\x00\x00" + exif_tiff(3, "<")  # some writers keep the JPEG-style prefix
    webp += b"EXIF" + struct.pack("<I", len(payload)) + payload
    assert exif_orientation(webp) == 3
    png = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", bytes(13))
    assert exif_orientation(png + png_chunk(b"eXIf", exif_tiff(5, "<"))) == 5
    assert exif_orientation(png + png_chunk(b"eXIf", exif_tiff(9))) == 1  # out of range
    assert exif_orientation(png + png_chunk(b"IEND", b"") + png_chunk(b"eXIf", exif_tiff(5))) == 1
    assert exif_orientation(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\xff\xff\xff\xff") == 1  # bad offset
    assert exif_orientation(b"\xff\xd8\xff\xe1\x7f\xff") == 1  # truncated segment
    assert exif_orientation(b"GIF89a") == 1


def test_damaged_exif_still_loads_the_photo(tmp_path):
    jpeg = cv2.imencode(".jpg", quadrant_image()[:, :, ::-1])[1].tobytes()
    payload = b"Exif\x00\x00MM\x00*" + struct.pack(">I", 10_000)  # IFD offset beyond the block
    data = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]
    assert_quadrants(read_image_rgb(write(tmp_path, "odd.jpg", data)))


def test_rgb_png_is_read_exactly_and_as_rgb(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    path = write(tmp_path, "x.png", cv2.imencode(".png", rgb[:, :, ::-1])[1].tobytes())
    image = read_image_rgb(path)
    assert image.flags.c_contiguous and np.array_equal(image, rgb)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = np.arange(12 * 7, dtype=np.uint8).reshape(12, 7)
    image = read_image_rgb(write(tmp_path, "g.png", cv2.imencode(".png", gray)[1].tobytes()))
    assert image.shape == (12, 7, 3) and all(np.array_equal(image[:, :, c], gray) for c in range(3))


def composite(colour: np.ndarray, alpha: np.ndarray, full_scale: int) -> np.ndarray:
    a = alpha.astype(np.float64) / full_scale
    mixed = colour.astype(np.float64) / full_scale * a + TRANSPARENT_BACKGROUND_GREY / 255 * (1 - a)
    return np.rint(mixed * 255).astype(np.uint8)


def test_rgba_is_composited_over_grey(tmp_path):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., :3] = [[[250, 10, 40]]]
    rgba[..., 3] = [[0, 128, 255], [64, 200, 1]]
    path = write(tmp_path, "a.png", cv2.imencode(".png", rgba[..., [2, 1, 0, 3]])[1].tobytes())
    image = read_image_rgb(path)
    assert np.array_equal(image[0, 0], [TRANSPARENT_BACKGROUND_GREY] * 3)
    assert np.array_equal(image[0, 2], [250, 10, 40])
    assert np.array_equal(image, composite(rgba[..., :3], rgba[..., 3:], 255))


def test_gray_alpha_png(tmp_path):
    samples = np.array([[10, 0, 10, 255, 240, 128]], np.uint8)  # (gray, alpha) x 3
    image = read_image_rgb(write(tmp_path, "ga.png", png_bytes(samples, color_type=4)))
    expected = composite(np.repeat(samples[:, 0::2, None], 3, 2), samples[:, 1::2, None], 255)
    assert np.array_equal(image, expected)
    assert np.array_equal(image[0, 0], [TRANSPARENT_BACKGROUND_GREY] * 3)


def test_sixteen_bit_png_and_tiff_are_scaled_to_eight_bits(tmp_path):
    values = np.array([[0, 257, 32896, 65535, 1000, 60000]], np.uint16).reshape(2, 3)
    bgr = np.stack([values, values // 2, 65535 - values], axis=2).astype(np.uint16)
    expected = np.rint(bgr[:, :, ::-1] / 257.0).astype(np.uint8)
    for suffix in (".png", ".tif"):
        path = write(tmp_path, "deep" + suffix, cv2.imencode(suffix, bgr)[1].tobytes())
        assert np.array_equal(read_image_rgb(path), expected), suffix
    rows = np.stack([values, values], axis=2).reshape(2, 6)  # 16-bit gray + alpha
    image = read_image_rgb(write(tmp_path, "deep_ga.png", png_bytes(rows, color_type=4, bit_depth=16)))
    assert np.array_equal(image, composite(np.repeat(values[..., None], 3, 2), values[..., None], 65535))


def test_float_tiff_is_read_as_zero_to_one(tmp_path):
    values = np.array([[0.0, 0.5, 1.0, 2.0]], np.float32)
    image = read_image_rgb(write(tmp_path, "f.tif", cv2.imencode(".tif", values)[1].tobytes()))
    assert image[0, :, 0].tolist() == [0, 128, 255, 255]


def test_palette_png_with_and_without_transparency(tmp_path):
    palette = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255])
    indices = np.array([[0, 1, 2, 1]], np.uint8)
    plain = read_image_rgb(write(tmp_path, "p.png", png_bytes(indices, 3, extra_chunks=((b"PLTE", palette),))))
    assert plain[0].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 255, 0]]
    chunks = ((b"PLTE", palette), (b"tRNS", bytes([0, 255, 255])))  # index 0 fully transparent
    clear = read_image_rgb(write(tmp_path, "pt.png", png_bytes(indices, 3, extra_chunks=chunks)))
    assert clear[0].tolist() == [[TRANSPARENT_BACKGROUND_GREY] * 3, [0, 255, 0], [0, 0, 255], [0, 255, 0]]


def test_non_ascii_path(tmp_path):
    folder = tmp_path / "Ünïcødé 写真 фото"
    folder.mkdir()
    path = write(folder, "bild_ä.jpg", cv2.imencode(".jpg", quadrant_image()[:, :, ::-1])[1].tobytes())
    assert_quadrants(read_image_rgb(path))
    assert_quadrants(read_image_rgb(str(path)))


def test_every_accepted_suffix_decodes(tmp_path):
    upright = quadrant_image()
    for suffix in IMAGE_SUFFIXES:
        encoder_suffix = {".jpeg": ".jpg", ".jpe": ".jpg", ".tiff": ".tif"}.get(suffix, suffix)
        params = [cv2.IMWRITE_WEBP_QUALITY, 101] if suffix == ".webp" else []  # lossless WebP
        data = cv2.imencode(encoder_suffix, upright[:, :, ::-1], params)[1].tobytes()
        assert_quadrants(read_image_rgb(write(tmp_path, "image" + suffix, data)))
    assert all(s == s.lower() and s.startswith(".") for s in IMAGE_SUFFIXES)


def test_problems_raise_user_errors_naming_the_file(tmp_path):
    jpeg = cv2.imencode(".jpg", quadrant_image()[:, :, ::-1])[1].tobytes()
    cases = {
        tmp_path / "missing.jpg": "not found",
        tmp_path: "is a folder",
        write(tmp_path, "empty.png", b""): "empty",
        write(tmp_path, "notes.jpg", b"this is text, not a picture\n" * 10): "damaged or not an image",
        write(tmp_path, "cut.jpg", jpeg[: len(jpeg) * 2 // 3]): "damaged or not an image",
        write(tmp_path, "noise.png", np.random.default_rng(1).bytes(4000)): "damaged or not an image",
    }
    for path, words in cases.items():
        with pytest.raises(UserError) as caught:
            read_image_rgb(path)
        assert str(path) in str(caught.value) and words in str(caught.value)
