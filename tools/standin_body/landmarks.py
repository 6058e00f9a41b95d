"""Where the joints and keypoints of the stand-in come from its vertices.

The joint regressor (SMPL's `J_regressor`) is, per joint, a non-negative weighting of the surface around
the joint, summing to 1, that puts the joint exactly at its anatomical place in the template and moves it
with every shape direction as designed (as closely as non-negative weights allow): a Gaussian falloff
around the joint, adjusted as little as possible (least squares, relative to the falloff).
The 21 vertex keypoints are the vertices at the places smplx picks on SMPL (nose, eyes, ears, toes,
heels, fingertips).
"""
from __future__ import annotations

import numpy as np

from .body_shape import FINGERS, HAND_CENTER, THUMB_TIP
from .proportions import JOINT_NAMES, rest_joints

# Radius of the surface patch each joint is regressed from, metres (about 1.5 x the body's radius there).
_REACH = {"pelvis": 0.16, "spine1": 0.16, "spine2": 0.17, "spine3": 0.17, "neck": 0.09, "head": 0.12,
          "collar": 0.13, "hip": 0.15, "knee": 0.08, "ankle": 0.06, "foot": 0.06, "shoulder": 0.08,
          "elbow": 0.06, "wrist": 0.045, "hand": 0.05}


def _reach(name: str) -> float:
    return _REACH[name.replace("left_", "").replace("right_", "")]


def _regressor_row(prior: np.ndarray, exact: np.ndarray, exact_goal: np.ndarray, soft: np.ndarray,
                   soft_goal: np.ndarray, soft_weight: float) -> np.ndarray:
    """Non-negative w minimising sum (w - prior)^2 / prior + soft_weight |soft @ w - soft_goal|^2 subject to
    exact @ w = exact_goal. Stationarity gives w = prior - P (soft_weight soft^T r + exact^T nu) with
    P = diag(prior) and r = soft @ w - soft_goal, a small linear system in (r, nu); weights that come out
    negative leave the support one at a time, the most negative first."""
    active = prior > 0
    n_soft = len(soft)
    for _ in range(int(active.sum())):
        p = np.where(active, prior, 0.0)
        sp, cp = soft * p, exact * p
        system = np.block([[np.eye(n_soft) + soft_weight * sp @ soft.T, sp @ exact.T],
                           [soft_weight * cp @ soft.T, cp @ exact.T]])
        rhs = np.concatenate([soft @ p - soft_goal, exact @ p - exact_goal])
        r_nu = np.linalg.solve(system, rhs)
        w = p - (soft_weight * sp.T @ r_nu[:n_soft] + cp.T @ r_nu[n_soft:])
        if w[active].min() >= 0:
            if np.abs(exact @ w - exact_goal).max() > 1e-9:
                break  # the support got too small to meet the exact conditions
            return np.where(active, w, 0.0)
        active[np.argmin(np.where(active, w, np.inf))] = False
    raise RuntimeError("no non-negative joint regressor meets the constraints")


# How much a joint may lag behind its designed shift per unit beta, in the least-squares trade-off.
_SHAPE_TOLERANCE_M = 0.001


def joint_regressor(vertices: np.ndarray, shapedirs: np.ndarray, joint_shifts: np.ndarray) -> np.ndarray:
    """(24, V), rows summing to 1: joints = regressor @ vertices exactly at the rest joints, and
    regressor @ shapedirs[:, :, k] as close to joint_shifts[:, :, k] as non-negative weights allow."""
    joints = rest_joints()
    used = [k for k in range(shapedirs.shape[2]) if np.abs(shapedirs[:, :, k]).max() > 0]
    soft = np.stack([shapedirs[:, c, k] for k in used for c in range(3)])
    exact = np.stack([np.ones(len(vertices)), *vertices.T])
    regressor = np.zeros((len(joints), len(vertices)))
    for j, name in enumerate(JOINT_NAMES):
        distance = np.linalg.norm(vertices - joints[j], axis=1)
        reach = _reach(name)
        prior = np.where(distance < reach, np.exp(-0.5 * (distance / (0.5 * reach)) ** 2), 0.0)
        soft_goal = np.array([joint_shifts[j, c, k] for k in used for c in range(3)])
        regressor[j] = _regressor_row(prior / prior.sum(), exact, np.concatenate([[1.0], joints[j]]), soft,
                                      soft_goal, 1.0 / _SHAPE_TOLERANCE_M ** 2)
    return regressor


def _nearest(vertices: np.ndarray, point) -> int:
    return int(np.argmin(np.linalg.norm(vertices - np.asarray(point, float), axis=1)))


def _mirrored(point, side: float) -> np.ndarray:
    return np.array([side * point[0], point[1], point[2]])


def keypoint_vertices(vertices: np.ndarray) -> np.ndarray:
    """(21,) vertex ids in smplx's keypoint order (nose, right/left eye, right/left ear, left big toe,
    small toe, heel, the same on the right, left thumb..pinky tips, right thumb..pinky tips)."""
    front = np.where(np.abs(vertices[:, 0]) < 0.01, vertices[:, 2], -np.inf)
    front[(vertices[:, 1] < 0.35) | (vertices[:, 1] > 0.40)] = -np.inf
    ids = [int(np.argmax(front))]  # nose tip: the most forward point of the nose's midline
    for point in ((0.032, 0.417, 0.107), (0.090, 0.398, 0.0)):  # eye front, outer ear
        ids += [_nearest(vertices, _mirrored(point, -1.0)), _nearest(vertices, _mirrored(point, 1.0))]
    for side in (1.0, -1.0):
        for point in ((0.100, -1.178, 0.175), (0.148, -1.180, 0.150), (0.080, -1.180, -0.083)):
            ids.append(_nearest(vertices, _mirrored(point, side)))
    for side in (1.0, -1.0):
        tips = [THUMB_TIP] + [np.array([x + length + 0.008, HAND_CENTER[1] - 0.013, HAND_CENTER[2] + tip_dz])
                              for _, _, x, length, _, tip_dz in FINGERS]
        ids += [_nearest(vertices, _mirrored(tip, side)) for tip in tips]
    return np.array(ids, dtype=np.int64)
