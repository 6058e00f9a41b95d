"""The motion-quality benchmark's metrics (bench/quality_metrics.py) on data whose answers are known."""
import pathlib
import sys

import numpy as np
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "bench"))
from bench_quality import DATA, evaluate, evaluate_landmarks, read_truth  # noqa: E402
from clip_variants import turned_truth, with_lens_error  # noqa: E402
from quality_metrics import (LIMB_JOINTS, absolute_mpjpe, acceleration_error, jitter,  # noqa: E402
                             joints_on_person, pa_mpjpe, root_aligned_mpjpe, to_world)


def test_metrics_give_the_known_answers():
    rng = np.random.default_rng(3)
    frames = np.array([0, 1, 2, 3, 4, 10, 11, 12, 13, 14])  # two runs of five, a gap between them
    truth = rng.normal(0.0, 0.3, (len(frames), 24, 3))
    turns = Rotation.random(len(frames), random_state=4).as_matrix()

    # A rotated, scaled and moved copy is the same pose: 0 after alignment, not 0 before it.
    copy = 1.3 * np.einsum("tij,tnj->tni", turns, truth) + rng.normal(0, 1, (len(frames), 1, 3))
    assert pa_mpjpe(copy, truth) < 1e-6 and pa_mpjpe(copy, truth, LIMB_JOINTS) < 1e-6
    assert root_aligned_mpjpe(copy, truth) > 100
    # A mirrored copy is not the same pose (no reflection is allowed).
    assert pa_mpjpe(truth * [-1, 1, 1], truth) > 10

    # Moving the whole body by 3-4-0 cm costs 50 mm in the world and nothing once the pelvises are aligned.
    moved = truth + [0.03, 0.04, 0.0]
    assert np.isclose(absolute_mpjpe(moved, truth), 50.0) and root_aligned_mpjpe(moved, truth) < 1e-9

    # One joint of 24 accelerating at 2 mm/frame^2 (x = t^2 mm) inside each run; across the gap the jump
    # between the runs must not count.
    time = np.where(frames >= 10, frames - 10, frames).astype(float)
    accelerating = truth.copy()
    accelerating[:, 5, 0] += 1e-3 * time ** 2
    assert np.isclose(acceleration_error(accelerating, truth, frames), 2.0 / 24)
    assert np.isnan(acceleration_error(truth[:2], truth[:2], frames[:2]))  # nothing to differentiate

    # Jitter: a still body has none; one joint on x = t^3 mm has a jerk of 6 mm/frame^3.
    still = np.repeat(truth[:1], len(frames), axis=0)
    shaking = still.copy()
    shaking[:, 7, 1] += 1e-3 * time ** 3
    assert jitter(still, frames) < 1e-9 and np.isclose(jitter(shaking, frames), 6.0 / 24)

    # Joints on the person's mask: half of them inside the box, one outside the image.
    masks = np.zeros((1, 40, 60), bool)
    masks[0, 10:30, 20:40] = True
    joints_2d = np.array([[[25, 15], [39.4, 29.4], [10, 15], [500, -3]]], float)
    assert np.allclose(joints_on_person(joints_2d, masks), [0.5])
    # Counting only the joints the truth has in the picture: the one rightly outside no longer counts against.
    assert np.allclose(joints_on_person(joints_2d, masks, np.array([[True, True, True, False]])), [2 / 3])
    assert np.allclose(joints_on_person(joints_2d, masks, np.zeros((1, 4), bool)), [0.0])

    # The camera's transform undone: camera-frame points back in the world.
    translation = rng.normal(0, 1, (len(frames), 3))
    in_camera = np.einsum("tij,tnj->tni", turns, truth) + translation[:, None]
    assert np.allclose(to_world(in_camera, turns, translation), truth)

    # The benchmark follows a person whose track broke in two, and counts a ghost's frames as off the person.
    masks = np.zeros((len(frames), 40, 60), bool)
    masks[:, 5:35, 10:50] = True
    on_mask = rng.uniform([12, 7], [48, 33], (len(frames), 24, 2))
    clip = {"mask": masks, "joints_world": in_camera, "camera_rotation": np.tile(np.eye(3), (len(frames), 1, 1)),
            "camera_translation": np.zeros((len(frames), 3)), "joints_2d": on_mask,
            "visible": np.ones((len(frames), 24), bool)}
    first, second = [{"frame": part, "joints3d": in_camera[part], "joints2d": on_mask[part]}
                     for part in (np.arange(0, 6), np.arange(6, len(frames)))]
    ghost = {"frame": np.arange(3), "joints3d": in_camera[:3] + 1.0, "joints2d": on_mask[:3] + [100, 0]}
    figures = evaluate([first, ghost, second], clip)
    assert figures["bodies"] == 3 and figures["coverage"] == 1.0 and figures["off-person"] == 3
    assert figures["PA all"] < 1e-6 and figures["abs all"] < 1e-9 and figures["accel"] < 1e-9
    assert figures["px limbs"] < 1e-9

    # The landmark model's reference is scored on the same frames: its 12 limb points in any frame and scale
    # are the pose itself; a track whose points miss the person counts off it.
    limbs = {"frame": np.arange(len(frames)), "world": 2.0 * copy[:, LIMB_JOINTS],
             "joints2d": on_mask[:, LIMB_JOINTS] + [1.0, 0.0]}
    stray = {"frame": np.arange(2), "world": copy[:2, LIMB_JOINTS], "joints2d": on_mask[:2, LIMB_JOINTS] + [100, 0]}
    figures = evaluate_landmarks([stray, limbs], {**clip, "joints_world": truth})
    assert figures["bodies"] == 2 and figures["coverage"] == 1.0 and figures["off-person"] == 2
    assert figures["PA limbs"] < 1e-6 and np.isclose(figures["px limbs"], 1.0)
    assert "accel" not in figures and "PA all" not in figures


def test_a_lens_error_changes_what_the_estimate_is_told_not_the_truth():
    truth = {"meta": {"clip": "walk", "focal_length_px": 734.3}, "joints_world": np.zeros((2, 24, 3))}
    wrong = with_lens_error(truth, 0.6)
    assert wrong["meta"]["clip"] == "walk lens x0.6"
    assert np.isclose(wrong["meta"]["assumed_focal_length_px"], 0.6 * 734.3)
    assert wrong["meta"]["focal_length_px"] == 734.3 and wrong["joints_world"] is truth["joints_world"]
    assert "assumed_focal_length_px" not in truth["meta"]  # the clip's own rows are untouched


def test_a_turned_clip_has_its_truth_turned_with_it():
    """Turned by quarters, the truth stays one camera's view of one world: its pixels are its camera-frame joints
    projected about the turned picture's centre, and those are the world's joints seen by the turned camera."""
    truth = read_truth(DATA / "walk_truth.npz")
    focal = truth["meta"]["focal_length_px"]
    for degrees in (90, 180, 270, 360):
        turned = turned_truth(truth, degrees)
        camera = turned["joints_camera"]
        centre = np.array([turned["meta"]["image_width"], turned["meta"]["image_height"]]) / 2
        np.testing.assert_allclose(turned["joints_2d"], focal * camera[..., :2] / camera[..., 2:] + centre,
                                   atol=0.05)
        seen = np.einsum("tij,tkj->tki", turned["camera_rotation"], truth["joints_world"])
        np.testing.assert_allclose(seen + turned["camera_translation"][:, None], camera, atol=1e-4)
        assert turned["mask"].shape[1:] == (turned["meta"]["image_height"], turned["meta"]["image_width"])
    assert turned_truth(truth, 90)["meta"]["image_width"] == truth["meta"]["image_height"]
    np.testing.assert_allclose(turned_truth(truth, 360)["joints_2d"], truth["joints_2d"], atol=1e-4)
