"""Batched Levenberg-Marquardt for `problem.FitProblem`: every frame solves its own small problem at once.

Gauss-Newton on a few dozen pose numbers per frame converges in tens of steps where first-order methods
need hundreds, and because frames only interact through the shared betas and their neighbours, each step
is a batch of small dense solves (one per frame) plus one per person for the betas. Each frame keeps its
own damping and takes a step only if the step lowers its cost; then each person's betas take a step in
which the person's frames follow along (see `_betas_step`), kept only if it lowers the person's total.
Video, whose frames are tied to their neighbours, is solved whole per person by `linked_solver`, which
shares the pieces here.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .problem import FRAME_SIZE, FitProblem, State

MU_START, MU_MIN, MU_MAX = 1e-3, 1e-7, 1e7
# Squared metres (a weighted mean over landmarks, halved): a step gaining less changes nothing that shows.
ABSOLUTE_TOLERANCE = 1e-8
_FRAMES_PER_CHUNK = 256  # bounds the memory of the Jacobians (about 150 KB per frame)


@dataclass
class SolveReport:
    iterations: int
    converged: bool


@dataclass
class Normal:
    """Gauss-Newton normal equations of some frames, and of each frame's share of its person's betas."""

    cost: Tensor  # (k,)
    normal: Tensor  # (k, A, A) J^T J over the stepped entries
    gradient: Tensor  # (k, A) J^T r
    betas_normal: Tensor | None  # (k, B, B) J_b^T J_b
    betas_gradient: Tensor | None  # (k, B) J_b^T r
    cross: Tensor | None  # (k, A, B) J^T J_b: how a change of betas and one of the frame interact


def linearise(problem: FitProblem, state: State, betas: Tensor, track_index: Tensor, rows: Tensor,
              columns: Tensor, with_betas: bool) -> Normal:
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
    return Normal(*merged) if with_betas else Normal(*merged, None, None, None)


def frame_costs(problem: FitProblem, state: State, betas: Tensor, track_index: Tensor, rows: Tensor) -> Tensor:
    """Robust cost (k,) of frames `rows` of `state` (all of its rows belong to those frames)."""
    costs = []
    for start, chunk in zip(range(0, len(rows), _FRAMES_PER_CHUNK), rows.split(_FRAMES_PER_CHUNK)):
        local = torch.arange(start, start + len(chunk))
        costs.append(problem.evaluate(state.rows(local), betas.index_select(0, track_index[chunk]), chunk,
                                      jacobian=False).cost)
    return torch.cat(costs)


def damped(normal: Tensor, mu: Tensor) -> Tensor:
    """(k, A, A) normal matrices N and (k,) damping mu -> N + mu (diag N + eps): Levenberg-Marquardt's scaled
    damping, which keeps each step invariant to the units of the entries."""
    return normal + torch.diag_embed(mu[:, None] * (torch.diagonal(normal, dim1=-2, dim2=-1) + 1e-9))


def damped_solve(normal: Tensor, gradient: Tensor, mu: Tensor) -> Tensor:
    """Solve (N + mu (diag N + eps)) d = -g for batches of small systems; zero rows where singular."""
    solution, info = torch.linalg.solve_ex(damped(normal, mu), -gradient.unsqueeze(-1))
    solution = solution.squeeze(-1)
    usable = (info == 0) & torch.isfinite(solution).all(dim=1)
    return torch.where(usable[:, None], solution, torch.zeros_like(solution))


def predicted_gain(normal: Tensor, gradient: Tensor, delta: Tensor) -> Tensor:
    """Cost decrease the Gauss-Newton model promises for a step: -(g.d + d.N.d / 2)."""
    return -(gradient * delta).sum(1) - 0.5 * (delta.unsqueeze(1) @ normal @ delta.unsqueeze(-1)).flatten()


def settled(cost: Tensor, new_cost: Tensor, accept: Tensor, predicted: Tensor, mu: Tensor, tolerance: float,
            floor: Tensor | float) -> Tensor:
    """Nothing left to gain: the accepted step gained, or the model promises, less than the tolerance."""
    small = torch.clamp_min(tolerance * cost, floor)
    return (accept & (cost - new_cost < small)) | (predicted < small) | (mu >= MU_MAX)


def solve(problem: FitProblem, state: State, betas: Tensor, track_index: Tensor, columns: Tensor,
          fit_betas: bool, shape_prior: float, iterations: int, tolerance: float) -> tuple[State, Tensor, SolveReport]:
    """Minimise the problem's cost over the step entries `columns` of every frame and, if `fit_betas`, the
    betas (m, B) (with an L2 prior of weight `shape_prior`), for at most `iterations` steps.

    Stops early once no frame (and no person's betas) can lower its cost by more than `tolerance` times
    the cost (or a tiny absolute amount).
    """
    mu, mu_betas = torch.full((len(track_index),), MU_START), torch.full((len(betas),), MU_START)
    for step in range(iterations):
        state, cost, done, lin = _frames_step(problem, state, betas, track_index, columns, mu, fit_betas,
                                              tolerance)
        if fit_betas:
            state, betas, mu_betas, betas_done = _betas_step(problem, state, cost, betas, track_index, columns, lin,
                                                             mu, mu_betas, shape_prior, tolerance)
            done &= betas_done[track_index]
        if bool(done.all()):
            return state, betas, SolveReport(step + 1, True)
    return state, betas, SolveReport(iterations, False)


def _frames_step(problem: FitProblem, state: State, betas: Tensor, track_index: Tensor, columns: Tensor,
                 mu: Tensor, with_betas: bool, tolerance: float) -> tuple[State, Tensor, Tensor, Normal]:
    """One damped Gauss-Newton step of every frame (betas held); updates their damping in `mu`.

    -> new state, its cost per frame, done flags of the frames, and their linearisation carried to the new
    state (to first order), for the betas step.
    """
    every = torch.arange(len(track_index))
    current = linearise(problem, state, betas, track_index, every, columns, with_betas)
    delta = damped_solve(current.normal, current.gradient, mu)
    full_delta = torch.zeros(len(every), FRAME_SIZE)
    full_delta[:, columns] = delta
    trial = state.moved(full_delta)
    trial_cost = frame_costs(problem, trial, betas, track_index, every)
    accept = torch.isfinite(trial_cost) & (trial_cost < current.cost)
    state = trial.where(accept, state)
    new_cost = torch.where(accept, trial_cost, current.cost)
    mu[:] = torch.where(accept, mu / 3.0, mu * 4.0).clamp(MU_MIN, MU_MAX)
    predicted = predicted_gain(current.normal, current.gradient, delta)
    done = settled(current.cost, new_cost, accept, predicted, mu, tolerance, ABSOLUTE_TOLERANCE)
    if with_betas:
        taken = torch.where(accept[:, None], delta, torch.zeros_like(delta))
        current.gradient = current.gradient + (current.normal @ taken.unsqueeze(-1)).squeeze(-1)
        current.betas_gradient = current.betas_gradient + (taken.unsqueeze(1) @ current.cross).squeeze(1)
    return state, new_cost, done, current


def _betas_step(problem: FitProblem, state: State, frame_cost: Tensor, betas: Tensor, track_index: Tensor,
                columns: Tensor, lin: Normal, frame_mu: Tensor, mu: Tensor, shape_prior: float,
                tolerance: float) -> tuple[State, Tensor, Tensor, Tensor]:
    """One damped Gauss-Newton step on each person's betas in which the person's frames follow along;
    `frame_cost` (n,) is the cost of `state`'s frames, as the frames step left them.

    Shape and pose are coupled (a taller body is a farther one), so stepping the betas with the frames held
    would crawl. Eliminating the frames (Schur complement of the joint normal equations) gives the betas
    step that accounts for how the frames will adapt, and each frame then takes its matching step. The
    whole step is kept for a person only if it lowers the person's total cost. -> state, betas, damping, done.
    """
    # A^-1 [J^T J_b | g] per frame, A damped as the frame's own steps are (a frame whose Gauss-Newton model is
    # poor takes a short step here too).
    both, info = torch.linalg.solve_ex(damped(lin.normal, frame_mu),
                                       torch.cat((lin.cross, lin.gradient.unsqueeze(-1)), dim=-1))
    both = torch.where(((info == 0)[:, None, None] & torch.isfinite(both)), both, torch.zeros_like(both))
    delta, follow, reduced, gradient = betas_schur_step(both, lin, betas, track_index, mu, shape_prior)
    trial_betas = betas + delta
    full = torch.zeros(len(track_index), FRAME_SIZE)
    full[:, columns] = follow
    trial = state.moved(full)
    cost = person_costs(frame_cost, track_index, betas, shape_prior)
    trial_cost = person_costs(frame_costs(problem, trial, trial_betas, track_index, torch.arange(len(track_index))),
                              track_index, trial_betas, shape_prior)
    accept = torch.isfinite(trial_cost) & (trial_cost < cost)
    new_cost = torch.where(accept, trial_cost, cost)
    mu = torch.where(accept, mu / 3.0, mu * 4.0).clamp(MU_MIN, MU_MAX)
    floor = ABSOLUTE_TOLERANCE * torch.bincount(track_index, minlength=len(betas))
    done = settled(cost, new_cost, accept, predicted_gain(reduced, gradient, delta), mu, tolerance, floor)
    state = trial.where(accept[track_index], state)
    return state, torch.where(accept[:, None], trial_betas, betas), mu, done


def betas_schur_step(solved: Tensor, lin: Normal, betas: Tensor, track_index: Tensor, mu: Tensor,
                     shape_prior: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The betas' damped Gauss-Newton step by their Schur complement. solved (n, A, B + 1): the frames' damped
    matrix (per frame, or a whole video's) solved against [J^T J_b | J^T r] (`lin`'s cross and gradient).
    -> the betas' step (m, B) (damping `mu` (m,)), the frames' step that follows it (n, A), and the reduced
    system's matrix (m, B, B) and gradient (m, B) (L2 prior `shape_prior` on the betas (m, B))."""
    m, num_betas = betas.shape
    follow, own = solved[..., :num_betas], solved[..., num_betas]
    reduced = (shape_prior * torch.eye(num_betas).repeat(m, 1, 1)).index_add(
        0, track_index, lin.betas_normal - lin.cross.transpose(1, 2) @ follow)
    gradient = (shape_prior * betas).index_add(
        0, track_index, lin.betas_gradient - (lin.cross.transpose(1, 2) @ own.unsqueeze(-1)).squeeze(-1))
    delta = damped_solve(reduced, gradient, mu)
    frames = -(own + (follow @ delta[track_index].unsqueeze(-1)).squeeze(-1))
    return delta, frames, reduced, gradient


def person_costs(frame_cost: Tensor, track_index: Tensor, betas: Tensor, shape_prior: float) -> Tensor:
    """(n,) costs of the frames -> (m,) each person's total, with the shape prior on its betas (m, B)."""
    return (torch.zeros(len(betas)).index_add(0, track_index, frame_cost)
            + 0.5 * shape_prior * betas.square().sum(dim=1))
