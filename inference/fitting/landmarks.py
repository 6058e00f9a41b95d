"""MediaPipe BlazePose's 33 landmarks and where each one sits on an SMPL-tree body.

Index order and names follow MediaPipe's pose landmarker documentation ("left" = the person's left).
Each landmark is a point rigidly attached to one joint (its anchor): its rest position is a joint (or a
fixed blend of joints) plus a small offset in the rest pose's axes (x = the body's left, y = up, z = the
way the body faces), and it moves with the anchor's global rotation. Only joints are used, so the
correspondence holds for any body with SMPL's joint tree, whatever its vertex count. Limb landmarks
(shoulders, elbows, wrists, knees, ankles) are the joints themselves, so a fitted rig's joints land on the
detected points. The detector marks hips about 4 cm above SMPL's hip joints and 1-2 cm wider (measured on the
rendered benchmark clips, bench/quality_data, whose body has SMPL's joints: 2-6 cm up in every clip, whatever
the motion or shape), so its hips sit there, on the pelvis (they do not swing with the thigh); fitting them to
the joints themselves pulled the pelvis up and bent the legs. Face, hand and foot landmarks have offsets of
typical adult proportions. All offsets scale with the body's torso length.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from contract.skeleton import JOINT_NAMES

BLAZEPOSE_LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
NUM_LANDMARKS = len(BLAZEPOSE_LANDMARK_NAMES)
HIP_LANDMARKS = (BLAZEPOSE_LANDMARK_NAMES.index("left_hip"), BLAZEPOSE_LANDMARK_NAMES.index("right_hip"))
SHOULDER_LANDMARKS = (BLAZEPOSE_LANDMARK_NAMES.index("left_shoulder"), BLAZEPOSE_LANDMARK_NAMES.index("right_shoulder"))
TORSO_LANDMARKS = SHOULDER_LANDMARKS + HIP_LANDMARKS

# The offsets below are for a body whose pelvis-to-neck joint distance is this (SMPL's neutral body).
REFERENCE_TORSO_LENGTH_M = 0.51


@dataclass(frozen=True)
class LandmarkSpec:
    """Where one landmark sits: rest position = sum(weight * joint) + offset, attached to `anchor`."""

    name: str
    anchor: str
    base: tuple[tuple[str, float], ...]
    offset: tuple[float, float, float]  # metres in the rest pose's axes (x left, y up, z front)
    weight: float  # trust in the correspondence itself (not in the detection)


def _at(name: str, joint: str, weight: float = 1.0) -> LandmarkSpec:
    """A landmark that is a joint itself."""
    return LandmarkSpec(name, joint, ((joint, 1.0),), (0.0, 0.0, 0.0), weight)


def _near(name: str, anchor: str, base: str, offset: tuple[float, float, float], weight: float) -> LandmarkSpec:
    return LandmarkSpec(name, anchor, ((base, 1.0),), offset, weight)


def _mirrored(spec: LandmarkSpec) -> LandmarkSpec:
    """The right-side twin of a left-side landmark: names swapped, x mirrored."""
    def swap(name: str) -> str:
        return name.replace("left", "right")
    x, y, z = spec.offset
    return LandmarkSpec(swap(spec.name), swap(spec.anchor), tuple((swap(j), w) for j, w in spec.base),
                        (-x, y, z), spec.weight)


# Face points ride on the head joint (SMPL's sits low in the skull, about level with the mouth), hand points
# on the wrist (SMPL's "hand" joint is near the middle knuckle; its own rotation only curls the fingers),
# the heel on the ankle and the toe tip on the foot joint (the ball of the foot). Rest pose = SMPL's T-pose
# with palms down, so the thumb side of both hands faces front (+z).
_LEFT_SIDE = (
    _near("left_eye_inner", "head", "head", (0.017, 0.060, 0.080), 0.4),
    _near("left_eye", "head", "head", (0.032, 0.060, 0.072), 0.4),
    _near("left_eye_outer", "head", "head", (0.047, 0.060, 0.062), 0.4),
    _near("left_ear", "head", "head", (0.075, 0.040, -0.035), 0.5),
    _near("mouth_left", "head", "head", (0.025, -0.020, 0.075), 0.3),
    _at("left_shoulder", "left_shoulder"),
    _at("left_elbow", "left_elbow"),
    _at("left_wrist", "left_wrist"),
    _near("left_pinky", "left_wrist", "left_hand", (-0.010, 0.0, -0.030), 0.5),
    _near("left_index", "left_wrist", "left_hand", (0.0, 0.0, 0.025), 0.5),
    _near("left_thumb", "left_wrist", "left_wrist", (0.050, -0.015, 0.045), 0.3),
    _near("left_hip", "pelvis", "left_hip", (0.015, 0.040, 0.0), 0.8),  # less trust: hips vary by detector
    _at("left_knee", "left_knee"),
    _at("left_ankle", "left_ankle"),
    _near("left_heel", "left_ankle", "left_ankle", (0.0, -0.050, -0.055), 0.6),
    _near("left_foot_index", "left_foot", "left_foot", (-0.015, -0.010, 0.070), 0.6),
)
_BY_NAME = {spec.name: spec for spec in _LEFT_SIDE + tuple(_mirrored(s) for s in _LEFT_SIDE)}
_BY_NAME["nose"] = _near("nose", "head", "head", (0.0, 0.020, 0.095), 0.6)
BLAZEPOSE_ON_SMPL = tuple(_BY_NAME[name] for name in BLAZEPOSE_LANDMARK_NAMES)


class LandmarkModel:
    """The 33 landmark correspondences as tensors, evaluated on rest or posed joints."""

    def __init__(self, specs: tuple[LandmarkSpec, ...] = BLAZEPOSE_ON_SMPL, device: torch.device | str = "cpu"):
        joint = JOINT_NAMES.index
        blend = torch.zeros(len(specs), len(JOINT_NAMES))
        for row, spec in enumerate(specs):
            for name, weight in spec.base:
                blend[row, joint(name)] += weight
        self.blend = blend.to(device)  # (33, 24)
        self.offsets = torch.tensor([spec.offset for spec in specs], device=device)  # (33, 3)
        self.anchors = torch.tensor([joint(spec.anchor) for spec in specs], device=device)  # (33,)
        self.weights = torch.tensor([spec.weight for spec in specs], device=device)  # (33,)
        self._neck, self._pelvis = joint("neck"), joint("pelvis")

    def _torso(self, rest_joints: Tensor) -> Tensor:
        return rest_joints[:, self._neck] - rest_joints[:, self._pelvis]  # (n, 3)

    def rest_landmarks(self, rest_joints: Tensor) -> Tensor:
        """rest_joints (n, 24, 3) -> landmarks in the rest pose (n, 33, 3); offsets scale with the torso."""
        torso = torch.linalg.vector_norm(self._torso(rest_joints), dim=-1)
        scale = (torso / REFERENCE_TORSO_LENGTH_M).clamp(0.2, 5.0)[:, None, None]
        return torch.einsum("lj,njc->nlc", self.blend, rest_joints) + scale * self.offsets

    def posed_landmarks(self, rest_joints: Tensor, joints: Tensor, global_rot: Tensor) -> Tensor:
        """Rest joints (n, 24, 3), posed joints (n, 24, 3) and global joint rotations (n, 24, 3, 3) from
        `kinematics.forward_kinematics` -> posed landmarks (n, 33, 3) in the same frame as `joints`."""
        local = self.rest_landmarks(rest_joints) - rest_joints.index_select(1, self.anchors)  # rest axes
        moved = (global_rot.index_select(1, self.anchors) @ local.unsqueeze(-1)).squeeze(-1)
        return joints.index_select(1, self.anchors) + moved

    def shape_jacobian(self, rest_joints: Tensor, directions: Tensor, global_rot: Tensor,
                       joints_jacobian: Tensor) -> Tensor:
        """d(posed landmarks) / d(betas) (n, 33, 3, B) from rest joints (n, 24, 3), the joints' shape
        directions (24, 3, B), global rotations (n, 24, 3, 3) and d(posed joints) / d(betas) (n, 24, 3, B)."""
        torso = self._torso(rest_joints)
        torso_directions = directions[self._neck] - directions[self._pelvis]  # (3, B)
        unit = torso / torch.linalg.vector_norm(torso, dim=-1, keepdim=True).clamp_min(1e-6)
        scale_rate = unit @ torso_directions / REFERENCE_TORSO_LENGTH_M  # (n, B)
        local = (torch.einsum("lj,jcb->lcb", self.blend, directions) - directions.index_select(0, self.anchors)
                 + self.offsets[None, :, :, None] * scale_rate[:, None, None, :])  # (n, 33, 3, B)
        return joints_jacobian.index_select(1, self.anchors) + global_rot.index_select(1, self.anchors) @ local
