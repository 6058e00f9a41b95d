"""The retarget's math: world rotations and the root path of a target rig that moves like the source (numpy
only; everything in world space, metres, rotations as (3, 3) matrices with columns the bone's X, Y, Z axes).

Why it works for any rest pose, roll, proportion and object transform: each source bone's motion is its world
*change* from rest, S(f) = R(f) R_rest^T. The target bone gets the same change after a rest alignment A that
turns the target's rest bone onto the source's rest bone: G(f) = S(f) A, target world rotation G(f) R_t_rest.
A is built in two steps: the whole body is turned so the target faces where the source faces (the body frame
from the hips and the trunk), then each bone is swung by the smallest rotation that lays its direction (head
to the head of the next mapped bone down the chain) on the source's. So an A-posed arm is lifted onto the
T-posed source's at rest, twist included, and in every frame its direction is the source's:
G(f) d_t = S(f) d_s. Rolls and object scale never enter: only directions and normalised rotations do. The
spine is then turned as a whole so the trunk, made of segments of other lengths, follows too (straighten_trunk).

The root moves about the source armature's origin like the source's hips, scaled by the ratio of leg lengths
(a taller rig takes longer steps), from where the target's origin stands.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Where a joint's bone points: the first of these that is mapped (SMPL's chains, top to bottom). A joint with
# none mapped (a leaf: head, hands, toes) uses its bone's own axis.
AIM_CHAINS: dict[str, tuple[str, ...]] = {
    "spine1": ("spine2", "spine3", "neck", "head"), "spine2": ("spine3", "neck", "head"),
    "spine3": ("neck", "head"), "neck": ("head",),
    **{f"{side}_{joint}": tuple(f"{side}_{child}" for child in chain) for side in ("left", "right")
       for joint, chain in (("hip", ("knee", "ankle")), ("knee", ("ankle", "foot")), ("ankle", ("foot",)),
                            ("collar", ("shoulder", "elbow")), ("shoulder", ("elbow", "wrist")),
                            ("elbow", ("wrist", "hand")), ("wrist", ("hand",)))},
}


@dataclass(frozen=True)
class RestRig:
    """A rig's rest pose in world space for the joints it maps: heads (k, 3), rotations (k, 3, 3)
    (normalised: no scale), tails (k, 3), in the order of `joints`."""

    joints: tuple[str, ...]
    heads: np.ndarray
    rotations: np.ndarray
    tails: np.ndarray

    def head(self, joint: str) -> np.ndarray:
        return self.heads[self.joints.index(joint)]


def normalized(vectors: np.ndarray) -> np.ndarray:
    """(..., 3) -> unit vectors."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def orthonormalized(matrices: np.ndarray) -> np.ndarray:
    """(..., 3, 3) linear parts (with scale, e.g. an FBX rig's 0.01) -> the nearest rotations."""
    u, _, vt = np.linalg.svd(np.asarray(matrices, dtype=np.float64))
    return u @ vt


def minimal_rotation(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking direction `start` (3,) onto `end` (3,) (a half turn about an
    axis perpendicular to both when they are opposite)."""
    a, b = normalized(start), normalized(end)
    axis = np.cross(a, b)
    sine, cosine = np.linalg.norm(axis), float(np.dot(a, b))
    if sine < 1e-9:
        if cosine > 0:
            return np.eye(3)
        helper = np.eye(3)[np.argmin(np.abs(a))]
        axis = normalized(np.cross(a, helper))
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = axis / sine
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + sine * cross + (1 - cosine) * cross @ cross


def hip_centre(rig: RestRig) -> np.ndarray:
    """(3,) the midpoint of the thighs' heads: the point whose path is the root motion."""
    return (rig.head("left_hip") + rig.head("right_hip")) / 2


def body_frame(rig: RestRig) -> np.ndarray:
    """(3, 3) columns: the rig's left (right thigh to left thigh), up (hips to the top of the trunk) made
    perpendicular to left, and their cross product (forward for a right-handed body)."""
    top = next(rig.head(joint) for joint in ("neck", "head") if joint in rig.joints)
    left = normalized(rig.head("left_hip") - rig.head("right_hip"))
    up = top - hip_centre(rig)
    up = normalized(up - np.dot(up, left) * left)
    return np.stack([left, up, np.cross(left, up)], axis=1)


def leg_length(rig: RestRig) -> float:
    """Mean length of the two legs, thigh head to knee to ankle (m): the scale of the root motion."""
    return float(np.mean([np.linalg.norm(rig.head(f"{side}_knee") - rig.head(f"{side}_hip"))
                          + np.linalg.norm(rig.head(f"{side}_ankle") - rig.head(f"{side}_knee"))
                          for side in ("left", "right")]))


def _direction(rig: RestRig, joint: str, aim: str | None) -> np.ndarray:
    index = rig.joints.index(joint)
    end = rig.head(aim) if aim is not None else rig.tails[index]
    return end - rig.heads[index]


def rest_alignments(source: RestRig, target: RestRig) -> np.ndarray:
    """(k, 3, 3) per target joint (target.joints order), the world rotation A that turns the target's rest
    bone onto the source's (see the module docstring). `source` must hold every joint `target` does."""
    facing = body_frame(source) @ body_frame(target).T
    out = np.empty((len(target.joints), 3, 3))
    for index, joint in enumerate(target.joints):
        if joint == "pelvis":
            out[index] = facing
            continue
        aim = next((child for child in AIM_CHAINS.get(joint, ()) if child in target.joints), None)
        swing = minimal_rotation(facing @ _direction(target, joint, aim), _direction(source, joint, aim))
        out[index] = swing @ facing
    return out


def target_world_rotations(source_posed: np.ndarray, source_rest: np.ndarray, alignments: np.ndarray,
                           target_rest: np.ndarray) -> np.ndarray:
    """source_posed (n, k, 3, 3) the source bones' world rotations per frame, source_rest (k, 3, 3) at rest,
    alignments (k, 3, 3), target_rest (k, 3, 3) -> (n, k, 3, 3) the target bones' world rotations."""
    change = source_posed @ np.swapaxes(source_rest, -1, -2)
    return change @ alignments @ target_rest


def target_hips(source_hips: np.ndarray, source_origin: np.ndarray, target_origin: np.ndarray,
                scale: float) -> np.ndarray:
    """(n, 3) the target's hip centre per frame: where the source's hip centre (n, 3) is from the source
    armature's origin, scaled, from the target's origin."""
    return np.asarray(target_origin) + scale * (np.asarray(source_hips) - np.asarray(source_origin))


def _turns(world_rotations: np.ndarray, rest: RestRig, joint: str) -> np.ndarray:
    """(n, 3, 3) the world change from rest of `joint`'s bone, per frame."""
    index = rest.joints.index(joint)
    return world_rotations[:, index] @ rest.rotations[index].T


def root_heads(hips: np.ndarray, world_rotations: np.ndarray, rest: RestRig) -> np.ndarray:
    """(n, 3) world positions of the root bone's head: its rest offset from the hip centre, turned with it.
    hips (n, 3) the hip centre per frame, world_rotations (n, k, 3, 3) in rest.joints order."""
    return hips + _turns(world_rotations, rest, "pelvis") @ (rest.head("pelvis") - hip_centre(rest))


def straighten_trunk(world_rotations: np.ndarray, rest: RestRig, hips: np.ndarray,
                     trunk_directions: np.ndarray) -> np.ndarray:
    """Turn the spine above the pelvis so the neck (or head) lies in `trunk_directions` (n, 3) from the hip
    centre `hips` (n, 3) -> corrected world_rotations (n, k, 3, 3).

    Each spine bone follows its source bone's direction, but spines split into segments of other lengths
    (UE5's five, Mixamo's three, the pelvis stub up to the first) add up to a trunk leaning several degrees
    off the source's when the back bends. So the spine bones are turned together, about the first one's head,
    by the smallest rotation that puts the trunk's end on the source's trunk line: each keeps its twist and its
    bend relative to the others, and the trunk as a whole points where the source's does.
    """
    chain = [joint for joint in ("pelvis", "spine1", "spine2", "spine3") if joint in rest.joints]
    end = "neck" if "neck" in rest.joints else "head"
    heads = [root_heads(hips, world_rotations, rest)]
    for joint, child in zip(chain, [*chain[1:], end]):
        heads.append(heads[-1] + _turns(world_rotations, rest, joint) @ (rest.head(child) - rest.head(joint)))
    pivot, tip = heads[1], heads[-1]
    reach = np.linalg.norm(tip - pivot, axis=1)
    along = normalized(trunk_directions)
    offset = pivot - hips
    projection = np.sum(offset * along, axis=1)
    discriminant = projection ** 2 - np.sum(offset ** 2, axis=1) + reach ** 2
    wanted = hips + (projection + np.sqrt(np.maximum(discriminant, 0.0)))[:, None] * along
    corrected = world_rotations.copy()
    spine = [rest.joints.index(joint) for joint in chain[1:]]
    for frame in range(len(hips)):
        turn = minimal_rotation(tip[frame] - pivot[frame], wanted[frame] - pivot[frame])
        corrected[frame, spine] = turn @ world_rotations[frame, spine]
    return corrected


def armature_space(world_rotations: np.ndarray, object_rotation: np.ndarray) -> np.ndarray:
    """(..., 3, 3) world rotations -> the armature's space, given its object's rotation (3, 3), no scale."""
    return np.asarray(object_rotation).T @ world_rotations
