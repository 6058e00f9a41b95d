"""SMPLify-style fitting of a body model to BlazePose landmarks, all frames at once.

Stages: (1) a closed-form start - global orientation from the torso's 3D landmarks (Kabsch), the limbs from
their 3D landmarks (`pose_init`), translation from the torso's 2D landmarks (linear least squares) - and a
few solver steps on orientation and translation alone, against the torso's landmarks; (2) everything at
once: pose, one shape per person, orientation and translation, first with the robust losses widened
(a warm-up, so that far-off landmarks pull instead of being written off), then as set. The cost is 2D
reprojection + 3D landmark terms (`objective`), joint-angle prior and limits (`priors`), a shape prior and,
for video, the change of every joint rotation and of the translation between neighbouring frames
(`temporal`), weighted so that the smoothing lasts as long in seconds at any frame rate or stride. The
solvers (`solver`; `linked_solver` for video) are batched Levenberg-Marquardt with a hard step cap, so a
fit always returns; frames whose result is not finite keep their starting values. One person's video track
longer than `windows.WINDOW_ROWS` rows is fitted in overlapping windows, its shape first (`windows`), so that
memory stays bounded.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import numpy as np
import torch
from torch import Tensor

from ..body_model import SMPLBody
from ..samples import sample_gaps
from . import camera_init, pose_init, so3
from .kinematics import JointShapeModel, forward_kinematics, joint_shape_model
from .landmarks import HIP_LANDMARKS, TORSO_LANDMARKS, LandmarkModel
from .objective import Observations, project, reprojection_error_px
from .linked_solver import solve_linked
from .problem import CAMERA, FRAME_SIZE, ROOT, FitProblem, State, Weights
from .solver import solve
from .windows import needs_windows, shape_rows, window_spans


MAX_SMOOTHED_GAP = 3  # samples (frames at the job's stride); a person unseen for longer may have moved anywhere
TEMPORAL_RATE = 30.0  # samples per second for which `FitSettings`' temporal weights are set


@dataclass(frozen=True)
class FitSettings:
    """Weights and schedule. Residuals are metres, so a weight w on a squared angle (radians^2) or beta means
    that w of it costs as much as one squared metre of landmark error (per frame, weighted mean)."""

    iterations: int = 30  # hard cap on full-stage solver steps (warm-up included)
    orient_iterations: int = 8  # hard cap on orientation + translation steps
    warmup_iterations: int = 10  # full-stage steps with the robust scales widened, at most
    warmup_scale: float = 10.0  # robust scales are this much wider during the warm-up
    tolerance: float = 1e-2  # stop once no frame's cost falls by more than this fraction per step
    weight_2d: float = 1.0
    weight_3d: float = 0.2  # detector depth is the weakest part of its 3D landmarks
    # The 3D term counts an unseen landmark (outside the picture, hidden) as if seen with this visibility: the
    # detector's 3D guess of a leg below the frame edge beats the prior alone. On the quality clips cut below
    # the knees (bench_quality.py --cut), 0 -> 0.3 takes PA limbs from 129 / 89 / 150 / 84 mm to 123 / 84 /
    # 150 / 79 (fast / pan / turn / walk); whole clips keep theirs or gain 1-2 mm. 0.6 was worse on some.
    unseen_3d_visibility: float = 0.3
    scale_2d_m: float = 0.03  # Cauchy scales: residuals well beyond these count less than squared
    scale_3d_m: float = 0.05
    pose_prior: float = 2e-5
    joint_limits: float = 1e-2
    shape_prior: float = 1e-5
    temporal_rotation: float = 3e-3  # per unit link (30 samples/s); takes out the detector's shake, not a kick
    temporal_translation: float = 1e-2


@dataclass
class FitResult:
    """Per frame (n rows, order of the input), float32; camera frame x right, y down, z forward, metres."""

    pose_rotmat: np.ndarray  # (n, 24, 3, 3)
    betas: np.ndarray  # (n, B), equal over the frames of one person
    cam_t: np.ndarray  # (n, 3)
    joints3d: np.ndarray  # (n, 24, 3) body joints + cam_t
    joints2d: np.ndarray  # (n, 24, 2) pixels
    reprojection_before_px: np.ndarray  # (n,) at the starting point (the init when one is given)
    reprojection_after_px: np.ndarray  # (n,)
    iterations: int  # solver steps taken, both stages
    converged: bool  # the full stage stopped on its tolerance before the cap
    fallback_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # kept start


PER_ROW = ("pose_rotmat", "betas", "cam_t", "joints3d", "joints2d", "reprojection_before_px",
           "reprojection_after_px")  # FitResult's arrays with a row per frame


def _checked_array(value: np.ndarray, name: str, shape: tuple[int, ...]) -> Tensor:
    array = np.asarray(value, dtype=np.float32)
    if array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
    return torch.from_numpy(array.copy())


def _observations(image_landmarks: np.ndarray, visibility: np.ndarray, world_landmarks: np.ndarray,
                  image_size: tuple[int, int], focal_px: float, trust: Tensor,
                  unseen_3d_visibility: float) -> Observations:
    """Detections as tensors; landmarks with any non-finite value get weight 0 (and finite stand-ins)."""
    n, count = len(image_landmarks), len(trust)
    pixels = _checked_array(image_landmarks, "image_landmarks", (n, count, 2))
    world = _checked_array(world_landmarks, "world_landmarks", (n, count, 3))
    vis = _checked_array(visibility, "visibility", (n, count))
    usable = torch.isfinite(pixels).all(-1) & torch.isfinite(world).all(-1) & torch.isfinite(vis)
    pixels, world = torch.nan_to_num(pixels, posinf=0.0, neginf=0.0), torch.nan_to_num(world, posinf=0.0, neginf=0.0)
    vis = torch.where(usable, torch.nan_to_num(vis).clamp(0.0, 1.0), torch.zeros_like(vis))
    # The detector reports its 3D pose as seen along the ray through the person (the crop it looked at).
    hips_px = _mean_usable(pixels[:, list(HIP_LANDMARKS)], usable[:, list(HIP_LANDMARKS)], pixels, usable)
    world = world @ camera_init.view_ray_rotation(hips_px, image_size, focal_px).transpose(1, 2)
    centre = torch.tensor([image_size[0] / 2.0, image_size[1] / 2.0])
    vis_3d = torch.where(usable, vis.clamp_min(unseen_3d_visibility), vis)
    return Observations(pixels=pixels, world=world, weights=vis.square() * trust,
                        weights_3d=vis_3d.square() * trust, visibility=vis,
                        focal_px=float(focal_px), centre=centre)


def _mean_usable(points: Tensor, usable: Tensor, fallback: Tensor, fallback_usable: Tensor) -> Tensor:
    """(n, 2) mean of the usable points (n, k, 2); where none is, of the usable `fallback` (n, m, 2) points
    (a hip left unseen because it lay on another person, `captured_landmarks`); the origin where none of those is."""
    def mean(values: Tensor, chosen: Tensor) -> Tensor:
        weights = chosen.to(values.dtype)[..., None]
        return (values * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)

    return torch.where(usable.any(dim=1, keepdim=True), mean(points, usable), mean(fallback, fallback_usable))


def _init_tensor(init: Mapping[str, np.ndarray] | None, key: str, shape: tuple[int, ...]) -> Tensor | None:
    """init[key] as a tensor of the given shape (rows with non-finite values left for the caller to spot)."""
    if init is None or init.get(key) is None:
        return None
    return _checked_array(init[key], f"init['{key}']", shape)


def _finite_rows(values: Tensor) -> Tensor:
    return torch.isfinite(values.flatten(1)).all(dim=1)


def _person_betas(init_betas: Tensor | None, track_index: Tensor, num_tracks: int, num_betas: int) -> Tensor:
    """One row of betas per person: the mean of the init's rows of that person, or zeros."""
    betas = torch.zeros(num_tracks, num_betas)
    if init_betas is not None:
        usable = _finite_rows(init_betas)
        betas.index_add_(0, track_index[usable], init_betas[usable])
        betas /= torch.bincount(track_index[usable], minlength=num_tracks).clamp_min(1)[:, None].float()
    return betas


def _start_pose(obs: Observations, landmarks: LandmarkModel, rest: Tensor, init_pose: Tensor | None) -> Tensor:
    """Starting rotations (n, 24, 3, 3): the init's where it is usable, else the torso's orientation and the
    limbs read off the 3D landmarks (the rest of the body at rest)."""
    n = len(rest)
    rotmats = torch.eye(3).repeat(n, 24, 1, 1)
    torso = list(TORSO_LANDMARKS)
    turn, ok = camera_init.kabsch_rotation(landmarks.rest_landmarks(rest)[:, torso], obs.world[:, torso],
                                           obs.weights[:, torso])
    rotmats[:, 0] = torch.where(ok[:, None, None], turn, camera_init.facing_camera(n))
    rotmats = pose_init.limb_rotations(rotmats, rest, obs.world, obs.weights_3d)
    if init_pose is None:
        return rotmats
    usable = _finite_rows(init_pose)
    return torch.where(usable[:, None, None, None], so3.orthonormalise(torch.nan_to_num(init_pose)), rotmats)


def _start_translation(obs: Observations, landmarks_at_origin: Tensor, image_size: tuple[int, int],
                       torso_only: bool) -> Tensor:
    """Closed-form translation (n, 3) of the starting body; only the torso when the limbs are guesses."""
    weights = obs.weights
    if torso_only:
        weights = torch.zeros_like(weights).index_copy(1, torch.tensor(TORSO_LANDMARKS),
                                                        weights[:, list(TORSO_LANDMARKS)])
    prior = torch.tensor([0.0, 0.0, camera_init.DEFAULT_DEPTH_M]).expand(len(weights), 3)
    cam_t = camera_init.solve_translation(landmarks_at_origin, obs.pixels, weights, image_size, obs.focal_px, prior)
    cam_t = torch.where(torch.isfinite(cam_t), cam_t, prior)
    return torch.cat((cam_t[:, :2], cam_t[:, 2:].clamp(0.3, 1000.0)), dim=1)


def _weights(settings: FitSettings, temporal_weight: float, widen: float = 1.0) -> Weights:
    return Weights(data_2d=settings.weight_2d, data_3d=settings.weight_3d, scale_2d_m=widen * settings.scale_2d_m,
                   scale_3d_m=widen * settings.scale_3d_m, pose_prior=settings.pose_prior,
                   joint_limits=settings.joint_limits,
                   temporal_rotation=temporal_weight * settings.temporal_rotation,
                   temporal_translation=temporal_weight * settings.temporal_translation)


def _empty_result(num_betas: int) -> FitResult:
    def zeros(*shape: int) -> np.ndarray:
        return np.zeros((0, *shape), np.float32)
    return FitResult(zeros(24, 3, 3), zeros(num_betas), zeros(3), zeros(24, 3), zeros(24, 2), zeros(), zeros(),
                     0, True)


@contextmanager
def _one_thread() -> Iterator[None]:
    """The fit is thousands of small tensor operations: intra-op threads only add synchronisation (ten times
    slower on a 2-core machine whose other core is busy), so it runs on one and restores the setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fit_landmarks(body: SMPLBody, image_landmarks: np.ndarray, visibility: np.ndarray,
                  world_landmarks: np.ndarray, image_size: tuple[int, int], focal_length_px: float,
                  init: Mapping[str, np.ndarray] | None = None, temporal_weight: float = 0.0,
                  track_ids: np.ndarray | None = None, frames: np.ndarray | None = None,
                  frame_rate: float = TEMPORAL_RATE, settings: FitSettings | None = None) -> FitResult:
    """Fit pose, shape and camera translation to BlazePose landmarks of n frames.

    image_landmarks (n, 33, 2) pixels; visibility (n, 33) in 0..1 (a landmark counts with its square: one the
    detector doubts counts far less; non-finite values drop a landmark); world_landmarks (n, 33, 3) metres, axes x
    right, y down, z away from the camera (origin anywhere, e.g. the hips' midpoint); image_size (width,
    height); init: optional "pose_rotmat" (n, 24, 3, 3), "betas" (n, B), "cam_t" (n, 3) to refine (e.g.
    PARE's); temporal_weight: 0 for unrelated stills, about 1 for video (each person's rows in frame order);
    track_ids (n,): rows with the same id are one person (one shared shape; smoothed only among themselves);
    default: all rows are one person; frames (n,): the rows' source frame numbers, so that smoothing weakens
    across gaps (see `_links`); default: consecutive rows are adjacent frames; frame_rate: the source's frames
    per second, so that the smoothing spans the same time at any rate. Computes on CPU in float32 (the body may
    live anywhere), on one thread; batch many people and frames into one call rather than calling per person.
    """
    with _one_thread(), torch.no_grad():
        return _fit(body, image_landmarks, visibility, world_landmarks, image_size, focal_length_px, init,
                    temporal_weight, track_ids, frames, frame_rate, settings or FitSettings())


def _links(track_ids: np.ndarray, frames: np.ndarray | None, frame_rate: float = TEMPORAL_RATE) -> Tensor:
    """(n - 1,) temporal weight of each pair of adjacent rows of one person: (r / 30)^2 / g for rows g samples
    apart (g <= `MAX_SMOOTHED_GAP`), r samples a second; 0 between people and across longer gaps. A sample
    is the rows' smallest frame step (the job's stride). Why the square: a chain of differences whose weight is
    w per pair smooths over about sqrt(w) samples, so twice the samples per second need four times the weight to
    smooth over the same time (fitted with the same weight, 60 fps footage came out 2-5 mm worse than its
    every other frame). Why 1 / g: a pair g samples apart is g pairs' worth of change."""
    same = track_ids[1:] == track_ids[:-1]
    samples, step = sample_gaps(np.arange(len(track_ids)) if frames is None else frames, same)
    usable = same & (samples > 0) & (samples <= MAX_SMOOTHED_GAP)
    weight = (frame_rate / step / TEMPORAL_RATE) ** 2 / np.maximum(samples, 1.0)
    return torch.as_tensor(np.where(usable, weight, 0.0), dtype=torch.float32)


def _fit(body: SMPLBody, image_landmarks: np.ndarray, visibility: np.ndarray, world_landmarks: np.ndarray,
         image_size: tuple[int, int], focal_length_px: float, init: Mapping[str, np.ndarray] | None,
         temporal_weight: float, track_ids: np.ndarray | None, frames: np.ndarray | None, frame_rate: float,
         settings: FitSettings, fixed_betas: Tensor | None = None) -> FitResult:
    """`fit_landmarks`; with `fixed_betas` (1, B), one person's shape held at it."""
    if not (np.isfinite(focal_length_px) and focal_length_px > 0 and min(image_size) > 0):
        raise ValueError(f"need a positive focal length and image size, got {focal_length_px} and {image_size}")
    shape_model = joint_shape_model(body)
    shape_model = JointShapeModel(shape_model.template.cpu(), shape_model.directions.cpu())
    n = len(image_landmarks)
    if n == 0:
        return _empty_result(shape_model.directions.shape[-1])
    landmark_model = LandmarkModel()
    obs = _observations(image_landmarks, visibility, world_landmarks, image_size, focal_length_px,
                        landmark_model.weights, settings.unseen_3d_visibility)
    ids = np.zeros(n, dtype=np.int64) if track_ids is None else np.asarray(track_ids).reshape(n)
    track_index = torch.as_tensor(np.unique(ids, return_inverse=True)[1].reshape(n), dtype=torch.long)
    links = _links(ids, None if frames is None else np.asarray(frames).reshape(n), frame_rate)
    links = links if temporal_weight > 0 and bool((links > 0).any()) else None
    if links is not None and fixed_betas is None and needs_windows(n) and int(track_index.max()) == 0:

        def fit_rows(rows: np.ndarray, betas: Tensor | None) -> FitResult:
            return _fit(body, image_landmarks[rows], visibility[rows], world_landmarks[rows], image_size,
                        focal_length_px, None if init is None else {k: v[rows] for k, v in init.items()},
                        temporal_weight, ids[rows], None if frames is None else np.asarray(frames)[rows],
                        frame_rate, settings, betas)
        return _in_windows(fit_rows, n)
    if fixed_betas is not None:  # the start is built on the held shape
        init = {**(init or {}), "betas": fixed_betas.expand(n, -1).numpy()}
    start, betas, before = _starting_point(obs, shape_model, landmark_model, track_index, init, image_size)
    problem = FitProblem(shape_model, landmark_model, obs, _weights(settings, temporal_weight))
    state, betas, steps, converged = _run_stages(problem, start, betas, track_index, links, settings,
                                                 temporal_weight, fit_betas=fixed_betas is None)
    return _result(problem, state, start, betas, track_index, before, steps, converged)


def _in_windows(fit_rows: Callable[[np.ndarray, Tensor | None], FitResult], n: int) -> FitResult:
    """One person's long video track (n rows) fitted window by window (`windows`), its shape first."""
    shape = torch.from_numpy(fit_rows(shape_rows(n), None).betas[:1])
    parts, fallbacks, steps, converged = [], [], 0, True
    for solved, kept in window_spans(n):
        part = fit_rows(np.arange(n)[solved], shape)
        parts.append({name: getattr(part, name)[kept] for name in PER_ROW})
        inside = part.fallback_frames[(part.fallback_frames >= kept.start) & (part.fallback_frames < kept.stop)]
        fallbacks.append(inside + solved.start)
        steps, converged = steps + part.iterations, converged and part.converged
    return FitResult(**{name: np.concatenate([part[name] for part in parts]) for name in PER_ROW},
                     iterations=steps, converged=converged, fallback_frames=np.concatenate(fallbacks))


def _starting_point(obs: Observations, shape_model: JointShapeModel, landmark_model: LandmarkModel,
                    track_index: Tensor, init: Mapping[str, np.ndarray] | None,
                    image_size: tuple[int, int]) -> tuple[State, Tensor, Tensor]:
    """Starting state, betas (one row per person) and the reprojection error (n,) of the start (of the
    init itself when one is given)."""
    n, num_betas = len(track_index), shape_model.directions.shape[-1]
    init_pose = _init_tensor(init, "pose_rotmat", (n, 24, 3, 3))
    betas = _person_betas(_init_tensor(init, "betas", (n, num_betas)), track_index, int(track_index.max()) + 1,
                          num_betas)
    rest = shape_model.rest_joints(betas[track_index])
    rotmats = _start_pose(obs, landmark_model, rest, init_pose)
    joints, global_rot = forward_kinematics(rotmats, rest)
    at_origin = landmark_model.posed_landmarks(rest, joints, global_rot)
    cam_t = _start_translation(obs, at_origin, image_size, torso_only=init_pose is None)
    init_cam = _init_tensor(init, "cam_t", (n, 3))
    cam_t_before = cam_t
    if init_pose is not None and init_cam is not None:
        cam_t_before = torch.where(_finite_rows(init_cam)[:, None], init_cam, cam_t)
    return State.from_translation(rotmats, cam_t), betas, reprojection_error_px(at_origin + cam_t_before[:, None], obs)


def _run_stages(problem: FitProblem, start: State, betas: Tensor, track_index: Tensor, links: Tensor | None,
                settings: FitSettings, temporal_weight: float, fit_betas: bool = True
                ) -> tuple[State, Tensor, int, bool]:
    """Orientation and translation against the torso, then everything (the betas only if `fit_betas`):
    -> state, betas, steps, converged."""
    orient_columns = torch.cat((torch.arange(ROOT.start, ROOT.stop), torch.arange(CAMERA.start, CAMERA.stop)))
    state, _, report = solve(problem.restricted_to(TORSO_LANDMARKS), start, betas, track_index, orient_columns,
                             fit_betas=False, shape_prior=settings.shape_prior, iterations=settings.orient_iterations,
                             tolerance=settings.tolerance)
    steps = report.iterations
    # Warm-up with a nearly quadratic loss, so that landmarks far off at the start (a limb the closed form
    # could not place) pull the body in instead of being written off as outliers; then the robust loss.
    warmup = min(settings.warmup_iterations, settings.iterations)
    phases = ((_weights(settings, temporal_weight, settings.warmup_scale), warmup),
              (problem.weights, settings.iterations - warmup))
    for weights, iterations in phases:
        problem.weights = weights
        if links is None:
            state, betas, report = solve(problem, state, betas, track_index, torch.arange(FRAME_SIZE),
                                         fit_betas=fit_betas, shape_prior=settings.shape_prior,
                                         iterations=iterations, tolerance=settings.tolerance)
        else:
            state, betas, report = solve_linked(problem, state, betas, track_index, links, settings.shape_prior,
                                                iterations, settings.tolerance, fit_betas)
        steps += report.iterations
    return state, betas, steps, report.converged


def _result(problem: FitProblem, state: State, start: State, betas: Tensor, track_index: Tensor, before: Tensor,
            iterations: int, converged: bool) -> FitResult:
    """Pack the solution; frames with anything non-finite fall back to their starting state."""
    betas = torch.where(torch.isfinite(betas), betas, torch.zeros_like(betas))
    betas_rows = betas[track_index]
    landmarks, joints, _, _ = problem.posed(state, betas_rows)
    bad = ~(_finite_rows(state.rotmats) & _finite_rows(state.camera) & _finite_rows(joints))
    if bad.any():
        state = start.where(bad, state)
        landmarks, joints, _, _ = problem.posed(state, betas_rows)
    cam_t = state.translation()
    after = reprojection_error_px(landmarks + cam_t[:, None], problem.obs)
    joints = joints + cam_t[:, None]
    joints2d = project(joints, problem.obs.focal_px, problem.obs.centre)

    def as_np(t: Tensor) -> np.ndarray:
        return t.detach().cpu().numpy().astype(np.float32)

    return FitResult(pose_rotmat=as_np(state.rotmats), betas=as_np(betas_rows), cam_t=as_np(cam_t),
                     joints3d=as_np(joints), joints2d=as_np(joints2d), reprojection_before_px=as_np(before),
                     reprojection_after_px=as_np(after), iterations=iterations, converged=converged,
                     fallback_frames=np.flatnonzero(bad.numpy()))
