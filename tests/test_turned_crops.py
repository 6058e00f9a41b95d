"""PARE shown turned people the right way up (`inference/turned_crops.py`): the detector says which way up each
person is, the tracker keeps it, the crop is turned by it and the network's answer is turned back."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inference.crop import CROP_SIZE, crop_affine, crop_person, square_box
from inference.estimate_job import run_estimate
from inference.models.rotation import axis_angle_to_rotmat
from inference.people.detector import PersonDetector
from inference.people.tracking import MIN_FRAMES, OnlineTracker, box_iou
from inference.sensitivity.person_frame import frame_and_person
from inference.turned_crops import picture_axes
from test_turned_people import QUALITY, mask_box, quality_frame
from clip_variants import rewrite_clip, turned_pixels  # noqa: E402 (bench/, on the path test_turned_people sets)
from weight_rule import REFERENCE, rule_state_dict

SMPL = REFERENCE / "synthetic_SMPL_NEUTRAL.pkl"

SIDE = 56  # the maps' side


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_a_crop_cut_turned_is_the_crop_of_the_picture_turned(turns):
    """Cut turned `turns` quarter turns, a person's crop is the crop of the picture turned clockwise that much
    (pixel (x, y) of a picture H rows high goes to (H - 1 - y, x) at each quarter), its box turned with it."""
    image, mask = quality_frame("walk", 0)
    square = square_box(mask_box(mask))
    picture, (x, y) = image, square[:2]
    for _ in range(turns):
        picture, (x, y) = np.rot90(picture, -1), (picture.shape[0] - 1 - y, x)
    turned = crop_person(image, square, turns=turns).astype(np.int16)
    cut = crop_person(np.ascontiguousarray(picture), np.array([x, y, *square[2:]])).astype(np.int16)
    assert np.abs(turned - cut).max() <= 1
    assert np.abs(turned - crop_person(image, square).astype(np.int16)).mean() > 20  # it is turned


def _normalised(affine: np.ndarray, point: np.ndarray) -> np.ndarray:
    """An image point as the crop camera's normalised position in the crop `affine` cuts (-1..1 across it)."""
    return (affine[:, :2] @ point + affine[:, 2]) / (CROP_SIZE / 2) - 1.0


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_the_answer_turned_back_lands_where_the_turned_crop_saw_it(turns):
    """A body point the network places where it saw an image point in the turned crop is, with the answer turned
    back, projected where that image point lies in the upright crop. The body model turns about its root joint
    (model points: J0 + G (X - J0)) and the crop camera moves its origin: s * (points_xy + t_xy)."""
    rng = np.random.default_rng(turns)
    root = axis_angle_to_rotmat(torch.from_numpy(rng.normal(size=(1, 3)).astype(np.float32))).numpy()[0]
    pose = np.repeat(np.eye(3, dtype=np.float32)[None, None], 24, axis=1)
    pose[0, 0] = root
    cam = np.array([[0.9, 0.12, -0.3]], np.float32)
    rest_root = np.array([[0.01, -0.22, 0.03]])
    outputs = {"pose_rotmat": pose, "crop_cam": cam, "betas": np.ones((1, 10), np.float32)}
    turned_back = picture_axes(outputs, np.array([turns]), rest_root)
    box = np.array([300.0, 200.0, 180.0, 180.0])
    for point in rng.uniform(220, 380, size=(3, 2)):
        seen = _normalised(crop_affine(box, turns=turns), point)  # where the network saw the point
        placed_there = np.append(seen / cam[0, 0] - cam[0, 1:], 0.7)  # a model point it put there
        body = rest_root[0] + root.T @ (placed_there - rest_root[0])  # that point of the body at rest
        model = rest_root[0] + turned_back["pose_rotmat"][0, 0] @ (body - rest_root[0])
        placed = turned_back["crop_cam"][0, 0] * (model[:2] + turned_back["crop_cam"][0, 1:])
        np.testing.assert_allclose(placed, _normalised(crop_affine(box), point), atol=1e-5)
    np.testing.assert_array_equal(turned_back["pose_rotmat"][0, 1:], pose[0, 1:])  # joints relative to parents
    np.testing.assert_array_equal(turned_back["betas"], outputs["betas"])
    np.testing.assert_array_equal(outputs["pose_rotmat"][0, 0], root)  # the caller's arrays are left alone


def _moved_pixel(turns: int, row: int, col: int) -> tuple[int, int]:
    """Where a SIDE x SIDE map's pixel (row, col) lies once the map is turned `turns` quarter turns clockwise."""
    marked = np.zeros((SIDE, SIDE), np.uint8)
    marked[row, col] = 1
    rows, cols = np.nonzero(np.rot90(marked, -turns))
    return int(rows[0]), int(cols[0])


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_maps_are_turned_back_pixel_for_pixel(turns):
    row, col = 7, 44
    maps = np.zeros((2, 24, SIDE, SIDE), np.float16)
    maps[0, 3][_moved_pixel(turns, row, col)] = 1.0  # crop 0 was turned, crop 1 was not
    maps[1, 3, row, col] = 1.0
    back = picture_axes({"part_attention": maps}, np.array([turns, 0]), np.zeros((2, 3)))["part_attention"]
    assert back[0, 3, row, col] == 1.0 and back[0].sum() == 1.0
    np.testing.assert_array_equal(back[1], maps[1])


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_the_detector_says_which_way_up_a_turned_person_stands(turns):
    """The walker of the quality clip in the picture turned `turns` quarter turns clockwise is found in the
    picture turned back, and the box says so: turning their crop that way stands them upright."""
    image, mask = quality_frame("walk", 0)
    picture = np.ascontiguousarray(np.rot90(image, -turns))
    person = mask_box(np.rot90(mask, -turns))
    found = PersonDetector.load().detect(picture, scan=True)
    on_person = [row for row in found if box_iou(row[None, :4], person[None])[0, 0] > 0.5]
    assert on_person and on_person[0][5] == (-turns) % 4
    upright = PersonDetector.load().detect(image, scan=True)
    assert upright[0][5] == 0


def test_the_tracker_keeps_the_way_up_its_strong_boxes_say():
    tracker = OnlineTracker()
    box = [100.0, 100.0, 200.0, 80.0]
    for frame in range(MIN_FRAMES):
        tracker.update(frame, np.array([[*box, 0.8, 1.0]]))
    assert tracker.turns(0) == 1
    tracker.update(MIN_FRAMES, np.zeros((0, 6)), weak=np.array([[*box, 0.3, 0.0]]))  # an upright pass's weak box
    assert tracker.frames_seen(0) == MIN_FRAMES + 1 and tracker.turns(0) == 1, "taken, but it has no say"
    tracker.update(MIN_FRAMES + 1, np.array([[*box, 0.8]]))  # five columns: found upright
    assert tracker.turns(0) == 0
    assert tracker.turns(7) == 0  # unknown track


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "model_checkpoint.pt"
    torch.save({"model": rule_state_dict("hmr_spin_state_dict.tsv")}, path)
    return path


def _joints2d(clip: Path, checkpoint: Path, out: Path) -> tuple[np.ndarray, np.ndarray]:
    run_estimate(clip, out, dict(checkpoint=str(checkpoint), smpl=str(SMPL), device="cpu", frame_range="0:8"))
    result = np.load(out, allow_pickle=False)
    return result["person_0/frame"], result["person_0/joints2d"]


@pytest.mark.parametrize("degrees", [90, 270])
def test_a_crop_network_estimates_a_turned_person_as_it_does_upright(checkpoint, tmp_path, degrees):
    """The whole job with a crop network (rule-filled weights: a plumbing check, the poses mean nothing) on the
    walker's clip turned a quarter: the body lands where the upright clip's, turned with the picture, does
    (with these weights it is about 120 px tall). Given the upright crop of the person lying down it landed
    140-150 px away; with the crop turned but the body turned back about the model's origin instead of its root
    joint, 22-28; now 4-5, what the detector's boxes of the two clips differ by."""
    clip = QUALITY / "walk.mp4"
    frames, upright = _joints2d(clip, checkpoint, tmp_path / "upright.npz")
    turned_clip = rewrite_clip(clip, tmp_path / "turned.avi", lambda frame: np.rot90(frame, -(degrees // 90)),
                               codec="MJPG")
    turned_frames, read = _joints2d(turned_clip, checkpoint, tmp_path / "turned.npz")
    height, width = cv2.VideoCapture(str(clip)).read()[1].shape[:2]
    common = np.intersect1d(frames, turned_frames)
    assert len(common) >= 6
    expected, _ = turned_pixels(upright[np.searchsorted(frames, common)].reshape(-1, 2), degrees // 90,
                                (height, width))
    misses = np.linalg.norm(read[np.searchsorted(turned_frames, common)].reshape(-1, 2) - expected, axis=1)
    assert np.median(misses) < 12.0


def test_the_sensitivity_command_takes_a_turned_person_the_way_up_the_detector_found_them(tmp_path):
    """`sensitivity` on a photo of the walker turned a quarter clockwise: the person's box says to turn their crop
    back a quarter, as the estimate job does."""
    image, _ = quality_frame("walk", 0)
    photo = tmp_path / "turned.png"
    cv2.imwrite(str(photo), np.ascontiguousarray(np.rot90(image, -1))[..., ::-1])
    _, person, _ = frame_and_person(str(photo), 0, None, None)
    assert person.turns == 3
    _, upright, _ = frame_and_person(str(QUALITY / "walk.mp4"), 0, None, None)
    assert upright.turns == 0
