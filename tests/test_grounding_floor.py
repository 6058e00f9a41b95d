"""The floor and the Z-up world found from the people (inference/grounding floor.py, world_frame.py), on a
synthetic walk with planted feet filmed by a tilted, rolled camera."""
import numpy as np
import pytest
import torch

from contract.errors import UserError
from inference.fitting.kinematics import forward_kinematics
from inference.grounding import synthetic
from inference.grounding.contact import FOOT_POINT_JOINTS
from inference.grounding.floor import FloorHint, estimate_floor, parse_floor_hint
from inference.grounding.take import PersonEstimate, ground_take
from inference.grounding.world_frame import (blender_camera_matrices, body_in_world, camera_poses,
                                             world_frame_from_floor)

TOE_JOINTS = [10, 11]


@pytest.fixture(scope="module")
def clip():
    return synthetic.film(num_frames=90, panning=False)


def true_up_in_camera(clip):
    return clip.world_from_camera[0].T @ np.array([0.0, 0.0, 1.0])


def angle_deg(a, b):
    return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


@pytest.mark.parametrize("depth_jitter, rotation_noise", [(0.0, 0.0), (0.03, 2.0)])
def test_floor_normal_and_height_recovered_from_the_feet(clip, depth_jitter, rotation_noise):
    estimate = synthetic.noisy_estimate(clip, depth_jitter, rotation_noise, seed=3)
    fit = estimate_floor([estimate.joints3d])
    assert angle_deg(fit.plane.normal, true_up_in_camera(clip)) < 2.0
    # The floor passes through the lowest foot joints: the true planted toes stand on it.
    planted_toes = clip.joints_camera[:, TOE_JOINTS][clip.planted[:, [1, 3]]]
    assert abs(np.median(fit.plane.height(planted_toes))) < 0.02
    assert fit.inlier_fraction > 0.5 and abs(fit.person_levels[0]) < 1e-9


def test_a_straight_walk_leans_on_the_bodies_up_axis_and_outliers_are_trimmed(clip):
    # Only part of the take (nearly straight) plus frames where the estimate put the feet 40 cm too low.
    joints = clip.joints_camera[:30].copy()
    up = true_up_in_camera(clip)
    joints[::10] -= 0.4 * up
    fit = estimate_floor([joints])
    assert angle_deg(fit.plane.normal, up) < 2.0
    assert abs(np.median(fit.plane.height(joints[1:10, TOE_JOINTS].reshape(-1, 3)).min())) < 0.02


def test_hint_fixes_the_up_direction_and_feet_still_give_the_height(clip):
    level = synthetic.look_at(np.zeros(3), np.array([[0.0, 5.0, 0.0]]), 0.0)[0]
    assert np.allclose(FloorHint().up_in_camera(), [0.0, -1.0, 0.0])
    pitched = synthetic.look_at(np.zeros(3), np.array([[0.0, 5.0, -5.0 * np.tan(np.radians(20))]]), 0.0)[0]
    assert angle_deg(FloorHint(pitch_deg=20).up_in_camera(), pitched.T @ [0, 0, 1.0]) < 1e-6
    assert angle_deg(level.T @ [0, 0, 1.0], FloorHint().up_in_camera()) < 1e-6
    camera_pitch = np.degrees(np.arcsin(-clip.world_from_camera[0][2, 2]))
    # The clip's camera is rolled by +4 degrees about its viewing axis: its horizon turns counter-clockwise.
    hint = FloorHint(pitch_deg=camera_pitch, roll_deg=-4.0)
    fit = estimate_floor([clip.joints_camera], hint=hint)
    assert angle_deg(fit.plane.normal, true_up_in_camera(clip)) < 0.05
    assert np.allclose(fit.plane.normal, hint.up_in_camera())
    planted_toes = clip.joints_camera[:, TOE_JOINTS][clip.planted[:, [1, 3]]]
    assert abs(np.median(fit.plane.height(planted_toes))) < 0.005


def test_floor_hint_text():
    assert parse_floor_hint("auto") is None
    assert parse_floor_hint("level") == FloorHint()
    assert parse_floor_hint("pitch=12.5, roll=-3") == FloorHint(12.5, -3.0)
    for bad in ("pitch", "yaw=3", "pitch=steep"):
        with pytest.raises(UserError, match="--floor"):
            parse_floor_hint(bad)


def test_nobody_seen_still_gives_a_world_for_the_camera():
    fit = estimate_floor([])
    frame = world_frame_from_floor(fit.plane)
    assert np.allclose(frame.points(np.zeros(3)), [0.0, 0.0, 1.6])


def test_world_is_z_up_right_handed_floor_at_zero_and_pixels_are_kept(clip):
    estimate = synthetic.noisy_estimate(clip, 0.01, 1.0, seed=4)
    fit = estimate_floor([estimate.joints3d])
    frame = world_frame_from_floor(fit.plane, estimate.joints3d[:, 0])
    assert np.allclose(frame.rotation @ frame.rotation.T, np.eye(3)) and np.isclose(np.linalg.det(frame.rotation), 1)
    world = frame.points(estimate.joints3d)
    lowest = world[:, FOOT_POINT_JOINTS, 2].min(axis=1)
    assert abs(np.median(lowest)) < 0.02
    assert np.linalg.norm(world[:, 0, :2].mean(axis=0)) < 1e-9  # people around the origin
    assert frame.points(np.array([0.0, 0.0, 1.0]))[1] > frame.translation[1]  # the camera looks along +Y
    # Through the camera placed in the world, every joint lands on the same pixel as before.
    pose = camera_poses(frame)[0]
    seen = (world - pose[:3, 3]) @ pose[:3, :3]
    assert np.allclose(seen, estimate.joints3d, atol=1e-9)
    blender = blender_camera_matrices(pose)
    assert np.allclose(blender[:3, 2], -pose[:3, 2]) and np.allclose(blender[:3, 1], -pose[:3, 1])


def test_body_in_world_rebuilds_the_world_joints_with_smpl_forward_kinematics(clip):
    estimate = synthetic.noisy_estimate(clip, 0.02, 2.0, seed=5)
    fit = estimate_floor([estimate.joints3d])
    frame = world_frame_from_floor(fit.plane, estimate.joints3d[:, 0])
    orient, translation = body_in_world(frame, estimate.pose_rotmat[:, 0], estimate.cam_t, estimate.joints3d[:, 0])
    pose = estimate.pose_rotmat.copy()
    pose[:, 0] = orient
    rest = torch.from_numpy(np.broadcast_to(clip.rest_joints, (len(pose), 24, 3)).copy())
    posed, _ = forward_kinematics(torch.from_numpy(pose), rest)
    assert np.allclose(posed.numpy() + translation[:, None], frame.points(estimate.joints3d), atol=1e-9)


def test_people_share_one_floor_and_each_one_s_level_is_reported(clip):
    up = true_up_in_camera(clip)
    along_floor = np.array([0.8, 0.0, 1.5]) - (np.array([0.8, 0.0, 1.5]) @ up) * up
    second = clip.joints_camera[:40] + along_floor - 0.05 * up  # farther back, estimated 5 cm too low
    fit = estimate_floor([clip.joints_camera, second])
    assert angle_deg(fit.plane.normal, true_up_in_camera(clip)) < 2.0
    assert abs(fit.person_levels[1] - fit.person_levels[0] + 0.05) < 0.01
    # Grounded, each stands on Z = 0, moved along the line of sight: the picture barely changes.
    estimates = [PersonEstimate(np.arange(len(j)), np.tile(np.eye(3), (len(j), 24, 1, 1)), j[:, 0], j)
                 for j in (clip.joints_camera, second)]
    take = ground_take(estimates, fps=30.0, foot_lock=False)
    for estimate, person in zip(estimates, take.people):
        assert abs(np.median(person.joints[:, FOOT_POINT_JOINTS, 2].min(axis=1))) < 0.01
        seen = take.world.camera_points(person.joints)
        pixels = 800.0 * seen[..., :2] / seen[..., 2:]
        before = 800.0 * estimate.joints3d[..., :2] / estimate.joints3d[..., 2:]
        # (at f = 800 px, 20 cm further along the line of sight for the person 5 cm too low)
        assert np.abs(pixels - before)[:, FOOT_POINT_JOINTS].max() < 3.0 and np.abs(pixels - before).mean() < 2.0


def test_a_one_frame_person_is_grounded_without_motion(clip):
    estimate = synthetic.noisy_estimate(clip, 0.0, 0.0)
    single = PersonEstimate(estimate.frames[:1], estimate.pose_rotmat[:1], estimate.cam_t[:1],
                            estimate.joints3d[:1])
    take = ground_take([single], fps=30.0)
    person = take.people[0]
    assert person.joints.shape == (1, 24, 3) and np.allclose(person.locked.joints, person.joints)
    assert take.camera_to_world.shape == (1, 4, 4)


def test_the_floor_goes_through_the_soles_when_they_are_given(clip):
    estimate = synthetic.noisy_estimate(clip, 0.0, 0.0)
    up = true_up_in_camera(clip)
    soles = estimate.joints3d[:, FOOT_POINT_JOINTS] - 0.02 * up  # 2 cm under the foot joints
    with_soles = PersonEstimate(estimate.frames, estimate.pose_rotmat, estimate.cam_t, estimate.joints3d, soles)
    on_joints = ground_take([estimate], clip.fps, foot_lock=False).people[0].joints
    on_soles = ground_take([with_soles], clip.fps, foot_lock=False).people[0].joints
    assert abs(np.median(on_joints[:, FOOT_POINT_JOINTS, 2].min(axis=1))) < 0.005
    assert abs(np.median(on_soles[:, FOOT_POINT_JOINTS, 2].min(axis=1)) - 0.02) < 0.005
