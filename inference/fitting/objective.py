"""The landmark data terms of a fit: 2D reprojection and 3D shape against the detected landmarks.

Both residuals are measured in metres so they can be weighed against each other: a pixel error is scaled
by depth / focal length (its size at the body), and the 3D term compares the body's landmarks with the
detector's metric "world" landmarks, both relative to their weighted centroid (so the term ignores where
the detector put its origin, and one badly placed hip cannot shift every target). Both use a robust
(Cauchy) loss, so a few wrong detections cannot drag the whole body, and both are weighted by visibility
squared (a landmark the detector doubts counts far less) times how much its correspondence is trusted. In
the 3D term a landmark counts at least as if seen a little (`fit.FitSettings.unseen_3d_visibility`): for a
joint outside the picture or hidden, the detector's 3D guess still knows more than the pose prior alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

MIN_DEPTH_M = 0.05  # points closer than this to the camera plane are projected as if this far


@dataclass(frozen=True)
class Observations:
    """The detections of n frames, as tensors, with invalid values already zero-weighted."""

    pixels: Tensor  # (n, 33, 2) image landmarks, pixels
    world: Tensor  # (n, 33, 3) world landmarks rotated into camera axes (origin anywhere)
    weights: Tensor  # (n, 33) visibility^2 times correspondence trust, 0 for unusable landmarks
    weights_3d: Tensor  # (n, 33) as `weights`, for the 3D term: unseen landmarks keep some weight there
    visibility: Tensor  # (n, 33) visibility alone (for the reported reprojection error)
    focal_px: float
    centre: Tensor  # (2,) principal point, pixels


def project(points: Tensor, focal_px: float, centre: Tensor) -> Tensor:
    """Camera-frame points (..., 3) -> pixels (..., 2): u = f x / z + cx, v = f y / z + cy."""
    depth = points[..., 2:].clamp_min(MIN_DEPTH_M)
    return focal_px * points[..., :2] / depth + centre


def cauchy(squared: Tensor, scale: float) -> Tensor:
    """Robust loss of squared residuals: scale^2 log(1 + r^2 / scale^2); ~r^2 when small, grows as log."""
    return scale * scale * torch.log1p(squared / (scale * scale))


def robust_weights(squared: Tensor, scale: float) -> Tensor:
    """Derivative of `cauchy` by the squared residual, 1 / (1 + r^2 / scale^2): the reweighting factor."""
    return 1.0 / (1.0 + squared / (scale * scale))


def _centred(points: Tensor, weights: Tensor) -> Tensor:
    """(k, m, 3) points minus their weighted centroid (weights (k, m), each row summing to 1)."""
    return points - (weights.unsqueeze(-1) * points).sum(dim=1, keepdim=True)


def data_errors(landmarks: Tensor, obs: Observations, rows: Tensor, metres_per_px: Tensor,
                trust: Tensor) -> tuple[Tensor, Tensor]:
    """Camera-frame body landmarks (k, 33, 3) of frames `rows` -> 2D errors (k, 33, 2) and 3D errors
    (k, 33, 3), both in metres.

    metres_per_px (k,) converts pixel errors to metres at the body (depth / focal length); trust (k, 33)
    are the 3D term's landmark weights, each row summing to 1, which define the centroids of its comparison.
    """
    pixels, world = obs.pixels.index_select(0, rows), obs.world.index_select(0, rows)
    error_2d = (project(landmarks, obs.focal_px, obs.centre) - pixels) * metres_per_px[:, None, None]
    error_3d = _centred(landmarks, trust) - _centred(world, trust)
    return error_2d, error_3d


def reprojection_error_px(landmarks: Tensor, obs: Observations) -> Tensor:
    """Visibility-weighted mean pixel distance between projected body landmarks and detections: (n,).

    Frames with no visible landmark report 0.
    """
    distance = torch.linalg.vector_norm(project(landmarks, obs.focal_px, obs.centre) - obs.pixels, dim=-1)
    visibility = obs.visibility * (obs.weights > 0)
    return (visibility * distance).sum(dim=1) / visibility.sum(dim=1).clamp_min(1e-6)
