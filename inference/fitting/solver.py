"""Batched Levenberg-Marquardt for `problem.FitProblem`: every frame solves its own small problem at once.

Gauss-Newton on a few dozen pose numbers per frame converges in tens of steps where first-order methods
need hundreds, and because frames only interact through the shared betas and their neighbours, each step
is a batch of small dense solves (one per frame) plus one per person for the betas. Each frame keeps its
own damping and takes a step only if the step lowers its cost; then each person's betas take a step in
which the person's frames follow along (see `_betas_step`), kept only if it lowers the person's total.
For video, the frame step is two half-steps (red-black Gauss-Seidel): the even rows move with the odd
rows held, then the reverse, so every half-step lowers the whole smoothed objective.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .problem import FRAME_SIZE, FitProblem, State

_MU_START, _MU_MIN, _MU_MAX = 1e-3, 1e-7, 1e7
# Squared metres (a weighted mean over landmarks, halved): a step gaining less changes nothing that shows.
_ABSOLUTE_TOLERANCE = 1e-8
_FRAMES_PER_CHUNK = 256  # bounds the memory of the Jacobians (about 150 KB per frame)


@dataclass
class SolveReport:
    iterations: int
    converged: bool


@dataclass
class _Normal:
    """Gauss-Newton normal equations of some frames, and of each frame's share of its person's betas."""

    cost: Tensor  # (k,)
    normal: Tensor  # (k, A, A) J^T J over the stepped entries
    gradient: Tensor  # (k, A) J^T r
    betas_normal: Tensor | None  # (k, B, B) J_b^T J_b
    betas_gradient: Tensor | None  # (k, B) J_b^T r
    cross: Tensor | None  # (k, A, B) J^T J_b: how a change of betas and one of the frame interact


def _linearise(problem: FitProblem, state: State, betas: Tensor, track_index: Tensor, rows: Tensor,
               columns: Tensor, with_betas: bool) -> _Normal:
    """Normal equations of frames `rows`, chunk by chunk, so that no Jacobian of all frames is held at once."""
    parts = []
    for chunk in rows.split(_FRAMES_PER_CHUNK):
        ev = problem.evaluate(state.rows(chunk), betas.index_select(0, track_index[chunk]), chunk, jacobian=True)
        jac, residuals = ev.frame_jacobian[..., columns], ev.residuals.unsqueeze(-1)
        part = [ev.cost, jac.transpose(1, 2) @ jac, (jac.transpose(1, 2) @ residuals).squeeze(-1)]
        if with_betas:
            jac_b = ev.betas_jacobian
            part += [jac_b.transpose(1, 2) @ jac_b, (jac_b.transpose(1, 2) @ residuals).squeeze(-1),
                     jac.transpose(1, 2) @ jac_b]
        parts.append(part)
    merged = [torch.cat(column) for column in zip(*parts)]
    return _Normal(*merged) if with_betas else _Normal(*merged, None, None, None)


def _costs(problem: FitProblem, state: State, betas: Tensor, track_index: Tensor, rows: Tensor) -> Tensor:
    """Robust cost (k,) of frames `rows` of `state` (all of its rows belong to those frames)."""
    costs = []
    for start, chunk in zip(range(0, len(rows), _FRAMES_PER_CHUNK), rows.split(_FRAMES_PER_CHUNK)):
        local = torch.arange(start, start + len(chunk))
        costs.append(problem.evaluate(state.rows(local), betas.index_select(0, track_index[chunk]), chunk,
                                      jacobian=False).cost)
    return torch.cat(costs)


def _damped(normal: Tensor, mu: Tensor) -> Tensor:
    """(k, A, A) normal matrices N and (k,) damping mu -> N + mu (diag N + eps): Levenberg-Marquardt's scaled
    damping, which keeps each step invariant to the units of the entries."""
    return normal + torch.diag_embed(mu[:, None] * (torch.diagonal(normal, dim1=-2, dim2=-1) + 1e-9))


def _damped_solve(normal: Tensor, gradient: Tensor, mu: Tensor) -> Tensor:
    """Solve (N + mu (diag N + eps)) d = -g for batches of small systems; zero rows where singular."""
    solution, info = torch.linalg.solve_ex(_damped(normal, mu), -gradient.unsqueeze(-1))
    solution = solution.squeeze(-1)
    usable = (info == 0) & torch.isfinite(solution).all(dim=1)
    return torch.where(usable[:, None], solution, torch.zeros_like(solution))


def _predicted_gain(normal: Tensor, gradient: Tensor, delta: Tensor) -> Tensor:
    """Cost decrease the Gauss-Newton model promises for a step: -(g.d + d.N.d / 2)."""
    return -(gradient * delta).sum(1) - 0.5 * (delta.unsqueeze(1) @ normal @ delta.unsqueeze(-1)).flatten()


def _settled(cost: Tensor, new_cost: Tensor, accept: Tensor, predicted: Tensor, mu: Tensor, tolerance: float,
             floor: Tensor | float) -> Tensor:
    """Nothing left to gain: the accepted step gained, or the model promises, less than the tolerance."""
    small = torch.clamp_min(tolerance * cost, floor)
    return (accept & (cost - new_cost < small)) | (predicted < small) | (mu >= _MU_MAX)


def solve(problem: FitProblem, state: State, betas: Tensor, track_index: Tensor, columns: Tensor,
          fit_betas: bool, shape_prior: float, iterations: int, tolerance: float,
          links: Tensor | None) -> tuple[State, Tensor, SolveReport]:
    """Minimise the problem's cost over the step entries `columns` of every frame and, if `fit_betas`, the
    betas (m, B) (with an L2 prior of weight `shape_prior`), for at most `iterations` steps. With `links`
    (n - 1,) (the temporal weight of each pair of adjacent rows) the rows are smoothed over time.

    Stops early once no frame (and no person's betas) can lower its cost by more than `tolerance` times
    the cost (or a tiny absolute amount).
    """
    n = len(track_index)
    mu, mu_betas = torch.full((n,), _MU_START), torch.full((len(betas),), _MU_START)
    temporal = links is not None
    passes = (torch.arange(0, n, 2), torch.arange(1, n, 2)) if temporal else (torch.arange(n),)
    for step in range(iterations):
        done = torch.ones(n, dtype=torch.bool)
        betas_parts = []
        for rows in passes:
            if temporal:
                problem.set_neighbours(state, links)
            state, done[rows], part = _frames_step(problem, state, betas, track_index, rows, columns, mu,
                                                   fit_betas, tolerance)
            betas_parts.append(part)
        if fit_betas:
            if temporal:
                problem.set_neighbours(state, links)
            state, betas, mu_betas, betas_done = _betas_step(problem, state, betas, track_index, columns,
                                                             betas_parts, mu_betas, shape_prior, tolerance)
            done &= betas_done[track_index]
        if bool(done.all()):
            return state, betas, SolveReport(step + 1, True)
    return state, betas, SolveReport(iterations, False)


def _frames_step(problem: FitProblem, state: State, betas: Tensor, track_index: Tensor, rows: Tensor,
                 columns: Tensor, mu: Tensor, with_betas: bool,
                 tolerance: float) -> tuple[State, Tensor, tuple[Tensor, _Normal, Tensor]]:
    """One damped Gauss-Newton step of frames `rows` (betas held); updates their damping in `mu`.

    -> new state, done flags of the rows, and their linearisation carried to the new state (to first order)
    with their damping, for the betas step.
    """
    current = _linearise(problem, state, betas, track_index, rows, columns, with_betas)
    delta = _damped_solve(current.normal, current.gradient, mu[rows])
    full_delta = torch.zeros(len(rows), FRAME_SIZE)
    full_delta[:, columns] = delta
    trial = state.rows(rows).moved(full_delta)
    trial_cost = _costs(problem, trial, betas, track_index, rows)
    accept = torch.isfinite(trial_cost) & (trial_cost < current.cost)
    state = state.with_rows(rows, trial.where(accept, state.rows(rows)))
    new_cost = torch.where(accept, trial_cost, current.cost)
    mu[rows] = torch.where(accept, mu[rows] / 3.0, mu[rows] * 4.0).clamp(_MU_MIN, _MU_MAX)
    predicted = _predicted_gain(current.normal, current.gradient, delta)
    done = _settled(current.cost, new_cost, accept, predicted, mu[rows], tolerance, _ABSOLUTE_TOLERANCE)
    if with_betas:
        taken = torch.where(accept[:, None], delta, torch.zeros_like(delta))
        current.gradient = current.gradient + (current.normal @ taken.unsqueeze(-1)).squeeze(-1)
        current.betas_gradient = current.betas_gradient + (taken.unsqueeze(1) @ current.cross).squeeze(1)
    return state, done, (rows, current, mu[rows].clone())


def _betas_step(problem: FitProblem, state: State, betas: Tensor, track_index: Tensor, columns: Tensor,
                parts: list[tuple[Tensor, _Normal, Tensor]], mu: Tensor, shape_prior: float,
                tolerance: float) -> tuple[State, Tensor, Tensor, Tensor]:
    """One damped Gauss-Newton step on each person's betas in which the person's frames follow along.

    Shape and pose are coupled (a taller body is a farther one), so stepping the betas with the frames held
    would crawl. Eliminating the frames (Schur complement of the joint normal equations) gives the betas
    step that accounts for how the frames will adapt, and each frame then takes its matching step. The
    whole step is kept for a person only if it lowers the person's total cost. -> state, betas, damping, done.
    """
    m, num_betas = betas.shape
    reduced = shape_prior * torch.eye(num_betas).repeat(m, 1, 1)
    gradient = shape_prior * betas
    solved = []
    for rows, lin, frame_mu in parts:
        # A^-1 [J^T J_b | g] per frame, A damped as the frame's own steps are (a frame whose Gauss-Newton
        # model is poor takes a short step here too).
        both, info = torch.linalg.solve_ex(_damped(lin.normal, frame_mu),
                                           torch.cat((lin.cross, lin.gradient.unsqueeze(-1)), dim=-1))
        both = torch.where(((info == 0)[:, None, None] & torch.isfinite(both)), both, torch.zeros_like(both))
        tracks = track_index[rows]
        reduced = reduced.index_add(0, tracks, lin.betas_normal - lin.cross.transpose(1, 2) @ both[..., :num_betas])
        gradient = gradient.index_add(0, tracks, lin.betas_gradient
                                      - (lin.cross.transpose(1, 2) @ both[..., num_betas:]).squeeze(-1))
        solved.append((rows, both))
    delta = _damped_solve(reduced, gradient, mu)
    trial_betas = betas + delta
    trial = state
    for rows, both in solved:
        follow = -(both[..., num_betas] + (both[..., :num_betas] @ delta[track_index[rows]].unsqueeze(-1)).squeeze(-1))
        full = torch.zeros(len(rows), FRAME_SIZE)
        full[:, columns] = follow
        trial = trial.with_rows(rows, state.rows(rows).moved(full))
    every = torch.arange(len(track_index))

    def person_cost(s: State, b: Tensor) -> Tensor:
        frames = _costs(problem, s, b, track_index, every)
        return torch.zeros(m).index_add(0, track_index, frames) + 0.5 * shape_prior * b.square().sum(dim=1)

    cost, trial_cost = person_cost(state, betas), person_cost(trial, trial_betas)
    accept = torch.isfinite(trial_cost) & (trial_cost < cost)
    new_cost = torch.where(accept, trial_cost, cost)
    mu = torch.where(accept, mu / 3.0, mu * 4.0).clamp(_MU_MIN, _MU_MAX)
    floor = _ABSOLUTE_TOLERANCE * torch.bincount(track_index, minlength=m)
    done = _settled(cost, new_cost, accept, _predicted_gain(reduced, gradient, delta), mu, tolerance, floor)
    state = trial.where(accept[track_index], state)
    return state, torch.where(accept[:, None], trial_betas, betas), mu, done
