"""A closed-form starting pose for the limbs, read off the detector's 3D landmarks.

Starting the optimiser from SMPL's T-pose costs many iterations to bring the arms down, and a limb that
starts far off can settle with its knee or elbow bent the wrong way round. Each limb (upper arm + forearm,
thigh + shank) is set in two steps instead: the upper bone swings onto its observed direction and twists
about itself until the hinge axis of the middle joint (elbow, knee) is normal to the observed bend; then the
lower bone swings onto its direction. The spine, collars, hands and feet stay at rest.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from contract.skeleton import JOINT_NAMES
from .landmarks import BLAZEPOSE_LANDMARK_NAMES
from ..models.rotation import axis_angle_to_rotmat

# (upper, middle, end) joints, which are also BlazePose landmark names, and the middle joint's hinge axis in
# rest axes: the axis whose positive rotation bends the limb (knees about +x, left elbow -y, right elbow +y).
_LIMBS = (
    (("left_shoulder", "left_elbow", "left_wrist"), (0.0, -1.0, 0.0)),
    (("right_shoulder", "right_elbow", "right_wrist"), (0.0, 1.0, 0.0)),
    (("left_hip", "left_knee", "left_ankle"), (1.0, 0.0, 0.0)),
    (("right_hip", "right_knee", "right_ankle"), (1.0, 0.0, 0.0)),
)
_MIN_BEND_SINE = 0.25  # below ~15 degrees of bend the bend plane is noise: no twist is read from it
_MIN_WEIGHT = 0.3  # both ends of a bone need at least this weight for the bone to be set


def _swing(source: Tensor, target: Tensor) -> Tensor:
    """Smallest rotation taking directions source (n, 3) onto target (n, 3) -> (n, 3, 3); for opposite
    directions, a half turn about an axis normal to the source."""
    a, b = F.normalize(source, dim=-1), F.normalize(target, dim=-1)
    cross = torch.linalg.cross(a, b, dim=-1)
    sine, cosine = torch.linalg.vector_norm(cross, dim=-1, keepdim=True), (a * b).sum(-1, keepdim=True)
    fallback = torch.linalg.cross(a, torch.tensor([0.0, 0.0, 1.0]).expand_as(a), dim=-1)
    fallback = torch.where(torch.linalg.vector_norm(fallback, dim=-1, keepdim=True) > 1e-3, fallback,
                           torch.linalg.cross(a, torch.tensor([0.0, 1.0, 0.0]).expand_as(a), dim=-1))
    axis = F.normalize(torch.where(sine > 1e-6, cross, fallback), dim=-1)
    return axis_angle_to_rotmat(axis * torch.atan2(sine, cosine))


def _twist(axis: Tensor, current: Tensor, wanted: Tensor) -> Tensor:
    """Rotation about unit `axis` (n, 3) turning `current` (n, 3) towards `wanted` (n, 3), both taken
    perpendicular to the axis -> (n, 3, 3)."""
    c = F.normalize(current - (current * axis).sum(-1, keepdim=True) * axis, dim=-1)
    w = F.normalize(wanted - (wanted * axis).sum(-1, keepdim=True) * axis, dim=-1)
    angle = torch.atan2((torch.linalg.cross(c, w, dim=-1) * axis).sum(-1), (c * w).sum(-1))
    return axis_angle_to_rotmat(axis * angle[:, None])


def limb_rotations(rotmats: Tensor, rest_joints: Tensor, world: Tensor, weights: Tensor) -> Tensor:
    """Set the shoulders, elbows, hips and knees of `rotmats` (n, 24, 3, 3) from 3D landmarks.

    rotmats: the starting pose, whose root rotation places the body in camera axes and whose spine and
    collars are at rest (so each limb's parent frame is the root's); rest_joints (n, 24, 3); world (n, 33, 3)
    landmarks in camera axes; weights (n, 33). Returns a new tensor; a bone with a weakly seen end keeps
    its rotation (a lower bone needs its upper bone seen too).
    """
    out = rotmats.clone()
    root = rotmats[:, 0]
    joint, landmark = JOINT_NAMES.index, BLAZEPOSE_LANDMARK_NAMES.index
    for names, hinge in _LIMBS:
        j, marks = [joint(name) for name in names], [landmark(name) for name in names]
        seen = world[:, marks]  # (n, 3, 3)
        known = weights[:, marks] >= _MIN_WEIGHT  # (n, 3)
        # Observed directions expressed in the limb's parent frame (the root's).
        upper = (root.transpose(1, 2) @ (seen[:, 1] - seen[:, 0]).unsqueeze(-1)).squeeze(-1)
        lower = (root.transpose(1, 2) @ (seen[:, 2] - seen[:, 1]).unsqueeze(-1)).squeeze(-1)
        swing = _swing(rest_joints[:, j[1]] - rest_joints[:, j[0]], upper)
        upper_dir = F.normalize(upper, dim=-1)
        bend_normal = torch.linalg.cross(upper_dir, F.normalize(lower, dim=-1), dim=-1)
        hinge_now = swing @ torch.tensor(hinge).expand(len(root), 3).unsqueeze(-1)
        twist = _twist(upper_dir, hinge_now.squeeze(-1), bend_normal)
        bent = (torch.linalg.vector_norm(bend_normal, dim=-1) > _MIN_BEND_SINE) & known.all(dim=1)
        upper_rot = torch.where(bent[:, None, None], twist @ swing, swing)
        lower_local = (upper_rot.transpose(1, 2) @ lower.unsqueeze(-1)).squeeze(-1)
        lower_rot = _swing(rest_joints[:, j[2]] - rest_joints[:, j[1]], lower_local)
        upper_known, lower_known = known[:, :2].all(dim=1), known[:, 1:].all(dim=1)
        out[:, j[0]] = torch.where(upper_known[:, None, None], upper_rot, out[:, j[0]])
        out[:, j[1]] = torch.where((upper_known & lower_known)[:, None, None], lower_rot, out[:, j[1]])
    return out
