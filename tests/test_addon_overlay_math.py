"""The overlay un-crop and colouring (numpy only, no Blender): maps over the crop box land on the right pixels.

Convention (docs/result_format.md): cell (r, c) of a 56 x 56 map over box (x, y, w, h) is centred on image point
(x + (c + 0.5) w / 56, y + (r + 0.5) h / 56); image pixel (i, j) is centred on (i + 0.5, j + 0.5).
"""
import pathlib
import sys
import zlib

import cv2
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pare_body_estimator.addon.body_parts import PART_COLORS  # noqa: E402
from pare_body_estimator.addon.overlay_math import (attention_layer, attention_rgba, composite,  # noqa: E402
                                                    segmentation_labels, uncrop, uncrop_grid)
from pare_body_estimator.addon.png_file import encode_png  # noqa: E402
from inference.crop import crop_person  # noqa: E402


def test_a_single_cell_lands_on_the_pixels_around_its_centre():
    """Box (100, 50, 112, 112): 2 pixels per cell. Cell (r=10, c=20) is centred on image point (141, 71),
    between pixel centres 140.5 / 141.5 and 70.5 / 71.5; bilinear weights fall off over one cell (2 px)."""
    maps = np.zeros((1, 56, 56), np.float32)
    maps[0, 10, 20] = 1.0
    grid = uncrop_grid(np.array([100.0, 50.0, 112.0, 112.0]), 400, 300)
    assert (grid.cols, grid.rows) == (slice(100, 212), slice(50, 162))
    image = np.zeros((300, 400), np.float32)
    image[grid.rows, grid.cols] = uncrop(maps, grid)[0]
    falloff = np.array([0.25, 0.75, 0.75, 0.25], np.float32)
    expected = np.zeros_like(image)
    expected[69:73, 139:143] = np.outer(falloff, falloff)
    np.testing.assert_allclose(image, expected, atol=1e-6)


def test_a_box_partly_outside_the_image_is_clipped_and_pixels_outside_the_box_stay_empty():
    grid = uncrop_grid(np.array([-30.2, 250.0, 60.0, 60.0]), 320, 280)
    assert (grid.cols, grid.rows) == (slice(0, 30), slice(250, 280))
    assert uncrop_grid(np.array([400.0, 10.0, 50.0, 50.0]), 320, 240) is None
    ones = uncrop(np.ones((2, 56, 56), np.float32), grid)
    assert ones.shape == (2, 30, 30) and np.all(ones == 1.0)


def smooth_map(seed):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:56, 0:56] / 55.0
    value = sum(rng.uniform(0.2, 1.0) * np.exp(-((rows - rng.uniform()) ** 2 + (cols - rng.uniform()) ** 2) / 0.08)
                for _ in range(3))
    return (value / value.max()).astype(np.float32)


def crop_back(image, box_xywh):
    """inference/crop.py's 56-pixel crop sampling the map's cell centres. crop.py samples crop pixel k at image
    index position cx + (k - 28) w / 56, where index position i is pixel i's centre (i + 0.5 in the
    result's pixel coordinates); cell k's centre x + (k + 0.5) w / 56 is index position
    x + (k + 0.5) w / 56 - 0.5, hence cx = x + w / 2 + (w / 56 - 1) / 2."""
    x, y, w, h = box_xywh
    centre = [x + w / 2 + (w / 56 - 1) / 2, y + h / 2 + (h / 56 - 1) / 2, w, h]
    rgb = np.repeat(image[..., None], 3, axis=2)
    return crop_person(rgb, np.array(centre), size=56)[..., 0].astype(np.float32) / 255.0


def uncropped_image(values, box_xywh, width, height):
    grid = uncrop_grid(np.array(box_xywh), width, height)
    image = np.zeros((height, width), np.float32)
    image[grid.rows, grid.cols] = uncrop(values[None], grid)[0]
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def test_round_trip_through_the_crop_of_inference_crop():
    values = smooth_map(1)
    aligned = (10.5, 20.5, 224.0, 224.0)  # 4 px per cell, cell centres on pixel centres: exact but for uint8
    back = crop_back(uncropped_image(values, aligned, 320, 260), aligned)
    assert np.abs(back - values).max() <= 0.5 / 255 + 1e-6
    general = (37.3, 20.9, 171.2, 171.2)  # cell centres between pixels: bilinear of bilinear
    back = crop_back(uncropped_image(values, general, 320, 240), general)
    error = np.abs(back - values)[1:-1, 1:-1]
    assert error.max() < 0.01, error.max()


def test_attention_colours_and_segmentation_argmax():
    attention = np.full((24, 56, 56), 1e-6, np.float32)  # 22 parts attend everywhere (flat maps)
    attention[3, 10:20, 10:20] = 1.0
    attention[7, 30:40, 30:40] = 0.5
    attention /= attention.sum(axis=(1, 2), keepdims=True)
    combined = attention_rgba(attention)
    for (row, col), part in (((15, 15), 3), ((35, 35), 7)):
        assert abs(combined[3, row, col] - 1.0) < 1e-4  # both patches peak at about 1/100
        np.testing.assert_allclose(combined[:3, row, col] / combined[3, row, col], PART_COLORS[part], atol=1e-6)
    assert abs(combined[3, 0, 0] - 100 / 56 ** 2) < 1e-4  # a flat map (1/3136 per cell) over the peak (1/100)
    one = attention_rgba(attention, part=7)
    assert one[3, 15, 15] < 1e-5 and one[3, 35, 35] == 1.0
    np.testing.assert_allclose(one[:3, 35, 35], PART_COLORS[7], atol=1e-6)

    logits = np.zeros((25, 56, 56), np.float32)
    logits[0] = 1.0
    logits[5, :, 28:] = 3.0  # part 4 (left_knee) on the right half of the box
    grid = uncrop_grid(np.array([0.0, 0.0, 112.0, 112.0]), 112, 112)
    labels = segmentation_labels(logits, grid)
    assert np.all(labels[:, :56] == 0) and np.all(labels[:, 56:] == 5)  # cell 27.5 = the box's middle


def test_composite_draws_nearer_layers_over_farther_ones_and_writes_a_png():
    grid = uncrop_grid(np.array([0.0, 0.0, 56.0, 56.0]), 80, 60)
    attention = np.zeros((24, 56, 56), np.float32)
    attention[:, :, :] = 1.0 / 56 ** 2
    far = attention_layer(attention, grid, part=0)
    near = attention_layer(attention, grid, part=1)
    frame = composite([far, near], 80, 60)
    assert frame.shape == (60, 80, 4) and np.all(frame[:, 56:] == 0)
    np.testing.assert_array_equal(frame[30, 30], np.rint(np.append(PART_COLORS[1], 1.0) * 255))
    data = encode_png(frame)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decoded[..., [2, 1, 0, 3]], frame)
    assert data.endswith(b"IEND" + zlib.crc32(b"IEND").to_bytes(4, "big"))
