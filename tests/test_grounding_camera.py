"""Camera rotation from the background with the people masked out (inference/grounding camera_motion.py),
on a rendered panning shot, and the whole grounding of a walk filmed by that panning camera (take.py)."""
import cv2
import numpy as np
import pytest

from inference.grounding import camera_motion, metrics, synthetic
from inference.grounding.camera_motion import (REFIND_BELOW, CameraMotionTracker, estimate_camera_motion,
                                               person_mask)
from inference.grounding.rotations import rotation_angle_deg
from inference.grounding.take import ground_take

SMALL = {"focal_px": 400.0, "image_size": (320, 240)}


@pytest.fixture(scope="module")
def panning():
    clip = synthetic.film(num_frames=90, panning=True, **SMALL)
    frames, masks = synthetic.render_background(clip)
    return clip, frames, masks, estimate_camera_motion(frames, masks, clip.focal_px)


def true_turns(clip):
    return np.swapaxes(clip.world_from_camera[0], -1, -2) @ clip.world_from_camera


def test_panning_camera_rotation_is_recovered_within_two_degrees(panning):
    clip, _, _, motion = panning
    truth = true_turns(clip)
    assert rotation_angle_deg(truth).max() > 10.0  # the camera really pans
    errors = rotation_angle_deg(np.swapaxes(motion.reference_from_camera, -1, -2) @ truth)
    assert errors.max() < 2.0 and not motion.static
    assert motion.still[0] and not motion.still[1:].any() and motion.tracked[1:].min() >= 20


def test_static_camera_gives_exact_identity():
    clip = synthetic.film(num_frames=12, panning=False, **SMALL)
    frames, masks = synthetic.render_background(clip)  # the person still moves across the picture
    assert not np.array_equal(masks[0], masks[-1])
    noisy = np.clip(frames + np.random.default_rng(0).normal(0, 2.0, frames.shape), 0, 255).astype(np.uint8)
    motion = estimate_camera_motion(noisy, masks, clip.focal_px)
    assert motion.static and np.array_equal(motion.reference_from_camera, np.tile(np.eye(3), (12, 1, 1)))


def test_colour_frames_and_a_blank_background_are_handled():
    clip = synthetic.film(num_frames=3, panning=True, **SMALL)
    frames, masks = synthetic.render_background(clip)
    colour = estimate_camera_motion(np.repeat(frames[..., None], 3, axis=-1), masks, clip.focal_px)
    assert rotation_angle_deg(np.swapaxes(colour.reference_from_camera, -1, -2) @ true_turns(clip)).max() < 2.0
    blank = estimate_camera_motion(np.full((3, 240, 320), 128, np.uint8), [None] * 3, clip.focal_px)
    assert blank.static and blank.tracked.max() == 0


def test_tracker_fed_with_a_stride_answers_for_every_source_frame(panning):
    clip, frames, masks, motion = panning
    tracker = CameraMotionTracker(clip.focal_px)
    assert tracker.result().static and tracker.result().frames.shape == (0,)
    for index in range(0, 90, 3):
        tracker.add(index, frames[index], masks[index])
    strided = tracker.result()
    assert np.array_equal(strided.frames, np.arange(0, 90, 3))
    errors = rotation_angle_deg(np.swapaxes(strided.at(np.arange(0, 90, 3)), -1, -2) @ true_turns(clip)[::3])
    assert errors.max() < 2.0
    assert np.array_equal(strided.at([4, 5]), strided.reference_from_camera[[1, 1]])


def test_corners_are_followed_on_and_found_again_only_when_few_survive(panning, monkeypatch):
    clip, frames, masks, motion = panning
    finds = []
    find = cv2.goodFeaturesToTrack
    monkeypatch.setattr(camera_motion.cv2, "goodFeaturesToTrack", lambda *a, **k: finds.append(1) or find(*a, **k))
    again = estimate_camera_motion(frames, masks, clip.focal_px)
    assert 1 <= len(finds) <= len(frames) // 10  # the pan carries corners out of the picture: found again a few times
    assert np.array_equal(again.reference_from_camera, motion.reference_from_camera)


def test_followed_corners_that_a_person_now_covers_are_dropped(panning):
    _, frames, masks, _ = panning
    outside = cv2.goodFeaturesToTrack(frames[0], 300, 0.01, 8, mask=np.where(masks[0], 0, 255).astype(np.uint8))[:, 0]
    inside = np.argwhere(masks[0])[::50, ::-1].astype(np.float32)  # (x, y) on the person
    assert len(outside) >= REFIND_BELOW and len(inside) >= 20
    before, _ = camera_motion._track(frames[0], frames[1], masks[0], np.concatenate([outside, inside]))
    column, row = np.rint(before).astype(int).T
    assert len(before) >= 0.9 * len(outside) and not masks[0][row, column].any()
    all_covered, _ = camera_motion._track(frames[0], frames[1], masks[0], inside)  # too few left: found afresh
    column, row = np.rint(all_covered).astype(int).T
    assert len(all_covered) >= REFIND_BELOW and not masks[0][row, column].any()


def test_person_mask_covers_the_padded_boxes_inside_the_image():
    mask = person_mask(np.array([[10.0, 20.0, 50.0, 100.0], [300.0, 200.0, 40.0, 80.0]]), (320, 240), 0.1)
    assert mask.shape == (240, 320)
    assert mask[10, 5] and mask[129, 64] and not mask[131, 66] and not mask[5, 5]
    assert mask[239, 319] and mask[192, 296] and not mask[150, 290]


def test_walk_filmed_by_a_panning_camera_keeps_its_world_trajectory(panning):
    clip, _, _, motion = panning
    estimate = synthetic.noisy_estimate(clip, depth_jitter_m=0.03, rotation_noise_deg=2.0, seed=2)
    take = ground_take([estimate], clip.fps, clip.focal_px, camera_motion=motion)
    person = take.people[0]
    truth = clip.joints_world[:, 0]
    assert metrics.trajectory_error_m(person.joints[:, 0], truth) < 0.10
    assert metrics.trajectory_error_m(person.locked.joints[:, 0], truth) < 0.10
    assert metrics.foot_skate_mm(person.locked.joints[:, [7, 10, 8, 11]]) <= 5.0
    # Ignoring the pan turns it into body motion: the check above is not met by chance.
    fixed = ground_take([estimate], clip.fps).people[0]
    assert metrics.trajectory_error_m(fixed.joints[:, 0], truth) > 0.3
    # Every frame's camera, placed in the world, still sees each joint on its pixel.
    assert take.camera_to_world.shape == (90, 4, 4) and np.array_equal(take.camera_frames, np.arange(90))
    poses = take.camera_to_world[estimate.frames]
    seen = np.einsum("nji,nkj->nki", poses[:, :3, :3], person.joints - poses[:, None, :3, 3])
    assert np.allclose(seen, estimate.joints3d, atol=1e-9)
