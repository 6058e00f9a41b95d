"""The sensitivity job: frame and person -> occluded estimates -> errors, mesh, pictures -> files.

Everything is computed before anything is written, and the files are written all or nothing, so a cancel
(KeyboardInterrupt) or an error leaves no output behind.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contract.errors import UserError
from contract.skeleton import JOINT_NAMES
from ..camera import default_focal_length
from ..crop_estimator import CropEstimator, pick_device
from ..finalize import Geometry
from . import image_map
from .joint_errors import joint_errors_mm
from .mesh_map import vertex_means
from .occluded_estimates import (NobodyFound, PersonBox, PositionEstimates, Progress, body_vertices,
                                 estimate_positions)
from .occluder import OccluderGrid, occluder_grid
from .output_files import picture_path, write_all
from .person_frame import frame_and_person

FORMAT_NAME = "pare-body-sensitivity"
FORMAT_VERSION = 1
MEAN_PICTURE = "mean"


@dataclass(frozen=True)
class SensitivityRequest:
    """What to measure; patch and stride are in crop pixels (the crop is 224 px), None for the defaults."""

    input_path: str
    output: Path
    frame: int = 0
    bbox_xywh: np.ndarray | None = None
    person: int | None = None
    patch: float | None = None
    stride: float | None = None
    checkpoint: str | None = None
    smpl: str | None = None
    device: str = "auto"
    batch_size: int = 8
    joints: tuple[str, ...] = ()
    focal_length: float | None = None


def _check(request: SensitivityRequest) -> None:
    if request.batch_size < 1:
        raise UserError(f"--batch-size must be 1 or more, got {request.batch_size}")
    if request.output.suffix.lower() != ".npz":
        raise UserError(f"--output must end in .npz, got {request.output.name}")
    if not request.output.parent.is_dir():
        raise UserError(f"The output folder {request.output.parent} does not exist")
    if request.focal_length is not None and request.focal_length <= 0:
        raise UserError(f"--focal-length must be positive, got {request.focal_length}")


def run_sensitivity(request: SensitivityRequest, progress: Progress | None = None) -> dict:
    """The whole job; returns the meta written. Raises UserError for anything the user can fix."""
    _check(request)
    image, person, kind = frame_and_person(request.input_path, request.frame, request.bbox_xywh, request.person,
                                           progress)
    height, width = image.shape[:2]
    grid = occluder_grid(person.square_cxcywh, (width, height), request.patch, request.stride)
    estimator = CropEstimator.load(request.checkpoint, request.smpl, pick_device(request.device))
    focal = request.focal_length or default_focal_length(width, height)
    geometry = Geometry(width, height, float(focal))
    try:
        estimates = estimate_positions(estimator, image, person, grid, geometry, request.batch_size, progress)
    except NobodyFound as error:
        raise UserError(f"Nobody was found in the box of frame {request.frame}, so there is no estimate to "
                        "occlude. Pass the person's box with --bbox X,Y,W,H (pixels).") from error
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "source": str(Path(request.input_path).resolve()),
            "source_kind": kind, "frame": request.frame, "image_width": width, "image_height": height,
            "focal_length_px": float(focal), "model": estimator.arch, "body_model": estimator.body.name,
            "checkpoint": None if request.checkpoint is None else Path(request.checkpoint).name,
            "pixel_rule": "columns center_x - patch_px/2 <= x < center_x + patch_px/2, rows likewise, "
                          "painted (128, 128, 128) in the original image before the crop"}
    arrays, pictures = _measure(estimator, image, person, grid, geometry, estimates, request)
    arrays["meta"] = np.array(json.dumps(meta))
    if progress is not None:
        progress("write", 0, 1)
    write_all(request.output, arrays, pictures)
    if progress is not None:
        progress("write", 1, 1)
    return {**meta, "positions": int(len(arrays["center_xy"])), "output": str(request.output),
            "pictures": [str(path) for path in pictures]}


def _measure(estimator: CropEstimator, image: np.ndarray, person: PersonBox, grid: OccluderGrid, geometry: Geometry,
             estimates: PositionEstimates, request: SensitivityRequest) -> tuple[dict[str, np.ndarray], dict]:
    """Errors per position, the per-vertex mesh map and the pictures -> (npz arrays, {png path: bytes})."""
    errors = joint_errors_mm(estimates.joints3d, estimates.reference.joints3d[0])
    found = np.isfinite(errors).all(axis=1)
    if not found.any():
        raise UserError("The estimator lost the person at every occluder position; try a smaller --patch")
    chosen = [JOINT_NAMES.index(name) for name in request.joints]
    mean = errors.mean(axis=1)
    kinds = np.column_stack([mean, errors[:, chosen]])  # (P, 1 + K): the mean, then each chosen joint
    vertices, faces = body_vertices(estimator, estimates.reference)
    mesh, coverage = vertex_means(kinds, vertices, faces, grid.corners, grid.patch_px, geometry.focal_length,
                                  (geometry.width, geometry.height))
    scales = np.nanmax(kinds[found], axis=0)
    pictures = {}
    for column, name in enumerate((MEAN_PICTURE, *request.joints)):
        means = image_map.pixel_means(kinds[:, column], grid.corners, grid.patch_px, (geometry.width, geometry.height))
        title = f"mean of {len(JOINT_NAMES)} joints" if name == MEAN_PICTURE else name
        picture = image_map.map_picture(image, means, float(scales[column]), title)
        pictures[picture_path(request.output, name)] = image_map.png_bytes(picture)
    centers = grid.centers
    arrays = {
        "error_mm": errors[found], "mean_error_mm": mean[found], "center_xy": centers[found],
        "lost_center_xy": centers[~found].reshape(-1, 2), "patch_px": np.int64(grid.patch_px),
        "joint_names": np.array(JOINT_NAMES), "frame": np.int64(request.frame),
        "bbox_xywh": person.box_xywh, "crop_box_xywh": person.square_xywh,
        "reference_joints3d": estimates.reference.joints3d[0],
        "mesh_error_mm": mesh[0].astype(np.float32), "mesh_coverage": coverage,
        "chosen_joints": np.array(request.joints, dtype=str).reshape(-1),
        "mesh_joint_error_mm": mesh[1:].astype(np.float32),
        "scale_max_mm": np.float64(scales[0]), "joint_scale_max_mm": scales[1:],
        "colormap_rgb": image_map.colormap_rgb(),
    }
    return arrays, pictures
