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

Motion in the picture cannot undo a long run of swapped frames: each swapped frame is charged, and the two label
jumps that bound a run cost less than a second of charges. The model's own 3D points can: it labels them as it
labels the picture, so a trunk labelled the wrong way round turns the 3D torso to face the other way from one
frame to the next, a turn no person makes (issue 9's calibrated footage, camera 2: facing the camera until frame
40, away for 25 frames, the face pixelated; the fit followed and missed by 225 mm there). A step whose torso
turns past `MAX_TURN_DEG` costs the trunk's labelling `TURN_CHARGE`, so the run is swapped back; judged only in
front and back views whose 3D facing is otherwise steady (in a spin or a side view it swings about). Such a swap
is the model taking the person's front for their back, so it swaps the limbs too: a limb's charge is for
a labelling other than its trunk's (on that footage the legs' own cues were too weak to follow it).
"""
from __future__ import annotations

import numpy as np

from ..fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES
from ..samples import sample_gaps
from .decode import MIRROR_ORDER

SWAP_CHARGE = 0.3  # log of the factor by which a frame's swap must shrink its steps' movement to be chosen
STILL = 0.2  # torso lengths: movement of a part's landmarks (summed) too small to tell the labellings apart
MAX_LINKED_GAP = 3  # samples; a track unseen for longer starts afresh from the model's labels
MAX_TURN_DEG = 90.0  # the 3D torso's turn in one sample step beyond which it is a label swap (a pirouette: 25)
TURN_CHARGE = 10.0  # what such a turn costs: more than 30 swapped frames' charges
STEADY_AXIS_DEG = 45.0  # the torso's facing, up to a flip, changes less than this per step around a judged turn
STEADY_STEPS = 3  # steps either side of a turn over which the facing must be steady for the turn to count
FRONTAL = 0.7  # |depth component| of the torso's facing from which a view is a front or back one (45 degrees)


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

    centred (n, 33, 2) and weight (n, 33) 0..1 (0 where unusable); gaps (n - 1,) samples between rows. A pair of
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


def _facing(world: np.ndarray) -> np.ndarray:
    """(n, 33, 3) metric 3D landmarks -> (n, 3) unit normal of the torso (NaN where unusable): the way the
    torso faces, as its points are labelled (swapping left and right turns it round)."""
    shoulders, hips = world[:, list(_SHOULDERS)], world[:, list(_HIPS)]
    across = (shoulders[:, 0] - shoulders[:, 1]) + (hips[:, 0] - hips[:, 1])
    up = shoulders.mean(axis=1) - hips.mean(axis=1)
    normal = np.cross(up, across)
    length = np.linalg.norm(normal, axis=1, keepdims=True)
    return np.where(length > 0, normal / np.where(length > 0, length, 1.0), np.nan)


def _steady(facing: np.ndarray, judged: np.ndarray, linked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether the torso's facing axis (a flip aside) changes less than `STEADY_AXIS_DEG` between every two
    successive judged frames (`judged` (n,): front and back views) within `STEADY_STEPS` of them, for the
    judged frames t and t + 1 (steps (n - 1,)) and for judged frames t - 1 and t + 1 around a frame t not judged
    ((n - 1,), at t). Where the model's 3D torso swings about (a back view, a spin: the `turn` clip's pirouette
    swings 40-70 degrees a frame), its turns say nothing about the labels. A frame not judged (side-on, or
    garbled for a frame) is stepped over: at a quarter of the real footage's resolution the model's
    front-for-back runs begin and end with such frames, which kept every turn near them from counting (camera
    2: PA limbs 138 mm)."""
    rows = np.flatnonzero(judged)
    adjacent_steady, skipping_steady = np.zeros(len(linked), dtype=bool), np.zeros(len(linked), dtype=bool)
    if len(rows) < 2:
        return adjacent_steady, skipping_steady
    broken = np.concatenate(([0], np.cumsum(~linked)))  # steps not linked, up to each frame
    spans = np.diff(rows)
    near = (spans <= 2) & (broken[rows[1:]] == broken[rows[:-1]])
    cosine = np.abs((facing[rows[:-1]] * facing[rows[1:]]).sum(axis=1))
    calm = (np.degrees(np.arccos(np.clip(cosine, 0.0, 1.0))) < STEADY_AXIS_DEG) & near
    padded = np.pad(calm, STEADY_STEPS, constant_values=True)
    calm_around = np.lib.stride_tricks.sliding_window_view(padded, 2 * STEADY_STEPS + 1).all(axis=1) & near
    adjacent_steady[rows[:-1][spans == 1]] = calm_around[spans == 1]
    skipping_steady[rows[:-1][spans == 2] + 1] = calm_around[spans == 2]
    return adjacent_steady, skipping_steady


def _turn_costs(world: np.ndarray, weight: np.ndarray, gaps: np.ndarray, linked: np.ndarray) -> np.ndarray:
    """(n - 1, 2, 2) trunk step costs, as `_step_costs`, of the 3D torso turning further than a person can:
    `TURN_CHARGE` (times the trunk landmarks' least confidence in the two frames) where the torso's facing
    changes by more than `MAX_TURN_DEG` per sample between frames t and t + 1 labelled as they are [differ = 0]
    or one of them swapped [differ = 1], ramping up over the next 45 degrees; only in front and back views
    (`FRONTAL`) and where the facing is otherwise steady (`_steady`). Across one frame that is not judged, the
    turn from t - 1 to t + 1 counts at step t, whose two differ flags together say how t - 1 and t + 1 are
    labelled, with the same limit (where the facing's axis is steady, a turn is either under 45 degrees or a
    flip, whatever the frames between). In a side view the two sides overlap in the picture, and the model's
    3D labels need not follow its 2D ones (the `fast` clip, frame 21)."""
    facing = _facing(world)
    trust = weight[:, [i for pair in (_SHOULDERS, _HIPS) for i in pair]].min(axis=1)
    judged = np.isfinite(facing).all(axis=1) & (np.abs(np.nan_to_num(facing[:, 2])) >= FRONTAL)
    adjacent_steady, skipping_steady = _steady(facing, judged, linked)
    costs = np.zeros((len(gaps), 2, 2))

    def charge(cosine: np.ndarray, pair_trust: np.ndarray, limit: np.ndarray, sign: float) -> np.ndarray:
        turn = np.degrees(np.arccos(np.clip(sign * np.nan_to_num(cosine), -1.0, 1.0)))
        return TURN_CHARGE * pair_trust * np.clip((turn - np.minimum(limit, 180.0)) / 45.0, 0.0, 1.0)

    cosine = (facing[:-1] * facing[1:]).sum(axis=1)
    step_trust = np.minimum(trust[:-1], trust[1:]) * adjacent_steady
    for differ, sign in ((0, 1.0), (1, -1.0)):
        costs[:, :, differ] += charge(cosine, step_trust, MAX_TURN_DEG * gaps, sign)[:, None]
    if len(gaps) > 1:  # step t (t >= 1) for the frames t - 1 and t + 1 around a frame t not judged
        around = (facing[:-2] * facing[2:]).sum(axis=1)
        around_trust = np.minimum(trust[:-2], trust[2:]) * skipping_steady[1:]
        for differ, sign in ((0, 1.0), (1, -1.0)):
            extra = charge(around, around_trust, MAX_TURN_DEG * np.maximum(gaps[:-1], gaps[1:]), sign)
            for then_differ in (0, 1):
                costs[1:, then_differ, then_differ ^ differ] += extra
    return costs


def _best_labels(step_costs: np.ndarray, linked: np.ndarray, frame_costs: np.ndarray | None = None,
                 expected: np.ndarray | None = None) -> np.ndarray:
    """Viterbi over the labels of two successive frames (0 = as given, 1 = swapped) -> (n,) bool swapped.

    step_costs (n - 1, 2, 2) as `_step_costs`; linked (n - 1,) False where a gap breaks the track (the step
    costs nothing either way); frame_costs (n, 2) each frame's own cost of either label (`_attachment_costs`),
    added to the charge for a label other than `expected` (n,) bool (None: as given)."""
    n = len(step_costs) + 1
    expected = np.zeros(n, dtype=bool) if expected is None else expected
    charges = np.where(expected[:, None], [SWAP_CHARGE, 0.0], [0.0, SWAP_CHARGE])
    charges = charges + (0.0 if frame_costs is None else frame_costs)
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


def side_swaps(pixels: np.ndarray, confidence: np.ndarray, frames: np.ndarray,
               world: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """One track's landmarks -> per part of `PARTS`, (n,) bool: swap that part's left and right in that frame.

    pixels (n, 33, 2) with NaN where not seen; confidence (n, 33) 0..1; frames (n,) increasing frame numbers;
    world (n, 33, 3) the model's metric 3D points, or None (then the torso's turns are not judged)."""
    n = len(pixels)
    if n < 2:
        return {part: np.zeros(n, dtype=bool) for part in PARTS}
    centred, usable = _centred(np.asarray(pixels, dtype=np.float64))
    weight = np.where(np.isfinite(centred).all(axis=-1) & usable[:, None], np.nan_to_num(confidence), 0.0)
    # Gaps in samples (in frames, the turn limit had doubled to 180 degrees at --stride 2, and camera 2 of the
    # real footage kept its front taken for its back: PA limbs 116 mm, now 72).
    gaps, _ = sample_gaps(frames)
    linked, steps = gaps <= MAX_LINKED_GAP, np.maximum(gaps, 1.0)
    trunk_costs = _step_costs(centred, weight, PARTS["trunk"], steps)
    if world is not None:
        trunk_costs = trunk_costs + _turn_costs(np.asarray(world, dtype=np.float64), weight, steps, linked)
    swaps = {"trunk": _best_labels(trunk_costs, linked)}
    for part, (limb, anchors) in ATTACHED.items():
        attachment = _attachment_costs(centred, weight, limb, anchors, swaps["trunk"])
        swaps[part] = _best_labels(_step_costs(centred, weight, PARTS[part], steps), linked, attachment,
                                   expected=swaps["trunk"])
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
