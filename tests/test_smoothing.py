"""Temporal smoothing: jitter reduced, rotations stay rotations, bounded lag, no 180-degree flips, gaps restart."""
import numpy as np
import pytest
import torch

from inference.models.rotation import axis_angle_to_rotmat, rotmat_to_axis_angle
from inference.smoothing import (OneEuroFilter, OneEuroParams, constant_shape, smooth_rotations,
                                 smooth_translation)

BETA = OneEuroParams().beta


def rotations(rotvecs: np.ndarray) -> np.ndarray:
    return axis_angle_to_rotmat(torch.from_numpy(np.array(rotvecs, dtype=np.float64))).numpy()


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Geodesic angle (radians) between rotation matrices (..., 3, 3)."""
    rel = np.swapaxes(a, -1, -2) @ b
    return np.linalg.norm(rotmat_to_axis_angle(torch.from_numpy(rel.astype(np.float64))).numpy(), axis=-1)


def angular_acceleration(r: np.ndarray) -> np.ndarray:
    """(n, J, 3, 3) -> (n-2, J) angle between consecutive frame-to-frame rotations: what the eye sees as jitter."""
    step = r[1:] @ np.swapaxes(r[:-1], -1, -2)
    return angle_between(step[:-1], step[1:])


def smooth_pose_trajectory(n: int, seed: int, periods=(120.0, 480.0)) -> np.ndarray:
    """(n, 24, 3, 3) joints swinging smoothly (amplitude 0.1-0.5 rad, the given range of periods in frames)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None, None]
    base, amplitude = rng.normal(size=(24, 3)) * 0.5, rng.uniform(0.1, 0.5, size=(24, 3))
    period, phase = rng.uniform(*periods, size=(24, 1)), rng.uniform(0, 2 * np.pi, size=(24, 3))
    return rotations(base + amplitude * np.sin(2 * np.pi * t / period + phase))


def add_rotation_noise(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(size=clean.shape[:-1]) * sigma
    return rotations(noise) @ clean


def ramp(n: int, speed: float, start: float = 0.0, axis=(0.3, 0.8, 0.5)) -> np.ndarray:
    """(n, 1, 3, 3) a joint turning about a fixed axis at `speed` rad/frame."""
    axis = np.asarray(axis) / np.linalg.norm(axis)
    return rotations((start + speed * np.arange(n))[:, None, None] * axis)


@pytest.mark.parametrize("periods, zero_lag, min_gain, min_jitter_gain", [
    ((120, 480), True, 2.0, 4.0), ((120, 480), False, 1.3, 4.0), ((30, 120), True, 1.5, 2.5)])
def test_jitter_on_noisy_rotations_is_reduced(periods, zero_lag, min_gain, min_jitter_gain):
    """Slow (4-16 s at 30 fps) and fast (1-4 s) swings; the causal pass lags too much on fast ones to gain."""
    frames = np.arange(240)
    clean = smooth_pose_trajectory(len(frames), seed=0, periods=periods)
    noisy = add_rotation_noise(clean, sigma=0.03, seed=1)  # about 3 degrees per joint and frame
    smoothed = smooth_rotations(noisy, frames, zero_lag=zero_lag)
    err_raw, err_out = angle_between(noisy, clean).mean(), angle_between(smoothed, clean).mean()
    jitter_raw, jitter_out = angular_acceleration(noisy).mean(), angular_acceleration(smoothed).mean()
    print(f"periods {periods}, zero_lag={zero_lag}: error {np.degrees(err_raw):.2f} -> {np.degrees(err_out):.2f} deg "
          f"({err_raw / err_out:.2f}x), frame-to-frame jitter {jitter_raw / jitter_out:.1f}x lower")
    assert err_out < err_raw / min_gain
    assert jitter_out < jitter_raw / min_jitter_gain


def test_output_stays_orthonormal_with_positive_determinant():
    frames = np.arange(100)
    noisy = add_rotation_noise(smooth_pose_trajectory(100, seed=2), sigma=0.2, seed=3).astype(np.float32)
    for zero_lag in (False, True):
        out = smooth_rotations(noisy, frames, zero_lag=zero_lag)
        assert out.shape == noisy.shape and out.dtype == np.float32
        np.testing.assert_allclose(np.swapaxes(out, -1, -2) @ out, np.broadcast_to(np.eye(3), out.shape), atol=1e-5)
        np.testing.assert_allclose(np.linalg.det(out), 1.0, atol=1e-5)


@pytest.mark.parametrize("speed", [0.005, 0.02, 0.05, 0.2])
def test_lag_on_a_turning_joint_is_bounded(speed):
    """Causal: trails by at most sqrt(speed / (2 pi beta)) rad in the steady state; zero-lag: does not trail."""
    frames = np.arange(300)
    turning = ramp(len(frames), speed)
    causal = angle_between(smooth_rotations(turning, frames, zero_lag=False), turning)[150:, 0]
    both_ways = angle_between(smooth_rotations(turning, frames), turning)[50:-100, 0]
    print(f"{speed} rad/frame: causal lag {causal.mean():.4f} rad = {causal.mean() / speed:.2f} frames, "
          f"zero-lag {both_ways.max():.1e} rad")
    assert causal.max() <= np.sqrt(speed / (2 * np.pi * BETA)) and causal.max() < 1 / (2 * np.pi * BETA)
    assert both_ways.max() < 1e-3


def test_sine_keeps_phase_and_most_of_its_amplitude_with_zero_lag():
    frames = np.arange(600)
    angle = 0.3 * np.sin(2 * np.pi * frames / 60)  # a 2 s swing at 30 fps
    out = smooth_rotations(rotations(angle[:, None, None] * np.array([0, 0, 1.0])), frames)
    got = rotmat_to_axis_angle(torch.from_numpy(out.astype(np.float64))).numpy()[200:400, 0, 2]
    basis = np.stack([np.sin(2 * np.pi * frames[200:400] / 60), np.cos(2 * np.pi * frames[200:400] / 60)], 1)
    sin_part, cos_part = np.linalg.lstsq(basis, got, rcond=None)[0]
    lag_frames = np.arctan2(-cos_part, sin_part) / (2 * np.pi) * 60
    assert abs(lag_frames) < 0.05 and 0.9 < np.hypot(sin_part, cos_part) / 0.3 <= 1.0


def test_no_flip_when_turning_through_180_degrees():
    """Matrix -> quaternion picks a sign; past 180 degrees it flips (q ~ -q). The filter must not notice."""
    frames = np.arange(200)
    turning = ramp(len(frames), 0.02, start=np.pi - 2.0)  # crosses 180 degrees at frame 100
    noisy = add_rotation_noise(turning, sigma=0.02, seed=4)
    for zero_lag in (False, True):
        out = smooth_rotations(noisy, frames, zero_lag=zero_lag)
        assert angle_between(out, turning).max() < 0.1
        assert angle_between(out[1:], out[:-1]).max() < 0.06  # no jump anywhere


def test_still_joint_at_180_degrees_stays_put():
    frames = np.arange(120)
    still = rotations(np.broadcast_to(np.array([np.pi - 1e-3, 0, 0]), (120, 24, 3)))
    noisy = add_rotation_noise(still, sigma=0.03, seed=5)  # samples fall on both sides of 180 degrees
    out = smooth_rotations(noisy, frames)
    assert angle_between(out, still).mean() < angle_between(noisy, still).mean() / 2


def test_a_long_gap_restarts_the_filter_and_a_short_one_does_not():
    pose_a, pose_b = rotations(np.full((24, 3), 0.2)), rotations(np.full((24, 3), -0.9))
    frames = np.concatenate([np.arange(0, 50), np.arange(100, 150)])
    rotmats = np.concatenate([np.broadcast_to(pose_a, (50, 24, 3, 3)), np.broadcast_to(pose_b, (50, 24, 3, 3))])
    out = smooth_rotations(rotmats, frames, zero_lag=False)
    np.testing.assert_allclose(out[50], pose_b, atol=1e-9)  # restarted: no pull back toward pose_a
    short = np.concatenate([np.arange(0, 50), np.arange(53, 103)])  # 2 missing frames: keep going
    assert angle_between(smooth_rotations(rotmats, short, zero_lag=False)[50], pose_b).min() > 0.05
    stride = np.arange(0, 200, 2)  # every other frame (a stride) is not a gap
    assert angle_between(smooth_rotations(rotmats, stride, zero_lag=False)[50], pose_b).min() > 0.05


def test_translation_depth_noise_is_smoothed_and_position_in_the_picture_kept():
    frames = np.arange(300)
    rng = np.random.default_rng(6)
    clean = np.stack([-2 + 0.04 * frames, np.full(300, 0.3), np.full(300, 5.0)], axis=1)  # walking across
    depth = clean[:, 2] * np.exp(rng.normal(size=300) * 0.03)  # 3 % depth noise
    direction = clean[:, :2] / clean[:, 2:] + rng.normal(size=(300, 2)) * 0.002  # 0.002 in the image plane
    noisy = np.concatenate([direction * depth[:, None], depth[:, None]], axis=1)
    out = smooth_translation(noisy, frames)
    err_raw = np.sqrt(((noisy - clean)[20:-20] ** 2).mean(axis=0))
    err_out = np.sqrt(((out - clean)[20:-20] ** 2).mean(axis=0))
    print("translation rms error x, y, z (m):", err_raw.round(3), "->", err_out.round(3))
    assert np.all(err_out < err_raw / 2.5)
    causal = smooth_translation(clean, frames, zero_lag=False)
    lag_x = (clean - causal)[100:, 0].mean() / 0.04  # in frames
    assert 0 < lag_x < 1 / np.sqrt(2 * np.pi * BETA * 0.04 / 5)  # sqrt bound, speed 0.008 /frame in x/z


def test_inputs_are_never_modified_and_outputs_are_new_arrays():
    frames = np.arange(30)
    rotmats = add_rotation_noise(smooth_pose_trajectory(30, seed=7), 0.05, seed=8).astype(np.float32)
    cam_t = np.random.default_rng(9).normal(size=(30, 3)) * 0.1 + [0, 0, 5]
    betas = np.random.default_rng(10).normal(size=(30, 10)).astype(np.float32)
    copies = [a.copy() for a in (rotmats, frames, cam_t, betas)]
    outputs = [smooth_rotations(rotmats, frames), smooth_translation(cam_t, frames), constant_shape(betas)]
    for before, after in zip(copies, (rotmats, frames, cam_t, betas)):
        np.testing.assert_array_equal(before, after)
    for out, given in zip(outputs, (rotmats, cam_t, betas)):
        assert out.shape == given.shape and not np.shares_memory(out, given)
    assert smooth_rotations(rotmats[:1], frames[:1]).shape == (1, 24, 3, 3)  # one frame: unchanged
    np.testing.assert_allclose(smooth_rotations(rotmats[:1], frames[:1]), rotmats[:1], atol=1e-6)


def test_constant_shape_is_the_per_track_median():
    betas = np.array([[0.0, 1.0], [10.0, 2.0], [1.0, 3.0]])
    np.testing.assert_array_equal(constant_shape(betas), [[1.0, 2.0]] * 3)


def test_streaming_filter_rejects_time_going_backwards_and_frames_must_increase():
    one_euro = OneEuroFilter()
    one_euro(0, np.zeros(2))
    with pytest.raises(ValueError):
        one_euro(0, np.zeros(2))
    with pytest.raises(ValueError):
        smooth_translation(np.ones((3, 3)), np.array([0, 2, 1]))
