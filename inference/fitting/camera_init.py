"""Closed-form starting points for a fit: the body's orientation and its translation in the camera frame.

The camera frame is the result file's: x right, y down, z forward, metres, principal point at the image
centre. Both solves are batched over frames and never fail: frames without enough landmarks fall back to
an upright body facing the camera, at a default distance.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

DEFAULT_DEPTH_M = 3.0
_EPS = 1e-6


def facing_camera(n: int, device: torch.device | str = "cpu") -> Tensor:
    """(n, 3, 3) global orientation of an upright body facing the camera: the model's y-up, z-front axes
    become the camera's y-down, z-away axes, i.e. a half turn about x."""
    return torch.diag(torch.tensor([1.0, -1.0, -1.0], device=device)).expand(n, 3, 3).clone()


def view_ray_rotation(pixels: Tensor, image_size: tuple[int, int], focal_px: float) -> Tensor:
    """(n, 2) pixels -> (n, 3, 3) smallest rotation taking the optical axis (0, 0, 1) onto the ray through
    each pixel.

    A landmark network sees only a crop, so the 3D pose it reports is as seen along the crop's ray, not
    along the optical axis; this rotation carries such a pose into the camera frame. Rodrigues for two unit
    vectors a, b: R = I + K + K^2 / (1 + a.b) with K = skew(a x b); the ray is in front, so a.b > 0.
    """
    width, height = image_size
    centre = torch.tensor([width / 2.0, height / 2.0], dtype=pixels.dtype, device=pixels.device)
    xy = torch.nan_to_num((pixels - centre) / focal_px)
    ray = F.normalize(torch.cat((xy, torch.ones_like(xy[:, :1])), dim=-1), dim=-1)
    x, y, cos = ray.unbind(-1)  # axis (0, 0, 1) x ray = (-y, x, 0)
    zero = torch.zeros_like(x)
    skew = torch.stack((zero, zero, x, zero, zero, y, -x, -y, zero), dim=-1).reshape(-1, 3, 3)
    eye = torch.eye(3, dtype=pixels.dtype, device=pixels.device)
    return eye + skew + (skew @ skew) / (1.0 + cos)[:, None, None]


def kabsch_rotation(source: Tensor, target: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
    """Weighted best rotation R with R @ (s_i - s_mean) ~ t_i - t_mean.

    source, target (n, k, 3), weights (n, k) >= 0 -> rotations (n, 3, 3) and ok (n,) bool: False where fewer
    than three points carry weight or they are nearly collinear (then the rotation is not defined by them).
    """
    total = weights.sum(dim=1, keepdim=True)
    w = (weights / total.clamp_min(_EPS)).unsqueeze(-1)  # (n, k, 1)
    src = source - (w * source).sum(dim=1, keepdim=True)
    dst = target - (w * target).sum(dim=1, keepdim=True)
    cross = (w * src).transpose(1, 2) @ dst  # (n, 3, 3) sum_i w_i s_i t_i^T
    u, spread, vh = torch.linalg.svd(cross)
    v = vh.transpose(1, 2)
    flip = torch.sign(torch.linalg.det(v @ u.transpose(1, 2)))
    fix = torch.diag_embed(torch.stack((torch.ones_like(flip), torch.ones_like(flip), flip), dim=-1))
    rotation = v @ fix @ u.transpose(1, 2)
    enough = (weights > 0).sum(dim=1) >= 3
    spread_ok = spread[:, 1] > 1e-3 * spread[:, 0].clamp_min(_EPS)
    return rotation, enough & spread_ok & torch.isfinite(rotation).all(dim=(1, 2))


def solve_translation(points: Tensor, pixels: Tensor, weights: Tensor, image_size: tuple[int, int],
                      focal_px: float, prior: Tensor, prior_weight: float = 1e-4) -> Tensor:
    """Translation t per frame that best projects body points P_i + t onto their pixels, in closed form.

    points (n, k, 3) camera-frame body points before translation, pixels (n, k, 2), weights (n, k),
    prior (n, 3) -> t (n, 3). With a = (u - cx) / f and b = (v - cy) / f the pinhole equations become linear
    in t: t_x - a t_z = a P_z - P_x and t_y - b t_z = b P_z - P_y (the algebraic error, which is the image
    error times depth). A weak pull towards `prior` keeps frames with too few landmarks solvable.
    """
    width, height = image_size
    a = (pixels[..., 0] - width / 2.0) / focal_px
    b = (pixels[..., 1] - height / 2.0) / focal_px
    one, zero = torch.ones_like(a), torch.zeros_like(a)
    rows = torch.stack((torch.stack((one, zero, -a), dim=-1), torch.stack((zero, one, -b), dim=-1)), dim=2)
    rhs = torch.stack((a * points[..., 2] - points[..., 0], b * points[..., 2] - points[..., 1]), dim=2)
    rows, rhs = rows.reshape(len(points), -1, 3), rhs.reshape(len(points), -1)  # (n, 2k, 3), (n, 2k)
    w = weights.repeat_interleave(2, dim=1)
    ridge = prior_weight * (w.sum(dim=1) + 1.0)[:, None, None] * torch.eye(3, device=points.device)
    normal = rows.transpose(1, 2) @ (w[..., None] * rows) + ridge
    rhs_total = (rows.transpose(1, 2) @ (w * rhs)[..., None]).squeeze(-1) + (ridge @ prior[..., None]).squeeze(-1)
    return torch.linalg.solve(normal, rhs_total)
