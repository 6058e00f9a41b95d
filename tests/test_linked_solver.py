"""The video fit's solver: the block-tridiagonal solve, the smoothness terms' derivatives, and smoothing that
lasts as long in seconds at any frame rate."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.fitting.block_tridiagonal import block_tridiagonal_product, solve_block_tridiagonal
from inference.fitting.fit import FitSettings, _weights, fit_landmarks
from inference.fitting.problem import FRAME_SIZE, State
from inference.fitting.temporal import pair_costs, pair_residuals, temporal_system
from contract.smpl_file import read_smpl_model
from inference.body_model import SMPLBody
from test_fitting import FOCAL, IMAGE_SIZE, SYNTHETIC, joint_error_mm, moving_scene, observe, random_scene


@pytest.fixture(scope="module")
def body() -> SMPLBody:
    return SMPLBody(read_smpl_model(SYNTHETIC))


def dense(diagonal: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    n, a = diagonal.shape[:2]
    matrix = torch.zeros(n * a, n * a, dtype=diagonal.dtype)
    for i in range(n):
        matrix[i * a:(i + 1) * a, i * a:(i + 1) * a] = diagonal[i]
    for i in range(n - 1):
        matrix[(i + 1) * a:(i + 2) * a, i * a:(i + 1) * a] = lower[i]
        matrix[i * a:(i + 1) * a, (i + 1) * a:(i + 2) * a] = lower[i].T
    return matrix


@pytest.mark.parametrize("n", [1, 2, 3, 8, 13])
def test_block_tridiagonal_solve_matches_a_dense_solve(n):
    generator = torch.Generator().manual_seed(n)
    a, m = 4, 3
    diagonal = torch.randn(n, a, a, generator=generator, dtype=torch.float64)
    diagonal = diagonal @ diagonal.transpose(1, 2) + 2 * a * torch.eye(a, dtype=torch.float64)
    lower = torch.randn(n - 1, a, a, generator=generator, dtype=torch.float64)
    if n > 3:
        lower[2] = 0  # two independent chains, as two people's rows
    rhs = torch.randn(n, a, m, generator=generator, dtype=torch.float64)
    solution = solve_block_tridiagonal(diagonal, lower, rhs)
    expected = torch.linalg.solve(dense(diagonal, lower), rhs.reshape(n * a, m)).reshape(n, a, m)
    torch.testing.assert_close(solution, expected)
    torch.testing.assert_close(block_tridiagonal_product(diagonal, lower, solution), rhs)


def test_smoothness_blocks_match_central_differences():
    """J^T r and J^T J of the pair residuals (float64), J taken by central differences of `State.moved`."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        pose, _, cam_t = random_scene(np.random.default_rng(8), 4)
        state = State.from_translation(torch.tensor(pose), torch.tensor(cam_t))
        links = torch.tensor([1.0, 0.0, 0.5])
        weights = _weights(FitSettings(), temporal_weight=1.0)
        system = temporal_system(state, links, weights)
        residuals = pair_residuals(state, links, weights).flatten()
        step, n = 1e-6, len(links) + 1
        jacobian = torch.zeros(len(residuals), n * FRAME_SIZE)
        for column in range(n * FRAME_SIZE):
            offset = torch.zeros(n * FRAME_SIZE)
            offset[column] = step
            ahead = pair_residuals(state.moved(offset.reshape(n, FRAME_SIZE)), links, weights).flatten()
            behind = pair_residuals(state.moved(-offset.reshape(n, FRAME_SIZE)), links, weights).flatten()
            jacobian[:, column] = (ahead - behind) / (2 * step)
        normal = dense(system.diagonal, system.lower)
        torch.testing.assert_close(normal, jacobian.T @ jacobian, atol=1e-7, rtol=1e-6)
        torch.testing.assert_close(system.gradient.flatten(), jacobian.T @ residuals, atol=1e-7, rtol=1e-6)
        torch.testing.assert_close(pair_costs(state, links, weights).sum(), 0.5 * residuals.square().sum())
    finally:
        torch.set_default_dtype(default)


def test_sixty_fps_is_smoothed_over_the_same_time_as_thirty(body):
    """The same motion at 60 fps, its detection noise held for two frames (as a landmark model following its
    own crop from frame to frame): weighted per second, the fit beats the same weights per frame and does at
    least as well as every other frame fitted as 30 fps footage (on real footage, weighted per frame, 60 fps
    came out 2-5 mm worse than its every other frame)."""
    rng = np.random.default_rng(9)
    pose, betas, cam_t = moving_scene(rng, 60, fps=60.0)
    pixels, visibility, world, truth = observe(body, pose, betas, cam_t, rng, pixel_noise=0, world_noise=0,
                                               hidden=0)
    held = np.repeat(rng.normal(0.0, 1.0, (30, 33, 3)), 2, axis=0)
    pixels, world = pixels + 4.0 * held[..., :2], world + 0.04 * held

    def error_on_shared_frames(every: int, frame_rate: float) -> float:
        fit = fit_landmarks(body, pixels[::every], visibility[::every], world[::every], IMAGE_SIZE, FOCAL,
                            temporal_weight=1.0, frame_rate=frame_rate)
        return float(joint_error_mm(fit.joints3d[:: 2 // every], truth[::2]).mean())

    per_second, thirty, per_frame = error_on_shared_frames(1, 60.0), error_on_shared_frames(2, 30.0), \
        error_on_shared_frames(1, 30.0)
    print(f"\n60 fps {per_second:.1f} mm, its every other frame as 30 fps {thirty:.1f}, weighted per frame "
          f"{per_frame:.1f}")
    assert per_second < per_frame - 1.0
    assert per_second <= thirty + 0.2
