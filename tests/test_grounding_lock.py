"""Foot contact and foot locking (inference/grounding contact.py, foot_lock.py, leg_ik.py, take.py) on a
synthetic walk whose feet are truly planted, estimated with monocular-like noise."""
import numpy as np
import pytest
import torch

from inference.fitting.kinematics import forward_kinematics
from inference.grounding import metrics, synthetic
from inference.grounding.contact import (FOOT_POINT_JOINTS, contact_probability, image_speed_in_metres,
                                         planted_heights)
from inference.grounding.foot_lock import FootLockParams, global_rotations, lock_feet, lock_targets, plants
from inference.grounding.leg_ik import MIN_BEND_DEG, knee_bend_deg, two_bone_ik
from inference.grounding.take import ground_take

LEGS = ((1, 4, 7, 10), (2, 5, 8, 11))


@pytest.fixture(scope="module")
def clip():
    return synthetic.film(num_frames=90, panning=False)


@pytest.fixture(scope="module")
def grounded(clip):
    estimate = synthetic.noisy_estimate(clip, depth_jitter_m=0.03, rotation_noise_deg=2.0, seed=1)
    return estimate, ground_take([estimate], clip.fps)


def pixels(take, world_joints, focal):
    seen = take.world.camera_points(world_joints)
    return focal * seen[..., :2] / seen[..., 2:]


def planted_speed_mm(joints, planted):
    feet = joints[:, FOOT_POINT_JOINTS]
    moves = np.linalg.norm(np.diff(feet[..., :2], axis=0), axis=-1) * 1000.0
    return float(np.median(moves[planted[1:] & planted[:-1]]))


def test_contact_probability_finds_the_planted_feet(clip, grounded):
    _, take = grounded
    contact = take.people[0].contact
    assert contact.shape == (90, 4) and contact.min() >= 0.0 and contact.max() <= 1.0
    assert np.mean((contact > 0.5) == clip.planted) > 0.9
    # Exact motion: swinging feet far above their planted height are never in contact.
    feet = clip.joints_world[:, FOOT_POINT_JOINTS]
    exact = contact_probability(feet, clip.frames, clip.fps)
    lifted = feet[..., 2] > planted_heights(feet[..., 2], clip.frames, clip.fps) + 0.06
    assert exact[lifted].max() < 0.05 and np.median(exact[clip.planted]) > 0.9


def test_image_evidence_helps_where_depth_jitter_hides_a_planted_foot(clip):
    # 15 cm of depth jitter makes planted feet look as if they moved; the picture says they did not.
    estimate = synthetic.noisy_estimate(clip, depth_jitter_m=0.15, rotation_noise_deg=2.0, seed=1)
    feet = ground_take([estimate], clip.fps).people[0].joints[:, FOOT_POINT_JOINTS]
    seen = clip.joints_camera[:, FOOT_POINT_JOINTS]  # a static camera: image positions need no stabilising
    image_speed = image_speed_in_metres(clip.focal_px * seen[..., :2] / seen[..., 2:], seen[..., 2],
                                        clip.focal_px, clip.frames, clip.fps)
    assert np.median(image_speed[clip.planted]) < 0.05 and np.median(image_speed[~clip.planted]) > 0.5
    without = contact_probability(feet, clip.frames, clip.fps)
    with_2d = contact_probability(feet, clip.frames, clip.fps, image_speed=image_speed)
    assert np.mean(with_2d[clip.planted]) > np.mean(without[clip.planted]) + 0.1
    assert np.mean((with_2d > 0.5) == clip.planted) > np.mean((without > 0.5) == clip.planted) + 0.05


def test_ground_take_uses_the_picture_as_2d_evidence_when_given_the_focal_length(clip):
    estimate = synthetic.noisy_estimate(clip, depth_jitter_m=0.15, rotation_noise_deg=2.0, seed=1)
    without = ground_take([estimate], clip.fps).people[0].contact
    with_2d = ground_take([estimate], clip.fps, clip.focal_px).people[0].contact
    assert np.mean(with_2d[clip.planted]) > np.mean(without[clip.planted]) + 0.1
    assert np.mean((with_2d > 0.5) == clip.planted) > np.mean((without > 0.5) == clip.planted) + 0.05


def test_speed_is_per_second_so_a_stride_does_not_change_contact(clip):
    feet = clip.joints_world[:, FOOT_POINT_JOINTS]
    every_other = contact_probability(feet[::2], clip.frames[::2], clip.fps)
    every = contact_probability(feet, clip.frames, clip.fps)
    assert np.mean((every_other > 0.5) == (every[::2] > 0.5)) > 0.9


def test_locked_feet_stay_put_and_on_the_floor(clip, grounded):
    _, take = grounded
    person = take.people[0]
    unlocked, locked = person.joints, person.locked.joints
    assert planted_speed_mm(unlocked, clip.planted) > 20.0  # the noise does make the feet slide...
    assert planted_speed_mm(locked, clip.planted) <= 5.0  # ...and locking removes it
    feet = locked[:, FOOT_POINT_JOINTS]
    assert metrics.foot_skate_mm(feet) <= 5.0 and metrics.ground_contact_share(feet) >= 0.2
    penetration, floating = metrics.penetration_and_float_mm(feet)
    assert penetration < 10.0 and floating < 10.0


def test_locking_keeps_the_reprojection_near_the_unlocked_estimate(clip, grounded):
    estimate, take = grounded
    person = take.people[0]
    observed = clip.focal_px * clip.joints_camera[..., :2] / clip.joints_camera[..., 2:]
    unlocked_px = pixels(take, person.joints, clip.focal_px)
    locked_px = pixels(take, person.locked.joints, clip.focal_px)
    assert np.allclose(unlocked_px, clip.focal_px * estimate.joints3d[..., :2] / estimate.joints3d[..., 2:])
    assert np.linalg.norm(locked_px - unlocked_px, axis=-1).mean() < 3.0
    unlocked_error = np.linalg.norm(unlocked_px - observed, axis=-1).mean()
    assert np.linalg.norm(locked_px - observed, axis=-1).mean() < unlocked_error + 0.5


def correction_steps(clip, params):
    """Lock the true walk made to slide forward 3 mm per frame -> the largest per-frame change (m / frame) and
    change of change (m / frame^2) of the correction that locking applies, and the largest acceleration of the
    locked joints over that of the input."""
    slide = np.zeros((90, 1, 3))
    slide[:, 0, 0] = 0.003 * np.arange(90)
    joints = clip.joints_world + slide
    feet = joints[:, FOOT_POINT_JOINTS]
    contact = contact_probability(feet, clip.frames, clip.fps)
    locked = lock_feet(clip.pose_rotmat_world, joints, contact, params=params)
    assert planted_speed_mm(locked.joints, clip.planted) < 1.0
    assert np.any((locked.lock_weights > 0) & (locked.lock_weights < 1)) == (params.blend_frames > 0)
    correction = locked.joints - joints
    peak = np.linalg.norm(np.diff(locked.joints, 2, axis=0), axis=-1).max()
    return (np.linalg.norm(np.diff(correction, axis=0), axis=-1).max(),
            np.linalg.norm(np.diff(correction, 2, axis=0), axis=-1).max(),
            peak / np.linalg.norm(np.diff(joints, 2, axis=0), axis=-1).max())


def test_no_pops_when_locks_blend_in_and_out(clip):
    # Locks that switch on and off at once jump the body by centimetres within a frame; fades do not, and the
    # locked motion accelerates no harder than the walk itself.
    step, jerk, peak_ratio = correction_steps(clip, FootLockParams())
    assert step < 0.04 and jerk < 0.06 and peak_ratio < 1.1
    sudden_step, sudden_jerk, _ = correction_steps(clip, FootLockParams(blend_frames=0))
    assert sudden_step > 0.06 and sudden_jerk > 0.09


def test_knees_never_hyper_extend_and_the_pose_is_a_real_pose(clip, grounded):
    estimate, take = grounded
    locked = take.people[0].locked
    rotations = global_rotations(locked.pose_rotmat)
    for hip, knee, ankle, _ in LEGS:
        thigh = locked.joints[:, knee] - locked.joints[:, hip]
        shin = locked.joints[:, ankle] - locked.joints[:, knee]
        assert knee_bend_deg(locked.joints[:, hip], locked.joints[:, knee], locked.joints[:, ankle]).min() >= (
            MIN_BEND_DEG - 1e-6)
        # SMPL's knee flexes by a positive turn about its own x axis: thigh x shin points along that axis.
        assert np.all(np.sum(np.cross(thigh, shin) * rotations[:, knee, :, 0], axis=-1) > 0.0)
    # The locked rotations, posed by SMPL's forward kinematics, give exactly the locked joints.
    rest = torch.from_numpy(np.broadcast_to(clip.rest_joints, (90, 24, 3)).copy())
    posed, _ = forward_kinematics(torch.from_numpy(locked.pose_rotmat), rest)
    root_shift = locked.joints[:, :1] - posed.numpy()[:, :1]
    assert np.allclose(posed.numpy() + root_shift, locked.joints, atol=1e-9)
    assert np.allclose(np.linalg.det(locked.pose_rotmat), 1.0)


def test_locking_is_switchable_and_leaves_the_unlocked_motion(clip, grounded):
    estimate, take = grounded
    off = ground_take([estimate], clip.fps, foot_lock=False)
    assert off.people[0].locked is None and off.people[0].locked_translation is None
    assert np.array_equal(off.people[0].joints, take.people[0].joints)
    assert np.allclose(take.people[0].locked_translation - take.people[0].translation,
                       take.people[0].locked.joints[:, 0] - take.people[0].joints[:, 0])


def test_a_flickering_contact_makes_one_plant_and_fades_follow_the_point():
    points = np.zeros((30, 1, 3))
    points[:, 0, 0] = np.linspace(0.0, 0.29, 30)  # sliding 1 cm per frame
    contact = np.zeros((30, 1))
    contact[8:22, 0] = 1.0
    contact[14, 0] = 0.0
    params = FootLockParams(blend_frames=4)
    assert plants(contact, params) == [[(8, 22)]]
    weights, goals = lock_targets(points, contact, params)
    full = weights[:, 0] == 1.0
    assert full[10:20].all() and np.ptp(goals[full, 0, 0]) == 0.0  # one spot while fully held
    assert np.array_equal(goals[weights[:, 0] == 0], points[weights[:, 0] == 0])
    # While fading out, the goal moves with the point (1 cm per frame) less a shrinking constant offset.
    fading = np.flatnonzero((weights[:, 0] > 0) & (weights[:, 0] < 1) & (np.arange(30) > 15))
    steps = np.diff(goals[fading, 0, 0])
    assert np.all(steps > 0.0) and np.all(steps < 0.03)


def test_two_bone_ik_reaches_keeps_lengths_and_stops_short_of_straight():
    hip = np.zeros((2, 3))
    knee = np.array([[0.0, 0.05, -0.4], [0.0, 0.05, -0.4]])
    ankle = np.array([[0.0, 0.0, -0.8], [0.0, 0.0, -0.8]])
    target = np.array([[0.2, 0.1, -0.6], [0.0, 0.0, -2.0]])
    forward = np.tile([0.0, 1.0, 0.0], (2, 1))
    new_knee, new_ankle = two_bone_ik(hip, knee, ankle, target, forward)
    assert np.allclose(new_ankle[0], target[0])
    assert np.allclose(np.linalg.norm(new_knee - hip, axis=-1), np.linalg.norm(knee - hip, axis=-1))
    assert np.allclose(np.linalg.norm(new_ankle - new_knee, axis=-1), np.linalg.norm(ankle - knee, axis=-1))
    assert np.isclose(knee_bend_deg(hip, new_knee, new_ankle)[1], MIN_BEND_DEG)
    assert new_knee[1, 1] > 0  # out of reach: pointing at the target, the knee still bent forward
    assert np.allclose(np.cross(new_ankle[1], target[1]), 0.0)


def test_two_bone_ik_leaves_a_chain_asked_to_stay_and_mirrors_a_backward_knee():
    hip = np.zeros((2, 3))
    knee = np.array([[0.0, 0.05, -0.4], [0.0, -0.05, -0.4]])  # the second knee bends backwards
    ankle = np.array([[0.0, 0.0, -0.8], [0.0, 0.0, -0.8]])
    forward = np.tile([0.0, 1.0, 0.0], (2, 1))
    new_knee, new_ankle = two_bone_ik(hip, knee, ankle, ankle, forward)
    assert np.allclose(new_ankle, ankle) and np.allclose(new_knee[0], knee[0])
    assert np.allclose(new_knee[1], [0.0, 0.05, -0.4])
