"""The fit as a least-squares problem: per-frame residuals, robust cost and their analytic Jacobian.

A frame's state is its 24 joint rotations (the root's in camera axes) and its camera translation stored as
(x, y, log depth), which keeps the body in front of the camera. A solver step moves a frame by a vector of
`FRAME_SIZE` numbers: a small turn of the root (applied in camera axes), small turns of the 21 joints from the
hips to the wrists (applied in each joint's frame; the hand joints only curl the fingers, which no landmark
sees, and stay as they start) and a change of (x, y, log depth). The betas are one row per person. The terms
here are each frame's own (landmarks and priors), so given the betas each frame is a small problem of its
own; a video's smoothness between neighbouring frames is in `temporal`. Derivatives are exact and cheap: a
turn d at joint j moves a point p of its subtree by d x (p - joint) in the joint's axes; priors are stated
on theta = log(R) (see `so3`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from . import priors, so3
from .kinematics import ANCESTRY, JointShapeModel, bones_of, forward_kinematics, rotated_bone_sums
from .landmarks import HIP_LANDMARKS, LandmarkModel
from .objective import MIN_DEPTH_M, Observations, cauchy, data_errors, robust_weights
from ..models.rotation import axis_angle_to_rotmat, rotmat_to_axis_angle

NUM_FREE_JOINTS = 21  # SMPL joints 1..21 turn; 22 and 23 (hands) keep their starting rotation
TURNING_JOINTS = NUM_FREE_JOINTS + 1  # with the root
ROOT = slice(0, 3)
BODY = slice(3, 3 * TURNING_JOINTS)
CAMERA = slice(BODY.stop, BODY.stop + 3)
FRAME_SIZE = CAMERA.stop


@dataclass(frozen=True)
class Weights:
    """Term weights; residuals are metres, so weights compare squared metres (see `fit.FitSettings`)."""

    data_2d: float
    data_3d: float
    scale_2d_m: float
    scale_3d_m: float
    pose_prior: float
    joint_limits: float
    temporal_rotation: float  # per unit link (`temporal`), already times the caller's temporal weight
    temporal_translation: float


@dataclass(frozen=True)
class State:
    """Frames' unknowns: rotations (k, 24, 3, 3) and camera (k, 3) as (x, y, log depth)."""

    rotmats: Tensor
    camera: Tensor

    @staticmethod
    def from_translation(rotmats: Tensor, cam_t: Tensor) -> "State":
        return State(rotmats, torch.cat((cam_t[:, :2], cam_t[:, 2:].clamp_min(1e-3).log()), dim=1))

    def translation(self) -> Tensor:
        """cam_t (k, 3); the depth is kept between 1 cm and 10 km, so no step can overflow it."""
        return torch.cat((self.camera[:, :2], self.camera[:, 2:].clamp(-4.6, 9.2).exp()), dim=1)

    def rows(self, rows: Tensor) -> "State":
        return State(self.rotmats.index_select(0, rows), self.camera.index_select(0, rows))

    def where(self, mask: Tensor, other: "State") -> "State":
        """This state where mask (k,) is True, `other` elsewhere."""
        return State(torch.where(mask[:, None, None, None], self.rotmats, other.rotmats),
                     torch.where(mask[:, None], self.camera, other.camera))

    def moved(self, delta: Tensor) -> "State":
        """Apply a step (k, FRAME_SIZE): root turned in camera axes, joints in their own axes."""
        turns = axis_angle_to_rotmat(delta[:, : 3 * TURNING_JOINTS].reshape(-1, TURNING_JOINTS, 3))
        root = turns[:, 0] @ self.rotmats[:, 0]
        joints = self.rotmats[:, 1:TURNING_JOINTS] @ turns[:, 1:]
        rotmats = torch.cat((root.unsqueeze(1), joints, self.rotmats[:, TURNING_JOINTS:]), dim=1)
        return State(so3.orthonormalise(rotmats), self.camera + delta[:, CAMERA])


@dataclass(frozen=True)
class Evaluation:
    residuals: Tensor  # (k, R) the robust cost's reweighted linearisation at this point
    cost: Tensor  # (k,) robust cost
    frame_jacobian: Tensor | None  # (k, R, FRAME_SIZE)
    betas_jacobian: Tensor | None  # (k, R, B)


def block_diagonal(blocks: Tensor) -> Tensor:
    """(k, J, a, b) per-joint blocks -> (k, J a, J b) block-diagonal matrices."""
    k, joints, a, b = blocks.shape
    eye = torch.eye(joints, dtype=blocks.dtype, device=blocks.device)
    return torch.einsum("kjab,jl->kjalb", blocks, eye).reshape(k, joints * a, joints * b)


class FitProblem:
    """Everything fixed during a fit, and the map from a state to residuals, cost and Jacobians."""

    def __init__(self, shape_model: JointShapeModel, landmark_model: LandmarkModel, obs: Observations,
                 weights: Weights):
        self.shape_model, self.landmark_model, self.obs, self.weights = shape_model, landmark_model, obs, weights
        self.landmark_mask = torch.ones(obs.weights.shape[1])  # which landmarks the data terms use
        # moves[i, j] = 1 when a turn at turning joint j moves landmark i.
        self._moves = ANCESTRY[:, :TURNING_JOINTS].index_select(0, landmark_model.anchors)
        # (24, 3, B) each joint's rest offset from its parent per unit beta: fixed, so taken once.
        self._direction_bones = bones_of(shape_model.directions.permute(2, 0, 1)).permute(1, 2, 0)

    def restricted_to(self, landmark_indices: tuple[int, ...]) -> "FitProblem":
        """A copy whose data terms only see the given landmarks (for the orientation stage)."""
        other = FitProblem(self.shape_model, self.landmark_model, self.obs, self.weights)
        other.landmark_mask = torch.zeros_like(self.landmark_mask).index_fill(0, torch.tensor(landmark_indices), 1.0)
        return other

    def posed(self, state: State, betas_rows: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """-> landmarks (k, 33, 3) and joints (k, 24, 3) before translation, global rotations, rest joints."""
        rest = self.shape_model.rest_joints(betas_rows)
        joints, global_rot = forward_kinematics(state.rotmats, rest)
        return self.landmark_model.posed_landmarks(rest, joints, global_rot), joints, global_rot, rest

    def evaluate(self, state: State, betas_rows: Tensor, rows: Tensor, jacobian: bool) -> Evaluation:
        """Residuals, cost and (if asked) Jacobians of frames `rows`, whose state and betas are given.

        The data residuals carry iteratively reweighted least-squares factors sqrt(rho'(r^2)) taken at this
        point and held constant in the Jacobian, so Gauss-Newton on them is Gauss-Newton on the robust cost.
        """
        landmarks, joints, global_rot, rest = self.posed(state, betas_rows)
        cam_t = state.translation()
        data = _DataTerms(self, landmarks + cam_t[:, None], rows)
        theta = rotmat_to_axis_angle(state.rotmats[:, 1:TURNING_JOINTS])  # (k, 21, 3)
        prior_residuals, prior_jacobian = self._prior_terms(theta, jacobian)
        residuals = torch.cat((data.residuals, prior_residuals), dim=1)
        cost = data.cost + 0.5 * prior_residuals.square().sum(dim=1)
        if not jacobian:
            return Evaluation(residuals, cost, None, None)
        turns = self._landmark_turn_jacobian(landmarks, joints, global_rot)  # (k, 33, 3, 66)
        moved_landmarks = torch.cat((turns, torch.zeros_like(turns[..., :3])), dim=-1)
        moved_points = torch.cat((turns, camera_rates(cam_t)[:, None].expand(-1, turns.shape[1], -1, -1)), dim=-1)
        frame_jacobian = torch.cat((data.jacobian(moved_landmarks, moved_points), prior_jacobian), dim=1)
        directions = self.shape_model.directions  # (24, 3, B)
        direction_bones = self._direction_bones.expand(len(rest), -1, -1, -1)
        landmark_rates = self.landmark_model.shape_jacobian(rest, directions, global_rot,
                                                            rotated_bone_sums(global_rot, direction_bones))
        betas_jacobian = torch.cat((data.jacobian(landmark_rates, landmark_rates),
                                    torch.zeros(len(rest), prior_residuals.shape[1], directions.shape[-1])), dim=1)
        return Evaluation(residuals, cost, frame_jacobian, betas_jacobian)

    def _landmark_turn_jacobian(self, landmarks: Tensor, joints: Tensor, global_rot: Tensor) -> Tensor:
        """d(landmarks) / d(turns) (k, 33, 3, 66): the root turns in camera axes, joints in their own."""
        lever = landmarks[:, :, None] - joints[:, None, :TURNING_JOINTS]  # (k, 33, 22, 3)
        axes = torch.cat((torch.eye(3).expand_as(global_rot[:, :1]), global_rot[:, 1:TURNING_JOINTS]), dim=1)
        blocks = -so3.cross_matrix(lever) @ axes[:, None]  # column c: axis_c x lever
        blocks = blocks * self._moves.to(blocks)[None, :, :, None, None]
        return blocks.permute(0, 1, 3, 2, 4).flatten(3)

    def _prior_terms(self, theta: Tensor, jacobian: bool) -> tuple[Tensor, Tensor | None]:
        """Angle prior and joint-limit residuals (k, 126) and their Jacobian (k, 126, FRAME_SIZE)."""
        w = self.weights
        residuals = torch.cat((priors.pose_residuals(theta) * w.pose_prior ** 0.5,
                               priors.joint_limit_residuals(theta) * w.joint_limits ** 0.5), dim=1)
        if not jacobian:
            return residuals, None
        rates = so3.right_jacobian_inverse(theta)  # (k, 21, 3, 3): d theta / d turn
        scales = priors.pose_residual_scales(theta.shape[1]).to(theta)[None, :, None, None]
        prior = block_diagonal(scales * rates) * w.pose_prior ** 0.5
        limit = block_diagonal(priors.joint_limit_signs(theta).unsqueeze(-1) * rates) * w.joint_limits ** 0.5
        out = torch.zeros(len(theta), residuals.shape[1], FRAME_SIZE)
        out[:, :, BODY] = torch.cat((prior, limit), dim=1)
        return residuals, out


def camera_rates(cam_t: Tensor) -> Tensor:
    """d(translation) / d(x, y, log depth) (k, 3, 3)."""
    return torch.diag_embed(torch.cat((torch.ones_like(cam_t[:, :2]), cam_t[:, 2:]), dim=1))


class _DataTerms:
    """The landmark residuals of some frames at one point, and the chain rule from landmark motion to them."""

    def __init__(self, problem: FitProblem, points: Tensor, rows: Tensor):
        w, obs = problem.weights, problem.obs
        self.points, self.focal_px = points, obs.focal_px

        def shares(weights: Tensor) -> Tensor:
            """(n, 33) landmark weights -> (k, 33) those of `rows` that the problem uses, each row summing to 1."""
            used = weights.index_select(0, rows) * problem.landmark_mask
            return used / used.sum(dim=1, keepdim=True).clamp_min(1e-6)

        self.trust, self.trust_3d = shares(obs.weights), shares(obs.weights_3d)
        self.metres_per_px = points[:, list(HIP_LANDMARKS), 2].mean(dim=1).clamp_min(0.1) / obs.focal_px
        error_2d, error_3d = data_errors(points, obs, rows, self.metres_per_px, self.trust_3d)
        squared_2d, squared_3d = error_2d.square().sum(dim=-1), error_3d.square().sum(dim=-1)
        self.factor_2d = (w.data_2d * self.trust * robust_weights(squared_2d, w.scale_2d_m)).sqrt()  # (k, 33)
        self.factor_3d = (w.data_3d * self.trust_3d * robust_weights(squared_3d, w.scale_3d_m)).sqrt()
        self.cost = 0.5 * (w.data_2d * (self.trust * cauchy(squared_2d, w.scale_2d_m)).sum(dim=1)
                           + w.data_3d * (self.trust_3d * cauchy(squared_3d, w.scale_3d_m)).sum(dim=1))
        self.residuals = torch.cat(((self.factor_2d.unsqueeze(-1) * error_2d).flatten(1),
                                    (self.factor_3d.unsqueeze(-1) * error_3d).flatten(1)), dim=1)

    def jacobian(self, moved_landmarks: Tensor, moved_points: Tensor) -> Tensor:
        """Rates of the landmarks (3D term: the camera translation cancels) and of the camera points (2D
        term), each (k, 33, 3, P) -> d(data residuals) (k, 165, P)."""
        d_2d = self.metres_per_px[:, None, None, None] * (self._projection_jacobian() @ moved_points)
        d_3d = moved_landmarks - (self.trust_3d[:, :, None, None] * moved_landmarks).sum(dim=1, keepdim=True)
        return torch.cat(((self.factor_2d[..., None, None] * d_2d).flatten(1, 2),
                          (self.factor_3d[..., None, None] * d_3d).flatten(1, 2)), dim=1)

    def _projection_jacobian(self) -> Tensor:
        """d(pixels) / d(camera point) (k, 33, 2, 3) of the pinhole projection."""
        x, y, z = self.points.unbind(-1)
        z = z.clamp_min(MIN_DEPTH_M)
        f, zero = self.focal_px, torch.zeros_like(x)
        rows = (f / z, zero, -f * x / (z * z), zero, f / z, -f * y / (z * z))
        return torch.stack(rows, dim=-1).reshape(*self.points.shape[:-1], 2, 3)
