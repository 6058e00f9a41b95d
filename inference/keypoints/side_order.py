"""Which of a person's limbs is the left one, kept consistent along a track.

On side and back views the landmark model often labels a person's arms or legs the wrong way round for a few
frames (the `turn` and `dance` quality clips: a raised right arm read as the left one for two frames, then right
again). The fit then follows the swapped labels and the body's limbs jump through each other and back. A real
limb moves a little from one frame to the next; a swapped label jumps by the distance between the two limbs. So
per track and per part (the trunk's sides, the arms, the legs) the labelling of each frame, as given or swapped,
is chosen by dynamic programming to make the landmarks move least along the track, with a small charge for
every swapped frame, so that where both labellings move alike (limbs side by side) the model's own stands.
Positions are taken relative to the hips' midpoint and measured in torso lengths, which neither labelling nor
the person's own travel changes. The trunk is labelled first; then each frame also prefers the labelling of the
arms (legs) that keeps each elbow (knee) nearer its own shoulder (hip) than the other one: judged part by part
on motion alone, a front view's arms held out sideways were swapped for eight frames while the trunk was not (the
sample clip's jumper, frames 50-57), and no body can follow arms crossed over from the wrong shoulders. Where the
shoulders (hips) overlap in the picture, as in a side view, this says nothing and motion decides alone.
"""
from __future__ import annotations

import numpy as np

from ..fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES
from .decode import MIRROR_ORDER

SWAP_CHARGE = 0.3  # log of the factor by which a frame's swap must shrink its steps' movement to be chosen
STILL = 0.2  # torso lengths: movement of a part's landmarks (summed) too small to tell the labellings apart
MAX_LINKED_GAP = 3  # frames; a track unseen for longer starts afresh from the model's labels


def _pairs(*left_names: str) -> tuple[tuple[int, int], ...]:
    """Index pairs (left, right) of the named left landmarks and their mirror twins."""
    return tuple((i, int(MIRROR_ORDER[i])) for i in map(BLAZEPOSE_LANDMARK_NAMES.index, left_names))


PARTS: dict[str, tuple[tuple[int, int], ...]] = {
    "trunk": _pairs("left_shoulder", "left_hip", "left_eye_inner", "left_eye", "left_eye_outer", "left_ear",
                    "mouth_left"),
    "arms": _pairs("left_elbow", "left_wrist", "left_pinky", "left_index", "left_thumb"),
    "legs": _pairs("left_knee", "left_ankle", "left_heel", "left_foot_index"),
}
_HIPS, _SHOULDERS = PARTS["trunk"][1], PARTS["trunk"][0]
# The joint of each limb part that hangs from a trunk landmark pair, and that pair.
ATTACHED: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "arms": (_pairs("left_elbow")[0], _SHOULDERS),
    "legs": (_pairs("left_knee")[0], _HIPS),
}


def _centred(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 33, 2) pixels -> the same relative to the hips' midpoint, in torso lengths, and (n,) whether usable."""
    hips = pixels[:, list(_HIPS)].mean(axis=1)
    shoulders = pixels[:, list(_SHOULDERS)].mean(axis=1)
    torso = np.linalg.norm(shoulders - hips, axis=1)
    usable = np.isfinite(torso) & (torso > 0)
    scale = np.median(torso[usable]) if usable.any() else 1.0
    return (pixels - hips[:, None]) / scale, usable


def _labelled(points: np.ndarray, swapped: int) -> np.ndarray:
    """(..., 2 sides, pairs, 2) -> the same with the sides exchanged when `swapped`."""
    return points[..., ::-1, :, :] if swapped else points


def _step_costs(centred: np.ndarray, weight: np.ndarray, pairs: tuple[tuple[int, int], ...],
                gaps: np.ndarray) -> np.ndarray:
    """(n - 1, 2, 2) cost of each step t -> t + 1 by [whether frames t - 1 and t are labelled differently,
    whether t and t + 1 are]: the log of how far the part's landmarks (summed, in torso lengths, plus `STILL`)
    land from where they were, or from where they were heading (constant velocity from t - 1), whichever is
    nearer. Logs, because what tells a swap is the ratio of the two labellings' misses: a label jump misses by
    the distance between the limbs, while a fast limb misses about equally either way. The heading matters where
    limbs pass each other at speed (legs in a side view): there, position alone would take the passing for a
    bounce and swap the labels for a frame.

    centred (n, 33, 2) and weight (n, 33) 0..1 (0 where unusable); gaps (n - 1,) frames between rows. A pair of
    twins counts with the least confidence of its landmarks in the frames compared, the same for both
    labellings: where one limb is hidden its position is the model's guess, and a match to a guess must not
    look cheap."""
    left, right = [p[0] for p in pairs], [p[1] for p in pairs]
    points = np.nan_to_num(np.stack((centred[:, left], centred[:, right]), axis=1))  # (n, 2, pairs, 2)
    trust = np.minimum(weight[:, left], weight[:, right])  # (n, pairs)
    costs = np.zeros((len(points) - 1, 2, 2))
    for t in range(len(points) - 1):
        pair_trust = np.minimum(trust[t], trust[t + 1])
        for then_differ in (0, 1):
            heading = None
            if t > 0 and gaps[t - 1] <= MAX_LINKED_GAP:
                pair_trust_3 = np.minimum(pair_trust, trust[t - 1])
                velocity = (points[t] - _labelled(points[t - 1], then_differ)) * (gaps[t] / gaps[t - 1])
                heading = points[t] + velocity
            for now_differ in (0, 1):
                after = _labelled(points[t + 1], now_differ)
                miss = (pair_trust * np.linalg.norm(after - points[t], axis=-1)).sum()
                if heading is not None:
                    miss = min(miss, (pair_trust_3 * np.linalg.norm(after - heading, axis=-1)).sum())
                costs[t, then_differ, now_differ] = np.log(miss + STILL)
    return costs


def _attachment_costs(centred: np.ndarray, weight: np.ndarray, limb: tuple[int, int], anchors: tuple[int, int],
                      trunk_swapped: np.ndarray) -> np.ndarray:
    """(n, 2) cost of each frame's limb labelling [as given, swapped]: the log of how far the limb's joints
    (elbows, knees) are from their own side's anchors (shoulders, hips, as the trunk is labelled), summed in
    torso lengths, each side counted with the least confidence of its two landmarks."""
    anchor = centred[:, list(anchors)]  # (n, 2, 2): left, right
    anchor = np.where(trunk_swapped[:, None, None], anchor[:, ::-1], anchor)
    joint = centred[:, list(limb)]
    trust = np.minimum(weight[:, list(limb)], weight[:, list(anchors)]).min(axis=1)  # (n,)
    costs = np.zeros((len(centred), 2))
    for swapped in (0, 1):
        labelled = joint[:, ::-1] if swapped else joint
        costs[:, swapped] = trust * np.log(np.nan_to_num(np.linalg.norm(labelled - anchor, axis=-1)).sum(axis=1)
                                           + STILL)
    return costs


def _best_labels(step_costs: np.ndarray, linked: np.ndarray, frame_costs: np.ndarray | None = None) -> np.ndarray:
    """Viterbi over the labels of two successive frames (0 = as given, 1 = swapped) -> (n,) bool swapped.

    step_costs (n - 1, 2, 2) as `_step_costs`; linked (n - 1,) False where a gap breaks the track (the step
    costs nothing either way); frame_costs (n, 2) each frame's own cost of either label (`_attachment_costs`),
    added to the charge for a swap."""
    n = len(step_costs) + 1
    charges = np.array([0.0, SWAP_CHARGE]) + (0.0 if frame_costs is None else frame_costs)
    charges = np.broadcast_to(charges, (n, 2))
    total = charges[0][:, None] + charges[1][None, :]  # [label t - 1, label t] for t = 1
    total = total + np.array([[step_costs[0][0, a ^ b] if linked[0] else 0.0 for b in (0, 1)] for a in (0, 1)])
    came_from = np.zeros((n, 2, 2), dtype=np.int64)  # [t, label t - 1, label t] -> label t - 2
    for t in range(2, n):
        cost = step_costs[t - 1] if linked[t - 1] else np.zeros((2, 2))
        new = np.empty((2, 2))
        for b in (0, 1):
            for c in (0, 1):
                options = [total[a, b] + cost[a ^ b, b ^ c] for a in (0, 1)]
                came_from[t, b, c] = int(np.argmin(options))
                new[b, c] = min(options) + charges[t][c]
        total = new
    labels = np.zeros(n, dtype=np.int64)
    labels[-2], labels[-1] = np.unravel_index(int(np.argmin(total)), (2, 2))
    for t in range(n - 1, 1, -1):
        labels[t - 2] = came_from[t, labels[t - 1], labels[t]]
    return labels.astype(bool)


def side_swaps(pixels: np.ndarray, confidence: np.ndarray, frames: np.ndarray) -> dict[str, np.ndarray]:
    """One track's landmarks -> per part of `PARTS`, (n,) bool: swap that part's left and right in that frame.

    pixels (n, 33, 2) with NaN where not seen; confidence (n, 33) 0..1; frames (n,) increasing frame numbers."""
    n = len(pixels)
    if n < 2:
        return {part: np.zeros(n, dtype=bool) for part in PARTS}
    centred, usable = _centred(np.asarray(pixels, dtype=np.float64))
    weight = np.where(np.isfinite(centred).all(axis=-1) & usable[:, None], np.nan_to_num(confidence), 0.0)
    gaps = np.diff(np.asarray(frames)).astype(np.float64)
    linked, steps = gaps <= MAX_LINKED_GAP, np.maximum(gaps, 1.0)
    swaps = {"trunk": _best_labels(_step_costs(centred, weight, PARTS["trunk"], steps), linked)}
    for part, (limb, anchors) in ATTACHED.items():
        attachment = _attachment_costs(centred, weight, limb, anchors, swaps["trunk"])
        swaps[part] = _best_labels(_step_costs(centred, weight, PARTS[part], steps), linked, attachment)
    return swaps


def swap_order(swaps: dict[str, np.ndarray]) -> np.ndarray:
    """Per-part swaps (n,) -> (n, 33) landmark order: `values[t][order[t]]` relabels frame t."""
    n = len(next(iter(swaps.values())))
    order = np.tile(np.arange(len(BLAZEPOSE_LANDMARK_NAMES)), (n, 1))
    for part, swapped in swaps.items():
        for left, right in PARTS[part]:
            order[swapped, left], order[swapped, right] = right, left
    return order


def relabelled(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """(n, 33, ...) per-landmark values -> the same with each frame's landmarks taken in `order` (n, 33)."""
    return np.take_along_axis(values, order.reshape(order.shape + (1,) * (values.ndim - 2)), axis=1)
