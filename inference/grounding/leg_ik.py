"""Analytic two-bone IK for SMPL's hip-knee-ankle chains, and the rotations that carry a re-posed chain.

The knee stays in the plane spanned by the hip-to-target line and the original knee (the pole), so its
sideways set is kept, but always on the front side (`forward`: where the knee bends to): an estimate whose
knee bent backwards is mirrored to the front, so a knee never hyper-extends. The reach is capped just short
of a straight leg (`min_bend_deg`), and eased in over its last 3 % (beyond the leg's own extension) so that a leg
reaching for a far target does not snap straight. Bone lengths are kept exactly.
"""
from __future__ import annotations

import numpy as np

from .rotations import normalized, rotation_between

MIN_BEND_DEG = 0.5
# Reach beyond this share of the longest reach, and beyond the chain's own extension, is eased in ("soft
# IK"), so a leg straightens smoothly rather than snapping straight when a target runs out of reach.
SOFT_REACH = 0.97


def _soft_reach(distance: np.ndarray, extension: np.ndarray, longest: np.ndarray) -> np.ndarray:
    """Distance to the target, the chain's own root-to-end distance and its longest reach -> the reach.

    Exact up to max(SOFT_REACH * longest, extension) (so a chain asked to stay where it is does), then easing
    towards `longest` without getting there, continuous and with a continuous slope.
    """
    soft = np.maximum(SOFT_REACH * longest, np.minimum(extension, longest))
    span = np.maximum(longest - soft, 1e-9)
    eased = soft + span * (1.0 - np.exp(-(distance - soft) / span))
    return np.where(distance <= soft, distance, eased)


def two_bone_ik(root: np.ndarray, mid: np.ndarray, end: np.ndarray, target: np.ndarray,
                forward: np.ndarray, min_bend_deg: float = MIN_BEND_DEG) -> tuple[np.ndarray, np.ndarray]:
    """Chain joints root, mid, end (n, 3) and end targets (n, 3) -> new (mid, end) positions (n, 3) each.

    `forward` (n, 3): the side the middle joint bends towards (for a leg: the thigh's front); also the bend
    where the original chain is straight. Where the target is out of reach the end stops on the line to it.
    """
    upper = np.linalg.norm(mid - root, axis=-1)
    lower = np.linalg.norm(end - mid, axis=-1)
    towards = target - root
    longest = np.sqrt(upper**2 + lower**2 + 2 * upper * lower * np.cos(np.radians(min_bend_deg)))
    extension = np.linalg.norm(end - root, axis=-1)
    reach = np.maximum(_soft_reach(np.linalg.norm(towards, axis=-1), extension, longest),
                       np.abs(upper - lower) + 1e-6)
    axis = normalized(towards)
    bend = mid - root
    bend = bend - np.sum(bend * axis, axis=-1, keepdims=True) * axis
    front = normalized(forward - np.sum(forward * axis, axis=-1, keepdims=True) * axis)
    bend = bend - 2.0 * np.minimum(np.sum(bend * front, axis=-1, keepdims=True), 0.0) * front
    straight = np.linalg.norm(bend, axis=-1) < 1e-4 * upper
    bend = normalized(np.where(straight[:, None], front, bend))
    along = (upper**2 - lower**2 + reach**2) / (2 * reach)
    across = np.sqrt(np.maximum(upper**2 - along**2, 0.0))
    new_mid = root + axis * along[:, None] + bend * across[:, None]
    return new_mid, root + axis * reach[:, None]


def chain_turns(root: np.ndarray, mid: np.ndarray, end: np.ndarray, new_root: np.ndarray, new_mid: np.ndarray,
                new_end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A chain's joints before and after IK (n, 3) each -> the world turns (n, 3, 3) of its upper bone and of
    its lower bone: the smallest turns carrying each bone to its new direction (the twist is kept), the lower
    one including the upper one's. A joint's new world rotation is its bone's turn @ its old world rotation.
    """
    upper = rotation_between(mid - root, new_mid - new_root)
    carried = np.einsum("nij,nj->ni", upper, end - mid)
    return upper, rotation_between(carried, new_end - new_mid) @ upper


def knee_bend_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """(n, 3) each -> (n,) how far the leg is bent at the knee, degrees (0 = straight)."""
    thigh, shin = normalized(knee - hip), normalized(ankle - knee)
    return np.degrees(np.arccos(np.clip(np.sum(thigh * shin, axis=-1), -1.0, 1.0)))
