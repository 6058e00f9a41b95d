"""The grounding metrics (inference/grounding metrics.py) on motions whose answer is known by construction."""
import numpy as np

from inference.grounding import metrics


def feet_walking_in_place(num_frames=40, slide_mm=0.0, lift=0.2):
    """Left foot planted at height 0 (sliding `slide_mm` per frame along x), right foot lifted by `lift`."""
    points = np.zeros((num_frames, 4, 3))
    points[:, 0, 2], points[:, 1, 2] = 0.08, 0.02
    points[:, :2, 0] += np.arange(num_frames)[:, None] * slide_mm / 1000.0
    points[:, 2:, 1] = 0.3
    points[:, 2, 2], points[:, 3, 2] = 0.08 + lift, 0.02 + lift
    return points


def test_foot_skate_is_the_planted_foots_speed_in_mm_per_frame():
    assert metrics.foot_skate_mm(feet_walking_in_place(slide_mm=0.0)) == 0.0
    assert np.isclose(metrics.foot_skate_mm(feet_walking_in_place(slide_mm=3.0)), 3.0)
    on_ground = metrics.feet_on_ground(feet_walking_in_place())
    assert on_ground[:, 0].all() and not on_ground[:, 1].any()
    assert metrics.ground_contact_share(feet_walking_in_place()) == 0.5
    assert np.isnan(metrics.foot_skate_mm(feet_walking_in_place(), np.zeros((40, 2), dtype=bool)))


def test_penetration_and_float():
    points = feet_walking_in_place()
    assert np.allclose(metrics.penetration_and_float_mm(points), (0.0, 20.0))
    points[:, :, 2] -= 0.05
    assert np.allclose(metrics.penetration_and_float_mm(points), (30.0, 0.0))


def test_trunk_tilt():
    joints = np.zeros((2, 24, 3))
    joints[0, 12] = (0.0, 0.0, 0.5)
    joints[1, 12] = (0.5, 0.0, 0.5)
    assert np.isclose(metrics.trunk_tilt_deg(joints), 22.5)


def test_trajectory_error_ignores_heading_and_origin_but_not_height():
    times = np.linspace(0.0, 3.0, 50)
    truth = np.stack([times, 0.3 * np.sin(times), np.full_like(times, 0.9)], axis=-1)
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    moved = truth @ turn.T + (2.0, -1.0, 0.0)
    assert metrics.trajectory_error_m(moved, truth) < 1e-9
    assert metrics.trajectory_error_m(moved, truth, aligned=False) > 1.0
    assert np.isclose(metrics.trajectory_error_m(moved + (0.0, 0.0, 0.05), truth), 0.05)
