"""One person's raw per-frame network outputs -> the result file's track: smoothing, camera, joints.

Smoothing runs here, after the whole clip is estimated, so it may look both ways in time. The body's joints
are computed from the final (smoothed) pose and shape, so `joints3d - cam_t` is always the SMPL joints of the
pose and betas stored beside them, and `joints2d` always their projection.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .camera import crop_cam_to_camera_translation, project_points
from .crop import square_box
from .estimator import Estimator
from .models.rotation import rotmat_to_axis_angle
from .result_file import PersonTrack
from .smoothing import OneEuroParams, constant_shape, smooth_rotations, smooth_translation


@dataclass
class RawTrack:
    """What the network said about one person, frame by frame (n frames)."""

    frame: np.ndarray  # (n,) int64 source frame indices
    box_xywh: np.ndarray  # (n, 4) the square crop box
    pose_rotmat: np.ndarray  # (n, 24, 3, 3)
    betas: np.ndarray  # (n, 10)
    crop_cam: np.ndarray  # (n, 3)
    part_attention: np.ndarray | None = None  # (n, 24, 56, 56) float16
    part_segmentation: np.ndarray | None = None  # (n, 25, 56, 56) float16


def finalize_track(raw: RawTrack, estimator: Estimator, width: int, height: int, focal_length: float,
                   smoothing: OneEuroParams | None) -> PersonTrack:
    """Smoothed (zero-lag one-euro; None keeps the raw estimate) parameters + the full-image perspective
    camera + joints in 3D and 2D."""
    boxes_cxcywh = square_box(raw.box_xywh)
    cam_t = crop_cam_to_camera_translation(raw.crop_cam, boxes_cxcywh, width, height, focal_length)
    pose, betas = raw.pose_rotmat, raw.betas
    if smoothing is not None and len(raw.frame) > 1:
        settings = (smoothing.min_cutoff, smoothing.beta, smoothing.d_cutoff)
        pose = smooth_rotations(pose, raw.frame, *settings)
        cam_t = smooth_translation(cam_t, raw.frame, *settings)
        betas = constant_shape(betas)
    joints3d = estimator.joints(pose, betas) + cam_t[:, None, :]
    n = len(raw.frame)
    f32 = np.float32
    return PersonTrack(
        frame=raw.frame.astype(np.int64),
        bbox_xywh=raw.box_xywh.astype(f32),
        pose_rotmat=pose.astype(f32),
        pose_axis_angle=rotmat_to_axis_angle(torch.from_numpy(pose.astype(f32))).numpy().reshape(n, 72),
        betas=betas.astype(f32),
        crop_cam=raw.crop_cam.astype(f32),
        cam_t=cam_t.astype(f32),
        joints3d=joints3d.astype(f32),
        joints2d=project_points(joints3d.astype(np.float64), focal_length, width, height).astype(f32),
        part_attention=raw.part_attention,
        part_segmentation=raw.part_segmentation,
    )
