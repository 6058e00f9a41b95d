"""Levenberg-Marquardt for a video fit, each person's frames, smoothness and betas solved together.

A video's frames are tied to their neighbours (`temporal`), so its Gauss-Newton system is block-tridiagonal
along each person's frames, bordered by the person's betas. Each step solves it whole: the betas by their
Schur complement (the frames eliminated with `block_tridiagonal`, so a change of shape comes with the pose
and depth that follow it), then the frames. A step is kept for a person only if it lowers that person's
whole cost; each person has its own damping. Solving frame by frame instead (Gauss-Seidel sweeps) moves a
correction on by one frame per sweep: at 60 fps, where a smoothing of the same duration spans twice the
frames, it had not settled after 30 sweeps.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .block_tridiagonal import block_tridiagonal_product, solve_block_tridiagonal
from .problem import FRAME_SIZE, FitProblem, State
from .solver import (ABSOLUTE_TOLERANCE, MU_MAX, MU_MIN, MU_START, Normal, SolveReport, betas_schur_step, damped,
                     frame_costs, linearise, person_costs, settled)
from .temporal import pair_costs, temporal_system


def solve_linked(problem: FitProblem, state: State, betas: Tensor, track_index: Tensor, links: Tensor,
                 shape_prior: float, iterations: int, tolerance: float, fit_betas: bool = True
                 ) -> tuple[State, Tensor, SolveReport]:
    """Minimise the problem's cost plus the smoothness of the pairs of neighbouring rows (links (n - 1,), 0
    between people) over every frame's step and, if `fit_betas`, the betas (m, B) (L2 prior `shape_prior`),
    for at most `iterations` steps; stops once no person can lower its cost by more than `tolerance` times it."""
    n, m = len(track_index), len(betas)
    every, columns = torch.arange(n), torch.arange(FRAME_SIZE)
    pair_person = track_index[:-1]  # a pair with a link lies within one person

    def total(s: State, b: Tensor) -> Tensor:
        pairs = torch.zeros(m).index_add(0, pair_person, pair_costs(s, links, problem.weights))
        return person_costs(frame_costs(problem, s, b, track_index, every), track_index, b, shape_prior) + pairs

    mu = torch.full((m,), MU_START)
    floor = ABSOLUTE_TOLERANCE * torch.bincount(track_index, minlength=m)
    cost = total(state, betas)
    for step in range(iterations):
        lin = linearise(problem, state, betas, track_index, every, columns, with_betas=True)
        smooth = temporal_system(state, links, problem.weights)
        normal, gradient = lin.normal + smooth.diagonal, lin.gradient + smooth.gradient
        if fit_betas:
            frames_delta, betas_delta = _step(normal, smooth.lower, gradient, lin, betas, track_index, mu,
                                              shape_prior)
        else:
            frames_delta, betas_delta = _frames_only_step(normal, smooth.lower, gradient, track_index, mu), \
                torch.zeros_like(betas)
        predicted = _predicted_gain(normal, smooth.lower, gradient, lin, betas, frames_delta, betas_delta,
                                    track_index, shape_prior)
        trial, trial_betas = state.moved(frames_delta), betas + betas_delta
        trial_cost = total(trial, trial_betas)
        accept = torch.isfinite(trial_cost) & (trial_cost < cost)
        new_cost = torch.where(accept, trial_cost, cost)
        mu = torch.where(accept, mu / 3.0, mu * 4.0).clamp(MU_MIN, MU_MAX)
        done = settled(cost, new_cost, accept, predicted, mu, tolerance, floor)
        state = trial.where(accept[track_index], state)
        betas, cost = torch.where(accept[:, None], trial_betas, betas), new_cost
        if bool(done.all()):
            return state, betas, SolveReport(step + 1, True)
    return state, betas, SolveReport(iterations, False)


def _step(normal: Tensor, lower: Tensor, gradient: Tensor, lin: Normal, betas: Tensor, track_index: Tensor,
          mu: Tensor, shape_prior: float) -> tuple[Tensor, Tensor]:
    """The damped Gauss-Newton step of the frames (n, FRAME_SIZE) and betas (m, B): normal (n, F, F) and lower
    (n - 1, F, F) the frames' block-tridiagonal matrix, gradient (n, F); `lin` carries the frame-betas blocks
    and each frame's share of the betas' own (`betas_schur_step`)."""
    solved = solve_block_tridiagonal(damped(normal, mu[track_index]), lower,
                                     torch.cat((lin.cross, gradient.unsqueeze(-1)), dim=-1))
    solved = torch.nan_to_num(solved, nan=0.0, posinf=0.0, neginf=0.0)
    betas_delta, frames_delta, _, _ = betas_schur_step(solved, lin, betas, track_index, mu, shape_prior)
    return frames_delta, betas_delta


def _frames_only_step(normal: Tensor, lower: Tensor, gradient: Tensor, track_index: Tensor, mu: Tensor) -> Tensor:
    """The damped Gauss-Newton step of the frames (n, FRAME_SIZE) with the betas held."""
    solved = solve_block_tridiagonal(damped(normal, mu[track_index]), lower, gradient.unsqueeze(-1))
    return -torch.nan_to_num(solved, nan=0.0, posinf=0.0, neginf=0.0).squeeze(-1)


def _predicted_gain(normal: Tensor, lower: Tensor, gradient: Tensor, lin: Normal, betas: Tensor, frames_delta: Tensor,
                    betas_delta: Tensor, track_index: Tensor, shape_prior: float) -> Tensor:
    """(m,) the cost decrease the undamped Gauss-Newton model promises each person for the step."""
    rows_betas = betas_delta[track_index].unsqueeze(-1)  # (n, B, 1)
    frames_product = block_tridiagonal_product(normal, lower, frames_delta.unsqueeze(-1)).squeeze(-1)
    per_row = (gradient * frames_delta).sum(1) + (lin.betas_gradient * betas_delta[track_index]).sum(1) + 0.5 * (
        (frames_delta * frames_product).sum(1)
        + 2.0 * (frames_delta.unsqueeze(1) @ lin.cross @ rows_betas).flatten()
        + (rows_betas.transpose(1, 2) @ lin.betas_normal @ rows_betas).flatten())
    per_person = torch.zeros(len(betas)).index_add(0, track_index, per_row)
    per_person += shape_prior * ((betas * betas_delta).sum(1) + 0.5 * betas_delta.square().sum(1))
    return -per_person
