"""A video fit's smoothness: each pair of neighbouring rows of one person pays for the change between them.

The residual of the pair (t, t + 1) is sqrt(weight x link) times the difference of every joint rotation matrix
and of the camera translation between the two frames; `link` (fit.py) holds how much the pair counts (0
between people or across long gaps). These terms couple each frame to its neighbours only, so their part of
the Gauss-Newton system is block-tridiagonal: `temporal_system` returns it, for the solver to add to the
frames' own blocks. Rotation rates are block-diagonal per joint, so everything is computed per joint and
placed into the frame blocks at the end.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from . import so3
from .problem import CAMERA, FRAME_SIZE, TURNING_JOINTS, State, Weights, block_diagonal, camera_rates

_GENERATORS = so3.cross_matrix(torch.eye(3))  # (3, 3, 3): d exp(d) / d d_k at d = 0


@dataclass(frozen=True)
class TemporalSystem:
    """The smoothness terms of n rows, linearised: the blocks they add to the Gauss-Newton system."""

    diagonal: Tensor  # (n, FRAME_SIZE, FRAME_SIZE) added to each frame's normal matrix
    lower: Tensor  # (n - 1, FRAME_SIZE, FRAME_SIZE) block of the pair (row t + 1, column t)
    gradient: Tensor  # (n, FRAME_SIZE) added to each frame's gradient


def _values(state: State) -> Tensor:
    """(n, 219): every rotation matrix (24 x 9 entries) and the translation, the quantities kept smooth."""
    return torch.cat((state.rotmats.flatten(1), state.translation()), dim=1)


def _gates(links: Tensor, weights: Weights) -> Tensor:
    """(n - 1, 219) square roots of each pair's weight per value."""
    per_value = torch.cat((torch.full((24 * 9,), weights.temporal_rotation),
                           torch.full((3,), weights.temporal_translation)))
    return (links[:, None] * per_value).sqrt()


def pair_residuals(state: State, links: Tensor, weights: Weights) -> Tensor:
    """State of n rows, links (n - 1,) -> (n - 1, 219) residuals of the pairs of neighbouring rows."""
    values = _values(state)
    return _gates(links, weights) * (values[:-1] - values[1:])


def pair_costs(state: State, links: Tensor, weights: Weights) -> Tensor:
    """(n - 1,) half the squared residuals of each pair."""
    return 0.5 * pair_residuals(state, links, weights).square().sum(dim=1)


def _rotation_rates(rotmats: Tensor) -> Tensor:
    """(n, 24, 3, 3) -> (n, 22, 9, 3): d vec(R) / d turn of the turning joints (root in camera axes, the
    others in their own, as `State.moved` applies them)."""
    generators = _GENERATORS.to(rotmats)
    root = generators @ rotmats[:, :1]  # (n, 3, 3, 3): turn c of the root
    turning = rotmats[:, 1:TURNING_JOINTS, None] @ generators  # (n, 21, 3, 3, 3)
    return torch.cat((root.unsqueeze(1), turning), dim=1).flatten(3).transpose(2, 3)


def temporal_system(state: State, links: Tensor, weights: Weights) -> TemporalSystem:
    """The pairs' Gauss-Newton blocks (J^T J on and beside the diagonal, J^T r) at `state` (their cost:
    `pair_costs`)."""
    n = len(links) + 1
    values = _values(state)
    differences = values[:-1] - values[1:]
    rotation_rates, translation_rates = _rotation_rates(state.rotmats), camera_rates(state.translation())
    rotation_weight = weights.temporal_rotation * links  # (n - 1,)
    translation_weight = weights.temporal_translation * links
    turn_difference = differences[:, : 9 * TURNING_JOINTS].reshape(n - 1, TURNING_JOINTS, 9, 1)
    move_difference = differences[:, -3:, None]

    def around(per_pair: Tensor) -> Tensor:
        """(n - 1, ...) per pair -> (n, ...) summed onto both of its rows."""
        total = torch.zeros((n,) + per_pair.shape[1:])
        total[:-1] += per_pair
        total[1:] += per_pair
        return total

    # The pair's rows share its weight; the diagonal block of a row sums those of its two pairs.
    turn_normal = rotation_rates.transpose(2, 3) @ rotation_rates  # (n, 22, 3, 3)
    move_normal = translation_rates.transpose(1, 2) @ translation_rates  # (n, 3, 3)
    diagonal = torch.zeros(n, FRAME_SIZE, FRAME_SIZE)
    diagonal[:, : 3 * TURNING_JOINTS, : 3 * TURNING_JOINTS] = block_diagonal(
        around(rotation_weight)[:, None, None, None] * turn_normal)
    diagonal[:, CAMERA, CAMERA] = around(translation_weight)[:, None, None] * move_normal
    lower = torch.zeros(n - 1, FRAME_SIZE, FRAME_SIZE)
    lower[:, : 3 * TURNING_JOINTS, : 3 * TURNING_JOINTS] = block_diagonal(
        -rotation_weight[:, None, None, None] * (rotation_rates[1:].transpose(2, 3) @ rotation_rates[:-1]))
    lower[:, CAMERA, CAMERA] = -translation_weight[:, None, None] * (
        translation_rates[1:].transpose(1, 2) @ translation_rates[:-1])
    gradient = torch.zeros(n, FRAME_SIZE)
    turn_pull = rotation_weight[:, None, None, None] * turn_difference  # (n - 1, 22, 9, 1)
    gradient[:-1, : 3 * TURNING_JOINTS] += (rotation_rates[:-1].transpose(2, 3) @ turn_pull).flatten(1)
    gradient[1:, : 3 * TURNING_JOINTS] -= (rotation_rates[1:].transpose(2, 3) @ turn_pull).flatten(1)
    move_pull = translation_weight[:, None, None] * move_difference  # (n - 1, 3, 1)
    gradient[:-1, CAMERA] += (translation_rates[:-1].transpose(1, 2) @ move_pull).squeeze(-1)
    gradient[1:, CAMERA] -= (translation_rates[1:].transpose(1, 2) @ move_pull).squeeze(-1)
    return TemporalSystem(diagonal, lower, gradient)
