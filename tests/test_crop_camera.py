"""Person crop, normalisation and camera conversions against the official demo's goldens, plus the pinhole camera."""

import pathlib
import sys

import numpy as np
import pytest
import torch

from inference.camera import crop_cam_to_camera_translation, default_focal_length, project_points
from inference.crop import crop_affine, crop_person, normalize_crops, square_box
from inference.image_io import read_image_rgb

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from official_camera import crop_cam_to_crop_translation, crop_cam_to_orig_cam, crop_keypoints_to_image  # noqa: E402

REFERENCE = pathlib.Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def golden():
    with np.load(REFERENCE / "crop_golden.npz") as data:
        return {key: data[key] for key in data.files}


def test_reference_png_is_the_golden_image(golden):
    assert np.array_equal(read_image_rgb(REFERENCE / "crop_input_640x480.png"), golden["image_uint8_rgb"])


def test_crop_affine_matches_golden(golden):
    for box, expected in zip(golden["bboxes_cxcywh"], golden["affine_2x3"]):
        assert np.abs(crop_affine(box, float(golden["scale"]), int(golden["crop_size"])) - expected).max() < 1e-12


def test_crop_pixels_match_golden_within_one_level(golden):
    """The reference crops are rounded exact bilinear samples; ours differ only where the exact value is a
    rounding tie (x.5 within float32 error): at most 1 level, in well under 0.5% of the values."""
    for box, expected in zip(golden["bboxes_cxcywh"], golden["crop_uint8_rgb"]):
        crop = crop_person(golden["image_uint8_rgb"], box, int(golden["crop_size"]))
        assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
        difference = np.abs(crop.astype(int) - expected)
        assert difference.max() <= 1
        assert (difference > 0).mean() < 0.002


def test_crop_has_a_black_border_outside_the_image(golden):
    box = golden["bboxes_cxcywh"][1]  # (600.5, 60.25, 200, 200): reaches past the right and top edges
    crop = crop_person(golden["image_uint8_rgb"], box)
    right_of_image = int(np.ceil((640 - box[0]) * 224 / box[2] + 112)) + 1
    above_image = int(np.floor((0 - box[1]) * 224 / box[3] + 112)) - 1
    assert (crop[:, right_of_image:] == 0).all() and (crop[:above_image] == 0).all()
    assert crop[200, 10].any()


def test_crop_of_an_identity_box_reproduces_the_image():
    image = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    assert np.array_equal(crop_person(image, np.array([112.0, 112.0, 224.0, 224.0])), image)


def test_normalize_crops_matches_golden(golden):
    """Bit-identical on the golden crops; on our own crops within 1e-6 wherever the crop pixel is identical."""
    golden_input = normalize_crops(golden["crop_uint8_rgb"])
    assert golden_input.is_contiguous(memory_format=torch.channels_last)  # the layout the networks run in
    assert np.array_equal(golden_input.numpy(), golden["net_input"])
    ours = np.stack([crop_person(golden["image_uint8_rgb"], box) for box in golden["bboxes_cxcywh"]])
    net_input = normalize_crops(ours).numpy()
    assert net_input.dtype == np.float32 and net_input.shape == (3, 3, 224, 224)
    same_pixel = (ours == golden["crop_uint8_rgb"]).transpose(0, 3, 1, 2)
    assert np.abs(net_input - golden["net_input"])[same_pixel].max() <= 1e-6
    with pytest.raises(ValueError):
        normalize_crops(golden["crop_uint8_rgb"].astype(np.float32))


def test_square_box():
    boxes = np.array([[10.0, 20.0, 30.0, 60.0], [0.0, 0.0, 8.0, 4.0]])
    assert np.allclose(square_box(boxes), [[25, 50, 60, 60], [4, 2, 8, 8]])
    assert np.allclose(square_box(boxes[0], margin=1.2), [25, 50, 72, 72])


def test_orig_cam_matches_golden(golden):
    orig = crop_cam_to_orig_cam(golden["example_pred_cam"], golden["bboxes_cxcywh"], 640, 480)
    assert np.abs(orig - golden["example_orig_cam_sx_sy_tx_ty"]).max() < 1e-12


def test_crop_translation_matches_golden(golden):
    translation = crop_cam_to_crop_translation(golden["example_pred_cam"], focal=5000.0, crop_res=224)
    assert np.abs(translation - golden["example_cam_t_f5000_res224"]).max() < 1e-5  # golden is float32


def test_keypoints_to_image_match_golden(golden):
    pixels = crop_keypoints_to_image(golden["example_kp_norm"], golden["bboxes_cxcywh"])
    assert np.abs(pixels - golden["example_kp_orig"]).max() < 1e-12


def test_default_focal_length_is_the_diagonal():
    focal = default_focal_length(640, 480)
    assert focal == 800.0
    assert np.degrees(2 * np.arctan(np.hypot(640, 480) / 2 / focal)) == pytest.approx(53.13, abs=0.01)


def test_project_points():
    points = np.array([[[0.0, 0.0, 2.0], [1.0, -0.5, 4.0]]])
    assert np.allclose(project_points(points, 1000.0, 640, 480), [[[320, 240], [570, 115]]])


def test_full_image_camera_on_the_crop_itself_is_the_crop_camera(golden):
    """A 224 px image whose box is the whole image, seen with PARE's 5000 px lens, is PARE's own crop camera."""
    cams = golden["example_pred_cam"]
    whole = np.tile([112.0, 112.0, 224.0, 224.0], (len(cams), 1))
    assert np.allclose(crop_cam_to_camera_translation(cams, whole, 224, 224, 5000.0),
                       crop_cam_to_crop_translation(cams), rtol=1e-12, atol=0)


def weak_perspective_pixels(points: np.ndarray, cam: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(K, 3) body points -> (K, 2) pixels as PARE's crop camera places them: box centre + b/2 * s * (X + t)."""
    scale, shift = cam[0], cam[1:]
    return box[:2] + box[2] / 2 * scale * (points[:, :2] + shift)


@pytest.mark.parametrize("box, cam, focal", [
    (np.array([352.0, 251.0, 260.0, 260.0]), np.array([0.9, 0.05, -0.1]), None),
    (np.array([600.5, 60.25, 200.0, 200.0]), np.array([1.2, -0.2, 0.15]), None),
    (np.array([90.0, 400.0, 120.0, 120.0]), np.array([0.7, 0.0, 0.3]), 1500.0),
])
def test_full_image_camera_puts_the_body_where_the_crop_camera_did(box, cam, focal):
    """Project body points with PARE's weak perspective in the crop and with the full-image pinhole camera.

    On the body's depth-centre plane (X_z = 0) the two must agree exactly (1e-6 px: PARE's 1e-9 added to b*s
    in the depth is all that separates them). Off it,
    perspective scales offsets from the principal point c by T_z / (T_z + X_z), so for |X_z| <= d the pixels may
    differ by at most |p_weak - c| * d / (T_z - d): the inherent weak-perspective error (a few percent of the
    distance to the image centre for body depths of +-0.3 m at 6-20 m camera distance), never more.
    """
    width, height = 640, 480
    focal = focal or default_focal_length(width, height)
    translation = crop_cam_to_camera_translation(cam[None], box[None], width, height, focal)[0]
    rng = np.random.default_rng(0)
    points = rng.uniform([-0.8, -1.0, -0.3], [0.8, 1.0, 0.3], size=(500, 3))  # a body-sized cloud, metres
    weak = weak_perspective_pixels(points, cam, box)
    pinhole = project_points(points + translation, focal, width, height)

    flat = points * [1, 1, 0]
    assert np.abs(project_points(flat + translation, focal, width, height)
                  - weak_perspective_pixels(flat, cam, box)).max() < 1e-6

    depth_limit = np.abs(points[:, 2]).max()
    principal_point = np.array([width / 2, height / 2])
    bound = np.abs(weak - principal_point) * depth_limit / (translation[2] - depth_limit)
    assert (np.abs(pinhole - weak) <= bound + 1e-6).all()
    # The bound is tight (first order in X_z), so it is a real check of T_z and of the offsets.
    assert np.abs(pinhole - weak).max() > 0.5 * bound.max()


def test_camera_translation_to_crop_cam_inverts_the_conversion():
    from inference.camera import camera_translation_to_crop_cam, crop_cam_to_camera_translation

    rng = np.random.default_rng(3)
    crop_cam = np.stack([rng.uniform(0.5, 1.5, 20), rng.normal(0, 0.2, 20), rng.normal(0, 0.2, 20)], axis=1)
    side = rng.uniform(80, 400, 20)
    boxes = np.stack([rng.uniform(0, 640, 20), rng.uniform(0, 480, 20), side, side], axis=1)
    cam_t = crop_cam_to_camera_translation(crop_cam, boxes, 640, 480, 900.0)
    np.testing.assert_allclose(camera_translation_to_crop_cam(cam_t, boxes, 640, 480, 900.0), crop_cam,
                               rtol=1e-6, atol=1e-6)
