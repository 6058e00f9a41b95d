"""The retarget's numpy core: smallest rotations, rest alignment across rest poses, proportions and object
transforms, the trunk correction, and key thinning within its tolerance."""
import numpy as np

from pare_body_estimator.addon.retarget.key_thinning import kept_frames
from pare_body_estimator.addon.retarget.retarget_math import (
    AIM_CHAINS, RestRig, body_frame, minimal_rotation, rest_alignments, straighten_trunk)

JOINTS = ("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
          "right_ankle", "neck", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
          "right_wrist", "head")


def random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def small_rotation(rng, spread=0.4):
    """A rotation by a random axis-angle vector with components of about `spread` radians (a bent back, not
    a folded one)."""
    vector = rng.normal(0, spread, 3)
    angle = np.linalg.norm(vector)
    k = np.array([[0, -vector[2], vector[1]], [vector[2], 0, -vector[0]], [-vector[1], vector[0], 0]]) / angle
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def t_pose():
    """Heads and tails of a T-posed body facing -y (z up, the person's left at +x)."""
    heads = {"pelvis": (0, 0, 1.0), "left_hip": (0.1, 0, 0.92), "right_hip": (-0.1, 0, 0.92), "spine1": (0, 0, 1.1),
             "left_knee": (0.1, 0, 0.5), "right_knee": (-0.1, 0, 0.5), "spine2": (0, 0, 1.25),
             "left_ankle": (0.1, 0, 0.08), "right_ankle": (-0.1, 0, 0.08), "neck": (0, 0, 1.5),
             "left_shoulder": (0.18, 0, 1.42), "right_shoulder": (-0.18, 0, 1.42), "left_elbow": (0.45, 0, 1.42),
             "right_elbow": (-0.45, 0, 1.42), "left_wrist": (0.7, 0, 1.42), "right_wrist": (-0.7, 0, 1.42),
             "head": (0, 0, 1.6)}
    return {joint: np.array(head, float) for joint, head in heads.items()}


def rig(heads, rng, transform=np.eye(3), offset=np.zeros(3)):
    """A RestRig with the heads turned by `transform` and moved by `offset`, random bone rolls."""
    rows = [(joint, heads[joint] @ transform.T + offset) for joint in JOINTS]
    tails = [head + transform @ np.array([0, 0, 0.1]) for _, head in rows]
    return RestRig(JOINTS, np.array([h for _, h in rows]), np.array([random_rotation(rng) for _ in JOINTS]),
                   np.array(tails))


def direction(rig_, joint):
    """From the joint's head to the next mapped joint down its chain."""
    aim = next(child for child in AIM_CHAINS[joint] if child in rig_.joints)
    return rig_.head(aim) - rig_.head(joint)


def test_the_smallest_rotation_takes_one_direction_onto_another():
    rng = np.random.default_rng(0)
    for a, b in [rng.normal(size=(2, 3)) for _ in range(20)] + [(np.array([0, 0, 1.0]), np.array([0, 0, -2.0]))]:
        rotation = minimal_rotation(a, b)
        assert np.allclose(rotation @ rotation.T, np.eye(3)) and np.isclose(np.linalg.det(rotation), 1)
        assert np.allclose(rotation @ a / np.linalg.norm(a), b / np.linalg.norm(b))


def test_rest_alignment_lays_an_a_posed_turned_scaled_rig_on_the_source():
    rng = np.random.default_rng(1)
    source = rig(t_pose(), rng)
    heads = t_pose()
    for side, sign in (("left", 1), ("right", -1)):  # arms 40 degrees down, longer legs
        shoulder = heads[f"{side}_shoulder"]
        down = np.array([sign * np.cos(np.radians(40)), 0, -np.sin(np.radians(40))])
        heads[f"{side}_elbow"], heads[f"{side}_wrist"] = shoulder + 0.3 * down, shoulder + 0.58 * down
        heads[f"{side}_ankle"] = heads[f"{side}_ankle"] - [0, 0, 0.1]
    turn = np.array([[-1.0, 0, 0], [0, -1, 0], [0, 0, 1]])  # faces +y
    target = rig(heads, rng, 0.01 * turn, np.array([3.0, 1, 0]))
    alignments = rest_alignments(source, target)
    assert np.allclose(body_frame(source), alignments[0] @ body_frame(target))
    for index, joint in enumerate(JOINTS):
        if any(child in target.joints for child in AIM_CHAINS.get(joint, ())):
            moved = alignments[index] @ direction(target, joint)
            assert np.allclose(moved / np.linalg.norm(moved), direction(source, joint) /
                               np.linalg.norm(direction(source, joint))), joint


def test_the_trunk_correction_puts_the_neck_on_the_source_trunk_line():
    rng = np.random.default_rng(2)
    rest = rig(t_pose(), rng)
    rotations = np.array([[small_rotation(rng) @ rotation for rotation in rest.rotations] for _ in range(5)])
    hips = rng.normal(size=(5, 3))
    trunk = np.array([0, 0, 1.0]) + 0.3 * rng.normal(size=(5, 3))
    corrected = straighten_trunk(rotations, rest, hips, trunk)
    turned = {j: corrected[:, i] @ rest.rotations[i].T for i, j in enumerate(rest.joints)}
    hip_centre = (rest.head("left_hip") + rest.head("right_hip")) / 2
    neck = hips + turned["pelvis"] @ (rest.head("pelvis") - hip_centre)
    for joint, child in (("pelvis", "spine1"), ("spine1", "spine2"), ("spine2", "neck")):
        neck = neck + turned[joint] @ (rest.head(child) - rest.head(joint))
    along = (neck - hips) / np.linalg.norm(neck - hips, axis=1, keepdims=True)
    assert np.allclose(along, trunk / np.linalg.norm(trunk, axis=1, keepdims=True), atol=1e-9)
    untouched = [i for i, j in enumerate(rest.joints) if j not in ("spine1", "spine2")]
    assert np.allclose(corrected[:, untouched], rotations[:, untouched])


def test_thinning_keeps_linear_interpolation_within_the_tolerance():
    frames = np.arange(1, 101, dtype=float)
    values = np.column_stack([np.sin(frames / 9), np.cos(frames / 13), frames * 0.01])
    kept = kept_frames(frames, values, 0.02)
    assert kept[0] == 0 and kept[-1] == 99 and len(kept) < 40, len(kept)
    rebuilt = np.column_stack([np.interp(frames, frames[kept], values[kept, k]) for k in range(3)])
    assert np.abs(rebuilt - values).max() <= 0.02
    assert list(kept_frames(frames, np.column_stack([frames * 2.0, -frames]), 1e-9)) == [0, 99]
