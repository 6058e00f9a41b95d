"""Symmetric block-tridiagonal linear systems, solved by block cyclic reduction.

A video fit couples each frame only to its neighbours, so its Gauss-Newton system is block-tridiagonal: one
small block per frame on the diagonal, one per pair of neighbouring frames beside it. Solving it whole moves a
whole track at once, where frame-by-frame sweeps (Gauss-Seidel) pass a change on by one frame per sweep and
need about L^2 sweeps to settle a smoothing that spans L frames. Cyclic reduction eliminates every other
block row at once, so the work is a few batched small solves per level and log2(n) levels, not a Python loop
over the frames. Every Schur complement of a symmetric positive definite matrix is one too, so it is stable
without pivoting across blocks.
"""
from __future__ import annotations

import torch
from torch import Tensor


def solve_block_tridiagonal(diagonal: Tensor, lower: Tensor, rhs: Tensor) -> Tensor:
    """Solve H x = rhs for symmetric positive definite block-tridiagonal H.

    diagonal (n, a, a): the blocks H[i, i]; lower (n - 1, a, a): the blocks H[i + 1, i] (H[i, i + 1] is their
    transpose; zero blocks split the system into independent chains); rhs (n, a, m). Returns x (n, a, m), NaN
    in the chains where a block could not be inverted (never raises: a fit must always return).
    """
    n = len(diagonal)
    if n == 1:
        return _solve(diagonal, rhs)
    odd_count, even_count = n // 2, (n + 1) // 2
    # Odd row o couples to its even neighbours o - 1 (block lower[o - 1]) and o + 1 (lower[o] transposed).
    to_left = lower[0::2]
    to_right = lower[1::2].transpose(1, 2)
    if len(to_right) < odd_count:  # the last row is odd: it has no right neighbour
        to_right = torch.cat((to_right, torch.zeros_like(to_left[:1])))
    size = diagonal.shape[-1]
    eliminated = _solve(diagonal[1::2], torch.cat((to_left, to_right, rhs[1::2]), dim=-1))
    from_left, from_right, from_rhs = eliminated.split((size, size, rhs.shape[-1]), dim=-1)
    # The even rows' system once the odd rows are substituted.
    reduced_diagonal, reduced_rhs = diagonal[0::2].clone(), rhs[0::2].clone()
    reduced_diagonal[:odd_count] -= to_left.transpose(1, 2) @ from_left
    reduced_rhs[:odd_count] -= to_left.transpose(1, 2) @ from_rhs
    right_of_even = lower[1::2]  # H[e, e - 1] for the even rows e >= 2
    reduced_diagonal[1:] -= right_of_even @ from_right[: even_count - 1]
    reduced_rhs[1:] -= right_of_even @ from_rhs[: even_count - 1]
    reduced_lower = -(right_of_even @ from_left[: even_count - 1])
    even = solve_block_tridiagonal(reduced_diagonal, reduced_lower, reduced_rhs)
    after = torch.cat((even[1:], torch.zeros_like(even[:1])))[:odd_count]
    odd = from_rhs - from_left @ even[:odd_count] - from_right @ after
    solution = torch.empty_like(rhs)
    solution[0::2], solution[1::2] = even, odd
    return solution


def _solve(matrices: Tensor, rhs: Tensor) -> Tensor:
    """Batched solve; NaN where a matrix is singular."""
    solution, info = torch.linalg.solve_ex(matrices, rhs)
    return torch.where((info == 0)[:, None, None], solution, torch.full_like(solution, float("nan")))


def block_tridiagonal_product(diagonal: Tensor, lower: Tensor, x: Tensor) -> Tensor:
    """H x for H given as in `solve_block_tridiagonal`; x (n, a, m) -> (n, a, m)."""
    product = diagonal @ x
    product[1:] += lower @ x[:-1]
    product[:-1] += lower.transpose(1, 2) @ x[1:]
    return product
