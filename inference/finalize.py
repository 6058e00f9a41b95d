"""One person's per-frame measurements -> the result file's track: smoothing or fitting, camera, joints.

This runs after the whole clip is estimated, so smoothing and the landmark fit may look both ways in time.
Joints always come from the final pose and shape, so `joints3d - cam_t` is the body's joints of the pose
and betas stored beside them, and `joints2d` their projection. Last, `ground_tracks` places the whole take in
the Z-up world with its floor, foot contact and locked feet (inference/grounding, docs/grounding.md).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from .camera import camera_translation_to_crop_cam, crop_cam_to_camera_translation, project_points
from .crop import square_box
from .crop_estimator import CropEstimator
from .fitting.fit import TEMPORAL_RATE, FitResult, fit_landmarks
from .grounding.camera_motion import CameraMotion
from .grounding.floor import FloorHint
from .grounding.take import GroundedTake, PersonEstimate, ground_take
from .keypoints.side_order import relabelled, side_swaps, swap_order
from .models.rotation import rotmat_to_axis_angle
from contract.result_file import MAP_ARRAYS, PersonTrack, WorldPlacement
from .smoothing import OneEuroParams, constant_shape, smooth_rotations, smooth_translation
from .track_quality import joint_confidence, person_report

log = logging.getLogger(__name__)


@dataclass
class RawTrack:
    """What was measured about one person, frame by frame (n frames); None where not measured."""

    frame: np.ndarray  # (n,) int64 source frame indices
    box_xywh: np.ndarray  # (n, 4) the square crop box
    pose_rotmat: np.ndarray | None = None  # (n, 24, 3, 3) PARE
    betas: np.ndarray | None = None  # (n, 10) PARE
    crop_cam: np.ndarray | None = None  # (n, 3) PARE
    part_attention: np.ndarray | None = None  # (n, 24, 56, 56) float16, PARE
    part_segmentation: np.ndarray | None = None  # (n, 25, 56, 56) float16, PARE
    landmarks_image: np.ndarray | None = None  # (n, 33, 2) pixels, NaN where not seen
    landmarks_confidence: np.ndarray | None = None  # (n, 33) 0..1
    landmarks_world: np.ndarray | None = None  # (n, 33, 3) metres
    detected: np.ndarray | None = None  # (n,) bool: the detector saw the person (False: tracker's prediction)


def trim_after_last_detection(raw: RawTrack) -> RawTrack:
    """Drop the frames after the person's last detection: there the tracker was still predicting a person
    who had left the picture. Predicted frames between detections (brief misses) stay."""
    if raw.detected is None or raw.detected.all():
        return raw
    end = int(np.flatnonzero(raw.detected)[-1]) + 1
    return replace(raw, **{f.name: getattr(raw, f.name)[:end] for f in fields(raw) if getattr(raw, f.name) is not None})


def without_landmarks(raw: RawTrack, frames: np.ndarray, taken: np.ndarray) -> RawTrack:
    """The track with the landmarks `taken` (m, L) of `frames` (m,) marked unseen (they lie on someone else:
    `captured_landmarks`); a frame with all of them taken is left unseen."""
    if raw.landmarks_image is None or not taken.any():
        return raw
    unseen = np.zeros(raw.landmarks_confidence.shape, dtype=bool)
    _, rows, taken_rows = np.intersect1d(raw.frame, frames, return_indices=True)
    unseen[rows] = taken[taken_rows]
    return replace(raw, landmarks_image=np.where(unseen[..., None], np.nan, raw.landmarks_image),
                   landmarks_confidence=np.where(unseen, 0.0, raw.landmarks_confidence).astype(
                       raw.landmarks_confidence.dtype))


def with_consistent_sides(raw: RawTrack) -> RawTrack:
    """The track with each frame's left and right landmarks relabelled where the landmark model swapped them
    for a few frames (`keypoints.side_order`); for video only, stills have no neighbours to judge by."""
    if raw.landmarks_image is None or len(raw.frame) < 2:
        return raw
    order = swap_order(side_swaps(raw.landmarks_image, raw.landmarks_confidence, raw.frame, raw.landmarks_world))
    return replace(raw, **{name: relabelled(getattr(raw, name), order)
                           for name in ("landmarks_image", "landmarks_confidence", "landmarks_world")})


@dataclass
class Geometry:
    """The camera and footage the track is placed in (stills and image folders count 30 frames a second)."""

    width: int
    height: int
    focal_length: float
    frame_rate: float = 30.0


def _track(raw: RawTrack, rows: np.ndarray | slice, estimator: CropEstimator, geometry: Geometry, pose: np.ndarray,
           betas: np.ndarray, cam_t: np.ndarray, crop_cam: np.ndarray) -> PersonTrack:
    """Assemble the result track from the frames `rows` of `raw` and the final parameters of those frames."""
    joints3d = estimator.joints(pose, betas).astype(np.float64) + cam_t[:, None, :]
    joints2d = project_points(joints3d, geometry.focal_length, geometry.width, geometry.height)
    n = len(pose)
    f32 = np.float32
    maps = {name: value[rows] for name in MAP_ARRAYS if (value := getattr(raw, name)) is not None}
    return PersonTrack(
        frame=raw.frame[rows].astype(np.int64),
        bbox_xywh=raw.box_xywh[rows].astype(f32),
        pose_rotmat=pose.astype(f32),
        pose_axis_angle=rotmat_to_axis_angle(torch.from_numpy(pose.astype(f32))).numpy().reshape(n, 72),
        betas=betas[:, :10].astype(f32),
        crop_cam=crop_cam.astype(f32),
        cam_t=cam_t.astype(f32),
        joints3d=joints3d.astype(f32),
        joints2d=joints2d.astype(f32),
        joint_confidence=joint_confidence(
            joints2d, (geometry.width, geometry.height),
            None if raw.landmarks_confidence is None else raw.landmarks_confidence[rows],
            None if raw.detected is None else raw.detected[rows],
            None if raw.landmarks_image is None else raw.landmarks_image[rows]),
        **maps,
    )


def _fit(raw: RawTrack, estimator: CropEstimator, geometry: Geometry, video: bool, keep: np.ndarray,
         init: dict[str, np.ndarray] | None = None) -> FitResult:
    return fit_landmarks(estimator.body, raw.landmarks_image[keep], raw.landmarks_confidence[keep],
                         raw.landmarks_world[keep], (geometry.width, geometry.height), geometry.focal_length,
                         init=None if init is None else {k: v[keep] for k, v in init.items()},
                         temporal_weight=1.0 if video else 0.0, frames=raw.frame[keep],
                         frame_rate=geometry.frame_rate)


def _seen(raw: RawTrack) -> np.ndarray:
    """(n,) frames where the landmark model saw the person."""
    return raw.landmarks_confidence.max(axis=1) > 0


def pare_track(raw: RawTrack, estimator: CropEstimator, geometry: Geometry, smoothing: OneEuroParams | None,
               refine: bool, video: bool) -> tuple[PersonTrack, dict | None]:
    """PARE's estimate, smoothed (zero-lag one-euro; None keeps it raw), optionally refined by fitting the
    landmarks from it; returns the track and, when refined, the mean reprojection error before and after."""
    boxes = square_box(raw.box_xywh)
    cam_t = crop_cam_to_camera_translation(raw.crop_cam, boxes, geometry.width, geometry.height,
                                           geometry.focal_length)
    pose, betas = raw.pose_rotmat, raw.betas
    if smoothing is not None and len(raw.frame) > 1:
        pose, cam_t = _smoothed(pose, cam_t, raw.frame, smoothing)
        betas = constant_shape(betas)
    everything = slice(None)
    seen = _seen(raw) if refine else None
    if seen is None or not seen.any():
        return _track(raw, everything, estimator, geometry, pose, betas, cam_t, raw.crop_cam), None
    fit = _fit(raw, estimator, geometry, video, seen, {"pose_rotmat": pose, "betas": betas, "cam_t": cam_t})
    pose, betas, cam_t = pose.copy(), betas.copy(), cam_t.copy()
    pose[seen], betas[seen], cam_t[seen] = fit.pose_rotmat, fit.betas, fit.cam_t
    crop_cam = camera_translation_to_crop_cam(cam_t, boxes, geometry.width, geometry.height, geometry.focal_length)
    figures = {"reprojection_before_px": float(np.mean(fit.reprojection_before_px)),
               "reprojection_after_px": float(np.mean(fit.reprojection_after_px)), "frames": int(seen.sum())}
    return _track(raw, everything, estimator, geometry, pose, betas, cam_t, crop_cam), figures


FIT_SMOOTHING = OneEuroParams(min_cutoff=0.05, beta=3.0)
"""The one-euro filter on the landmark fit's motion: lighter than PARE's (the `smooth_*` options), because the
fit's temporal term has already taken out most of the shake; it takes out the rest without slowing fast moves.
On the quality clips (bench/README.md) it takes a quarter to a half off the acceleration error, with limb errors
within 2 mm. Each joint's rotation is filtered on its own, so the filter's misses add up along an arm: the
minimum cutoff is the one (0.05 Hz) that keeps the acceleration error of the lighter 0.02 while drawing the
limb joints nearer the person (pan 4.4 -> 3.6 px, dance 5.9 -> 5.3; 0.2 gives up a tenth of the gain in
acceleration for a little more). PARE's heavier settings round off the kick, while on estimates without a
temporal term (the fit run frame by frame, as PARE works) they are the better choice."""


def landmark_track(raw: RawTrack, estimator: CropEstimator, geometry: Geometry, video: bool,
                   smoothing: OneEuroParams | None = None) -> PersonTrack | None:
    """The keypoint backend: the body fitted to the landmarks of the frames where they were seen (None when
    never). Video gets the fit's own temporal smoothness term, and then `smoothing` (`FIT_SMOOTHING`, or None for
    the fit alone) on rotations and root translation. Frames the fit could not place in front of the camera are
    left out, with a log line."""
    seen = _seen(raw)
    if not seen.any():
        return None
    fit = _fit(raw, estimator, geometry, video, seen)
    placed = np.isfinite(fit.cam_t).all(axis=1) & (fit.cam_t[:, 2] > 0)
    if not placed.all():
        log.warning("the landmark fit left %d frame(s) of a person unplaced; they are left out", (~placed).sum())
    rows = np.flatnonzero(seen)[placed]
    if len(rows) == 0:
        return None
    pose, cam_t = fit.pose_rotmat[placed], fit.cam_t[placed].astype(np.float64)
    if smoothing is not None and len(rows) > 1:
        # Timed in 30 fps frames, as the fit's own temporal term: on 60 fps real footage 4-7 % less
        # acceleration error than timed per frame, limbs within 0.1 mm (bench/README.md).
        pose, cam_t = _smoothed(pose, cam_t, raw.frame[rows] * (TEMPORAL_RATE / geometry.frame_rate), smoothing)
    crop_cam = camera_translation_to_crop_cam(cam_t, square_box(raw.box_xywh[rows]), geometry.width,
                                              geometry.height, geometry.focal_length)
    return _track(raw, rows, estimator, geometry, pose, fit.betas[placed], cam_t, crop_cam)


def _smoothed(pose: np.ndarray, cam_t: np.ndarray, frames: np.ndarray, smoothing: OneEuroParams
              ) -> tuple[np.ndarray, np.ndarray]:
    """(n, 24, 3, 3) rotations and (n, 3) translations of one track at (n,) frames -> both one-euro filtered."""
    settings = (smoothing.min_cutoff, smoothing.beta, smoothing.d_cutoff)
    return smooth_rotations(pose, frames, *settings), smooth_translation(cam_t, frames, *settings)


def track_report(track_id: int, raw: RawTrack, track: PersonTrack) -> dict:
    """The meta's quality report of one finished track (its frames are a subset of the raw track's)."""
    rows = np.searchsorted(raw.frame, track.frame)
    landmarks = None if raw.landmarks_image is None else raw.landmarks_image[rows]
    confidence = None if raw.landmarks_confidence is None else raw.landmarks_confidence[rows]
    return person_report(track_id, track.frame, track.joints3d.astype(np.float64), track.joints2d,
                         track.joint_confidence, landmarks, confidence)


def grounding_meta(take: GroundedTake, camera_motion: CameraMotion | None, foot_lock: bool) -> dict:
    """What the result meta records about the grounding: the floor in the first camera's frame, each
    person's own level above it (m), whether the camera moved, and whether feet were locked."""
    plane = take.floor.plane
    return {"normal_camera": [float(v) for v in plane.normal], "offset": float(plane.offset),
            "person_levels": [float(v) for v in take.floor.person_levels],
            "inlier_fraction": float(take.floor.inlier_fraction),
            "camera": "moving" if camera_motion is not None and not camera_motion.static else "static",
            "foot_lock": foot_lock}


def ground_tracks(tracks: list[PersonTrack], fps: float | None, focal_length: float,
                  camera_motion: CameraMotion | None, hint: FloorHint | None, foot_lock: bool
                  ) -> tuple[list[PersonTrack], WorldPlacement, dict]:
    """The take's tracks in the Z-up world: each track with its world body, foot contact and (with
    `foot_lock`) locked motion added; the world and camera placement; the meta's `floor` entry.
    `camera_motion`: None or static for a fixed camera. Stills and image folders count 30 frames a second.
    The floor goes through the lowest foot joints (the issue's measure; the mesh soles are about 3 cm lower)."""
    people = [PersonEstimate(track.frame, track.pose_rotmat.astype(np.float64), track.cam_t.astype(np.float64),
                             track.joints3d.astype(np.float64)) for track in tracks]
    take = ground_take(people, fps or 30.0, focal_length, camera_motion=camera_motion, hint=hint,
                       foot_lock=foot_lock)
    f32 = np.float32
    grounded = []
    for track, person in zip(tracks, take.people):
        locked = person.locked
        grounded.append(replace(
            track, foot_contact=person.contact.astype(f32), world_global_orient=person.pose_rotmat[:, 0].astype(f32),
            world_transl=person.translation.astype(f32),
            locked_pose_rotmat=None if locked is None else locked.pose_rotmat.astype(f32),
            locked_transl=None if locked is None else person.locked_translation.astype(f32)))
    from_camera = np.eye(4)
    from_camera[:3, :3], from_camera[:3, 3] = take.world.rotation, take.world.translation
    world = WorldPlacement(from_camera=from_camera, camera_frame=take.camera_frames.astype(np.int64),
                           camera_to_world=take.camera_to_world)
    return grounded, world, grounding_meta(take, camera_motion, foot_lock)
