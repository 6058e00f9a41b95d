"""Foot locking: while a foot point is in contact it stays put.

For each foot point (heel, toe; contact.FOOT_POINT_NAMES) every run of frames in contact becomes one plant:
a fixed spot, the point's mean position over the run (a noisy estimate's foot bobs about it). The point is
held on the spot on every frame of the run; a lock weight fades in along a smoothstep over the
`blend_frames` frames before it and out over those after, and while it fades the point follows its own
motion plus the fading offset it had from the spot at the edge of the hold (`lock_targets`), so goals move
smoothly and the motion has no pops. Then per frame:

1. The whole body shifts by the weighted mean of the held points' errors (goal - current), only along
   the camera's line of sight when the camera is known. Sliding in a monocular estimate is mostly the
   root's depth jitter, which moves both feet alike; a shift along the line of sight barely changes the
   picture, so the reprojection stays near the unlocked estimate's.
2. Each leg's hip-knee-ankle chain is re-posed by two-bone IK (leg_ik) to put the ankle on its goal, and
   the ankle turns the foot so the toe points at its goal, so heel and toe stay put together.
3. The changed joints' rotations are the smallest turns that carry each bone to its new direction (twist is
   kept), re-expressed relative to the parents: the result is a pose, not just moved joints.

Everything else in the body is untouched, and `lock_feet` returns new arrays: the unlocked motion remains.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.skeleton import PARENTS

from ..runs import filled, true_runs
from .contact import FOOT_POINT_JOINTS
from .leg_ik import chain_turns, two_bone_ik
from .rotations import normalized, rotation_between

# Per leg (left, right): SMPL hip, knee, ankle, toe joints, and the contact columns of its heel and toe.
LEGS = (((1, 4, 7, 10), (0, 1)), ((2, 5, 8, 11), (2, 3)))
PELVIS = 0


@dataclass(frozen=True)
class FootLockParams:
    """contact >= threshold for at least min_contact_frames frames makes a plant; locks fade over blend_frames."""

    threshold: float = 0.5
    min_contact_frames: int = 3
    blend_frames: int = 4


@dataclass(frozen=True)
class LockedMotion:
    """A person's motion with planted feet, in the same world frame as its input."""

    pose_rotmat: np.ndarray  # (n, 24, 3, 3) joint rotations relative to the parent; [:, 0] unchanged
    joints: np.ndarray  # (n, 24, 3) the posed joints; root translation changed by joints[:, 0] - input's
    lock_weights: np.ndarray  # (n, 4) how strongly each foot point was held, 0..1


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def plants(contact: np.ndarray, params: FootLockParams = FootLockParams()) -> list[list[tuple[int, int]]]:
    """(n, K) contact probability -> per point, its plants [(start, stop)]: runs in contact at least
    min_contact_frames long; runs parted by fewer frames than that are one plant (a flicker of the
    probability must not move the target)."""
    result = []
    for column in np.asarray(contact).T:
        merged = true_runs(filled(column >= params.threshold, params.min_contact_frames - 1))
        result.append([run for run in merged if run[1] - run[0] >= params.min_contact_frames])
    return result


def lock_targets(foot_points: np.ndarray, contact: np.ndarray,
                 params: FootLockParams = FootLockParams()) -> tuple[np.ndarray, np.ndarray]:
    """World foot points (n, K, 3), contact (n, K) -> (lock weights (n, K), goals (n, K, 3): where each point
    should be in each frame; the point itself where its weight is 0).

    While fully held, a point's goal is its plant's spot. During a fade, the goal is the point's own motion
    plus the weight times the offset it had from the spot when the full hold began (or ended): the offset
    fades smoothly, whereas fading the growing gap to a foot that is already lifting off would jerk.
    """
    n, k = contact.shape
    points = np.asarray(foot_points, dtype=np.float64)
    weights, goals = np.zeros((n, k)), points.copy()
    fade = params.blend_frames
    frames = np.arange(n)
    for point, runs in enumerate(plants(contact, params)):
        for start, stop in runs:
            weight = np.minimum(_smoothstep((frames - (start - 1 - fade)) / (fade + 1)),
                                _smoothstep(((stop + fade) - frames) / (fade + 1)))
            inside = np.flatnonzero(weight > 0)
            spot = np.average(points[start:stop, point], axis=0, weights=weight[start:stop])
            held = np.flatnonzero(weight == weight.max())
            anchor = np.clip(inside, held[0], held[-1])
            # Fades of neighbouring plants may overlap in a short swing: their offsets add up, continuously.
            weights[inside, point] = np.maximum(weights[inside, point], weight[inside])
            goals[inside, point] += weight[inside, None] * (spot - points[anchor, point])
    return weights, goals


def global_rotations(pose_rotmat: np.ndarray) -> np.ndarray:
    """(n, 24, 3, 3) rotations relative to the parents -> (n, 24, 3, 3) rotations in the world."""
    result = np.array(pose_rotmat, dtype=np.float64)
    for joint, parent in enumerate(PARENTS):
        if parent >= 0:
            result[:, joint] = result[:, parent] @ result[:, joint]
    return result


def _repose_leg(leg: np.ndarray, leg_rotations: np.ndarray, heel_goal: np.ndarray, toe_weight: np.ndarray,
                toe_goal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hip, knee, ankle, toe positions (n, 4, 3) and world rotations (n, 4, 3, 3), the ankle's goal (n, 3), the
    toe's lock weight (n, 1) and goal (n, 3) -> the leg's new positions and world rotations (the hip stays)."""
    hip, knee, ankle, toe = leg[:, 0], leg[:, 1], leg[:, 2], leg[:, 3]
    # The thigh's front (its local +z) is where SMPL's knee bends to (knee flexion turns about local x).
    new_knee, new_ankle = two_bone_ik(hip, knee, ankle, heel_goal, leg_rotations[:, 0, :, 2])
    thigh_turn, shin_turn = chain_turns(hip, knee, ankle, hip, new_knee, new_ankle)
    foot = np.einsum("nij,nj->ni", shin_turn, toe - ankle)
    foot_turn = rotation_between(foot, toe_weight * (toe_goal - new_ankle) + (1.0 - toe_weight) * foot) @ shin_turn
    positions = np.stack([hip, new_knee, new_ankle, new_ankle + np.einsum("nij,nj->ni", foot_turn, toe - ankle)], 1)
    turns = np.stack([thigh_turn, shin_turn, foot_turn, foot_turn], axis=1)
    return positions, turns @ leg_rotations


def lock_feet(pose_rotmat: np.ndarray, joints: np.ndarray, contact: np.ndarray,
              camera_centre: np.ndarray | None = None, params: FootLockParams = FootLockParams()) -> LockedMotion:
    """One person in the Z-up world: rotations (n, 24, 3, 3) ([:, 0] the world orientation), joints (n, 24, 3)
    and contact probability (n, 4) (contact.py, FOOT_POINT_NAMES order) -> LockedMotion.

    `camera_centre` (3,) world: when given, the body shifts only along the camera's line of sight to the
    pelvis (which leaves the picture nearly as it was) and the legs take up the rest; else in any direction.
    """
    joints = np.asarray(joints, dtype=np.float64)
    rotations = global_rotations(pose_rotmat)
    weights, goals = lock_targets(joints[:, FOOT_POINT_JOINTS], np.asarray(contact), params)
    errors = goals - joints[:, FOOT_POINT_JOINTS]  # already scaled by the weights
    shift = errors.sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)[:, None]
    if camera_centre is not None:
        sight = normalized(joints[:, PELVIS] - camera_centre)
        shift = np.sum(shift * sight, axis=-1, keepdims=True) * sight
    goals = goals + (1.0 - weights[..., None]) * shift[:, None]  # what is not held goes with the body
    new_joints = joints + shift[:, None]
    new_rotations = rotations.copy()
    for chain, (heel, toe) in LEGS:
        chain = list(chain)
        new_joints[:, chain], new_rotations[:, chain] = _repose_leg(
            new_joints[:, chain], rotations[:, chain], goals[:, heel], weights[:, toe, None], goals[:, toe])
    pose = np.array(pose_rotmat, dtype=np.float64)
    for chain, _ in LEGS:
        for joint in chain[:3]:  # hip, knee, ankle; the toe keeps its rotation relative to the ankle
            pose[:, joint] = np.swapaxes(new_rotations[:, PARENTS[joint]], -1, -2) @ new_rotations[:, joint]
    return LockedMotion(pose_rotmat=pose, joints=new_joints, lock_weights=weights)
