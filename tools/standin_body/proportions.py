"""The stand-in body's skeleton: SMPL's 24-joint tree placed by public anthropometric proportions.

Frame and units are SMPL's: metres, x = the body's left, y = up, z = the way the body faces, rest pose =
SMPL's T-pose (legs slightly apart, arms out to the sides, palms down). The floor is put where SMPL's
template has it (feet about 1.19 m below the origin), so the pelvis joint lands near (0, -0.22, 0) like
SMPL's and cameras fitted to SMPL place the stand-in the same way.

Positions are fractions of stature, for a neutral adult of STATURE_M (the mean of the ANSUR II male and
female means, 1756 and 1629 mm, Gordon et al. 2014, NATICK/TR-15/007). Segment lengths follow Drillis &
Contini's ratios (1966, as tabulated in Winter, "Biomechanics and Motor Control of Human Movement"): hip
0.530 H, knee 0.285 H, ankle 0.039 H, shoulder 0.818 H, chin 0.870 H, upper arm 0.186 H and forearm 0.146 H
surface lengths, hand 0.108 H, foot 0.152 H. Joint centres sit slightly inside those surface landmarks, at
the places SMPL's joints take (hip joints medial and below the trochanter, the neck joint level with the
chin, the head joint low in the skull, the "hand" joint in the palm, the "foot" joint at the ball of the foot).
"""
from __future__ import annotations

import numpy as np

from contract.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS  # noqa: F401  (re-exported to the other tool modules)

STATURE_M = 1.70
FLOOR_Y = -1.19
TOP_Y = FLOOR_Y + STATURE_M


# Joint centres of the midline and the left side as (x, height above the floor, z), in units of stature.
_SHOULDER_X, _UPPER_ARM, _FOREARM = 0.103, 0.165, 0.146
_ELBOW_X = _SHOULDER_X + _UPPER_ARM
_WRIST_X = _ELBOW_X + _FOREARM
_JOINTS_IN_STATURES = {
    "pelvis": (0.0, 0.570, 0.006),
    "left_hip": (0.041, 0.518, 0.0),
    "spine1": (0.0, 0.640, -0.012),
    "left_knee": (0.062, 0.288, 0.003),
    "spine2": (0.0, 0.718, -0.006),
    "left_ankle": (0.048, 0.050, -0.018),
    "spine3": (0.0, 0.750, 0.006),
    "left_foot": (0.068, 0.016, 0.065),
    "neck": (0.0, 0.870, -0.008),
    "left_collar": (0.045, 0.808, -0.004),
    "head": (0.0, 0.910, 0.022),
    "left_shoulder": (_SHOULDER_X, 0.824, -0.010),
    "left_elbow": (_ELBOW_X, 0.820, -0.020),
    "left_wrist": (_WRIST_X, 0.816, -0.022),
    "left_hand": (_WRIST_X + 0.036, 0.814, -0.025),
}
# Ends of the leaf segments (the joints without children), used to give those parts a direction and length.
_LEAF_ENDS_IN_STATURES = {
    "head": (0.0, 1.0, 0.022),  # vertex of the skull
    "left_hand": (_WRIST_X + 0.108, 0.812, -0.025),  # tip of the middle finger
    "left_foot": (0.072, 0.010, 0.110),  # tip of the big toe region
}


def _place(x: float, height: float, z: float) -> np.ndarray:
    return np.array([x * STATURE_M, FLOOR_Y + height * STATURE_M, z * STATURE_M])


def _mirror_name(name: str) -> str:
    return name.replace("left_", "right_")


def rest_joints() -> np.ndarray:
    """(24, 3) float64 joint centres of the neutral stand-in in SMPL's rest frame, order JOINT_NAMES."""
    joints = np.zeros((NUM_JOINTS, 3))
    for name, position in _JOINTS_IN_STATURES.items():
        joints[JOINT_NAMES.index(name)] = _place(*position)
        if name.startswith("left_"):
            joints[JOINT_NAMES.index(_mirror_name(name))] = _place(-position[0], *position[1:])
    return joints


def segment_children() -> list[int | None]:
    """Per joint, the joint its segment points at (the neck for spine3, spine1 for the pelvis, else its
    only child), or None for the leaves: head, hands and feet."""
    preferred = {"pelvis": "spine1", "spine3": "neck"}
    children: list[int | None] = []
    for joint, name in enumerate(JOINT_NAMES):
        kids = [child for child, parent in enumerate(PARENTS) if parent == joint]
        children.append(JOINT_NAMES.index(preferred[name]) if name in preferred else (kids[0] if kids else None))
    return children


def segment_ends() -> np.ndarray:
    """(24, 3) the far end of each joint's own segment: the joint of `segment_children`, or for the leaves
    the skull vertex, the middle fingertip and the tip of the toes."""
    joints = rest_joints()
    ends = np.zeros_like(joints)
    for joint, (name, child) in enumerate(zip(JOINT_NAMES, segment_children())):
        if child is not None:
            ends[joint] = joints[child]
        else:
            x, height, z = _LEAF_ENDS_IN_STATURES[name.replace("right_", "left_")]
            ends[joint] = _place(-x if name.startswith("right_") else x, height, z)
    return ends
