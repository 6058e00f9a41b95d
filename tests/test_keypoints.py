"""BlazePose landmarks per person box: on the body in license-free photos, metric world points, nobody -> None."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from contract.errors import UserError
from inference.fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES
from inference.image_io import read_image_rgb
from inference.keypoints import decode
from inference.keypoints.blazepose_landmarks import INPUT_SIZE, MODEL_PATH, LandmarkModel, Landmarks, crop_roi
from inference.keypoints.roi import (ROI_SCALE, Roi, crop_to_image, image_to_crop_affine, roi_from_alignment_points,
                                     roi_from_box)
from inference.people.detector import PersonDetector

SAMPLES = Path(__file__).resolve().parents[1] / "assets" / "samples"
INDEX = {name: i for i, name in enumerate(BLAZEPOSE_LANDMARK_NAMES)}

# Hand-picked from the photos (pixels, corner convention): the nose tip and the shoulder joints, where clearly seen.
ASTRONAUT_NOSE, ASTRONAUT_FACE = (223, 118), (165, 35, 290, 165)  # face region x0, y0, x1, y1
ASTRONAUT_SHOULDERS = {"left_shoulder": (275, 205), "right_shoulder": (140, 190)}  # she faces the camera
CAMERAMAN_NOSE, CAMERAMAN_FACE = (252, 165), (185, 115, 260, 195)  # profile: the nose tip
CAMERAMAN_HANDS = (200, 190, 295, 250)  # both gloved hands, on the pan handle and the tripod head
#: Allowed distance from a hand-picked point, in pixels: 3% of the people's height in these photos.
TOLERANCE_PX = 15


@pytest.fixture(scope="module")
def model() -> LandmarkModel:
    return LandmarkModel.load()


@pytest.fixture(scope="module")
def people() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Sample name -> (image, best person box from the project's detector)."""
    detector = PersonDetector.load()
    found = {}
    for name in ("astronaut.jpg", "cameraman.png", "ascent.png"):
        image = read_image_rgb(SAMPLES / name)
        found[name] = image, detector.detect(image)[0, :4]
    return found


def point(landmarks, name: str) -> np.ndarray:
    return landmarks.image[INDEX[name]]


def length(landmarks, a: str, b: str) -> float:
    return float(np.linalg.norm(landmarks.world[INDEX[a]] - landmarks.world[INDEX[b]]))


def inside(xy: np.ndarray, region) -> bool:
    x0, y0, x1, y1 = region
    return bool(x0 <= xy[0] <= x1 and y0 <= xy[1] <= y1)


def in_box(xy: np.ndarray, box_xywh: np.ndarray) -> bool:
    x, y, w, h = box_xywh
    return inside(xy, (x, y, x + w, y + h))


def check_contract(landmarks) -> None:
    assert landmarks.image.shape == (33, 2) and landmarks.world.shape == (33, 3)
    assert landmarks.visibility.shape == landmarks.presence.shape == (33,)
    for values in (landmarks.visibility, landmarks.presence, landmarks.confidence):
        assert np.all((values >= 0) & (values <= 1))
    assert np.isfinite(landmarks.image).all() and np.isfinite(landmarks.world).all()
    assert 0.5 <= landmarks.score <= 1


def check_upright_body(landmarks, box_xywh: np.ndarray) -> None:
    for side in ("left", "right"):
        assert point(landmarks, f"{side}_shoulder")[1] < point(landmarks, f"{side}_hip")[1]
        for joint in ("elbow", "wrist"):
            assert in_box(point(landmarks, f"{side}_{joint}"), box_xywh), f"{side}_{joint}"
    assert point(landmarks, "nose")[1] < min(point(landmarks, "left_shoulder")[1],
                                             point(landmarks, "right_shoulder")[1])


def test_landmarks_on_the_astronaut(model, people):
    image, box = people["astronaut.jpg"]
    landmarks = model.landmarks(image, box)
    check_contract(landmarks)
    check_upright_body(landmarks, box)
    nose = point(landmarks, "nose")
    assert inside(nose, ASTRONAUT_FACE) and np.linalg.norm(nose - ASTRONAUT_NOSE) < TOLERANCE_PX
    for name in ("left_eye", "right_eye"):
        assert inside(point(landmarks, name), ASTRONAUT_FACE) and point(landmarks, name)[1] < nose[1]
    for name, expected in ASTRONAUT_SHOULDERS.items():
        assert np.linalg.norm(point(landmarks, name) - expected) < TOLERANCE_PX, name


def test_landmarks_on_the_cameraman_seen_from_the_side(model, people):
    image, box = people["cameraman.png"]
    landmarks = model.landmarks(image, box)
    check_contract(landmarks)
    check_upright_body(landmarks, box)
    nose = point(landmarks, "nose")
    assert inside(nose, CAMERAMAN_FACE) and np.linalg.norm(nose - CAMERAMAN_NOSE) < TOLERANCE_PX
    assert inside(point(landmarks, "left_wrist"), CAMERAMAN_HANDS)
    assert inside(point(landmarks, "right_wrist"), CAMERAMAN_HANDS)
    assert point(landmarks, "right_knee")[1] > point(landmarks, "right_hip")[1] + 50  # he stands


@pytest.mark.parametrize("name", ["astronaut.jpg", "cameraman.png"])
def test_world_landmarks_have_body_sized_lengths(model, people, name):
    """Metres around the hips. BlazePose's limbs come out short of an adult's (upper arms 0.16-0.22 m on these
    photos), so the limits are wide enough for that and still reject any other unit or scale."""
    landmarks = model.landmarks(*people[name])
    assert 0.25 <= length(landmarks, "left_shoulder", "right_shoulder") <= 0.5
    for side in ("left", "right"):
        assert 0.12 <= length(landmarks, f"{side}_shoulder", f"{side}_elbow") <= 0.4
        assert 0.2 <= length(landmarks, f"{side}_hip", f"{side}_knee") <= 0.55
    hips = landmarks.world[[INDEX["left_hip"], INDEX["right_hip"]]]
    assert np.abs(hips.mean(axis=0)).max() < 0.02  # origin at the hips' centre


def test_world_axes_are_image_right_down_and_away_from_the_camera(model, people):
    """The astronaut faces the camera: her left side is on the image's right, the nose is above the hips and
    nearer the camera than they are."""
    world = model.landmarks(*people["astronaut.jpg"]).world
    assert world[INDEX["left_shoulder"], 0] - world[INDEX["right_shoulder"], 0] > 0.2
    assert world[INDEX["nose"], 1] < -0.3
    assert world[INDEX["nose"], 2] < -0.2


def test_a_person_seen_from_behind_behind_a_railing_is_seen(model, people):
    """The backpacker in ascent.png (from behind, legs hidden by the railing): the model's presence for his
    hand-drawn box is 0.24, for its mirror image 0.99. Head and shoulders then lie on him (that box: x 395-512,
    y 240-512) and above his hips."""
    found = model.landmarks(people["ascent.png"][0], np.array([395.0, 240.0, 117.0, 272.0]))
    assert found is not None and found.score >= 0.5
    for name in ("nose", "left_shoulder", "right_shoulder"):
        assert inside(point(found, name), (395, 240, 512, 512)), name
        assert point(found, name)[1] < min(point(found, "left_hip")[1], point(found, "right_hip")[1])


def test_the_mirror_image_read_back_matches_the_image(model, people):
    """decode.mirrored undoes a mirrored crop: the astronaut's landmarks from her mirror image, read back, lie
    where those from the image do (left stays left), and mirroring twice changes nothing."""
    image, box = people["astronaut.jpg"]
    roi = roi_from_box(box)
    crop = crop_roi(image, roi, INPUT_SIZE)
    plain, mirror = model._run(crop), decode.mirrored(model._run(np.ascontiguousarray(crop[:, ::-1])))
    body = slice(0, decode.BODY_POINTS)
    for name in ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_elbow", "nose"):
        assert np.abs(plain.unit_xy[INDEX[name]] - mirror.unit_xy[INDEX[name]]).max() < 0.03, name
    shoulders = [INDEX["left_shoulder"], INDEX["right_shoulder"]]
    assert np.abs(plain.world[body] - mirror.world[body])[shoulders, :2].max() < 0.06  # depth is the model's weakest
    twice = decode.mirrored(decode.mirrored(plain))
    np.testing.assert_allclose(twice.unit_xy, plain.unit_xy, atol=1e-12)
    np.testing.assert_array_equal(twice.world, plain.world)
    np.testing.assert_array_equal(twice.presence, plain.presence)


@pytest.mark.parametrize("image,box", [
    (read_image_rgb(SAMPLES / "rocket.jpg"), [0, 0, 640, 427]),
    (read_image_rgb(SAMPLES / "rocket.jpg"), [450, 200, 150, 200]),
    (np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8), [200, 100, 200, 300]),
    (np.full((300, 300, 3), 128, np.uint8), [50, 20, 150, 260]),
], ids=["rocket-frame", "rocket-ground", "noise", "flat-grey"])
def test_no_person_in_the_box_gives_none(model, image, box):
    assert model.landmarks(image, np.array(box, float)) is None


def landmarks_many(model: LandmarkModel, image_rgb: np.ndarray, boxes_xywh: np.ndarray) -> list[Landmarks | None]:
    """(K, 4+) boxes of one image (extra columns such as a detector score are ignored) -> K results, in order:
    one model serving several people in turn, as the pipeline uses it."""
    return [model.landmarks(image_rgb, box[:4]) for box in np.asarray(boxes_xywh, dtype=np.float64)]


def test_many_boxes_give_the_same_as_one_by_one(model, people):
    """The interpreter carries nothing from one person to the next: a result does not depend on who came before."""
    image, box = people["cameraman.png"]
    boxes = np.array([[*box, 0.9], [0, 0, 40, 40, 0.5]])
    many = landmarks_many(model, image, boxes)
    assert many[1] is None
    np.testing.assert_array_equal(many[0].image, model.landmarks(image, box).image)


def test_turned_frame_with_turned_region_gives_the_same_landmarks(model, people):
    """The cameraman photo turned 90 degrees clockwise, cropped with the region turned the same way: the crop is
    the same picture, so landmarks map back onto the upright result and world x/y turn with the image axes."""
    image, box = people["cameraman.png"]
    upright = model.landmarks(image, box)
    height = image.shape[0]
    turned_image = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)  # (x, y) -> (height - y, x)
    roi = roi_from_box(box)
    turned = model.landmarks_in_roi(turned_image, Roi(height - roi.cy, roi.cx, roi.side, np.pi / 2))
    back = np.stack([turned.image[:, 1], height - turned.image[:, 0]], axis=1)
    assert np.abs(back - upright.image).max() < 1.5
    world_back = np.stack([turned.world[:, 1], -turned.world[:, 0], turned.world[:, 2]], axis=1)
    assert np.abs(world_back - upright.world).max() < 0.01


def test_missing_model_file_is_a_user_error_naming_it(tmp_path):
    missing = tmp_path / "pose_landmark_full.tflite"
    with pytest.raises(UserError, match="pose_landmark_full.tflite"):
        LandmarkModel.load(missing)
    assert MODEL_PATH.is_file()


def test_region_from_a_box_is_the_enlarged_long_side_on_its_centre():
    roi = roi_from_box(np.array([10.0, 20.0, 100.0, 200.0]))
    assert (roi.cx, roi.cy, roi.side, roi.rotation) == (60.0, 120.0, ROI_SCALE * 200.0, 0.0)


@pytest.mark.parametrize("circle,rotation", [((0, -50), 0.0), ((50, 0), np.pi / 2), ((-50, 0), -np.pi / 2),
                                             ((0, 50), np.pi)])
def test_region_from_alignment_points_turns_the_circle_point_to_the_top(circle, rotation):
    centre = np.array([300.0, 200.0])
    roi = roi_from_alignment_points(centre, centre + circle)
    assert roi.side == pytest.approx(ROI_SCALE * 100) and roi.rotation == pytest.approx(rotation)
    top_centre = crop_to_image(np.array([[0.5, 0.5 - 1 / (2 * ROI_SCALE)]]), roi)[0]
    np.testing.assert_allclose(top_centre, centre + circle, atol=1e-9)


def test_crop_and_uncrop_are_inverse_and_match_opencv_sampling():
    roi = Roi(cx=70.3, cy=41.9, side=50.0, rotation=0.7)
    unit = np.random.default_rng(1).uniform(0, 1, (20, 2))
    affine = image_to_crop_affine(roi, 64)
    image_xy = crop_to_image(unit, roi)
    np.testing.assert_allclose(image_xy @ affine[:, :2].T + affine[:, 2], unit * 64, atol=1e-9)
    image = np.zeros((100, 120, 3), np.uint8)
    image[40, 71] = 255  # pixel centred on (71.5, 40.5)
    crop = crop_roi(image, roi, 64).astype(float)[..., 0]
    rows, cols = np.mgrid[:64, :64]
    centroid = np.array([(crop * cols).sum(), (crop * rows).sum()]) / crop.sum() + 0.5
    np.testing.assert_allclose(centroid, affine[:, :2] @ [71.5, 40.5] + affine[:, 2], atol=0.05)


def test_heatmap_refinement_moves_only_confident_points_to_the_peak():
    heatmap = np.full((64, 64, 2), -10.0)
    heatmap[20, 30, 0] = heatmap[20, 31, 0] = 5.0  # a confident peak between cells 30 and 31, row 20
    heatmap[40, 10, 1] = -1.0  # below the 0.5 confidence
    start = np.array([[31.4 / 64, 21.2 / 64], [10.2 / 64, 40.3 / 64]])
    refined = decode.refine_with_heatmap(start, heatmap)
    np.testing.assert_allclose(refined[0], [30.5 / 64, 20 / 64], atol=1e-3)
    np.testing.assert_array_equal(refined[1], start[1])
