"""One result file -> one collection: per person a keyframed armature with its skinned body, a matched camera
and the footage behind the bodies.

The import is all or nothing (`rollback`). It makes no undo pushes of its own, so the operator that calls
it is a single undo step; the batch path calls it directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import bpy
import numpy as np

from ..inference.result_file import PersonTrack, Result, read_result
from ..inference.smpl_file import read_smpl_model
from .armature_build import build_armature
from .body_mesh import build_body_mesh
from .camera_build import build_camera
from .camera_math import camera_settings, footage_plane_depth
from .footage import add_footage, load_footage
from .overlay_frames import OverlaySequence
from .overlay_planes import add_overlay_planes
from .rig_animation import animate_person
from .rollback import rollback_on_failure
from .smpl_rest import SMPLArrays, median_betas, rest_joints


@dataclass(frozen=True)
class BuildOptions:
    frame_start: int = 1  # scene frame of source frame 0
    pose_correctives: bool = True  # the 207 pose-corrective shape keys, keyed per frame
    overlays: tuple[OverlaySequence, ...] = ()  # part-map frames already on disk, shown on planes


@dataclass
class BuildReport:
    collection: str
    persons: int
    frames: int
    warnings: list[str] = field(default_factory=list)


def _frame_span(result: Result) -> int:
    """Number of source frames the scene must show: the recorded count, or more if a track runs past it."""
    last = max(int(track.frame[-1]) for track in result.persons) if result.persons else -1
    return max(result.meta.frame_count, last + 1)


def _set_timing(scene: bpy.types.Scene, result: Result, options: BuildOptions) -> None:
    """Scene frame rate (stills have none: the scene keeps its own) and frame range from the result."""
    fps = result.meta.fps
    if fps:
        whole = max(1, round(fps))
        scene.render.fps, scene.render.fps_base = whole, whole / fps  # 29.97 = 30 / 1.001
    scene.frame_start = options.frame_start
    scene.frame_end = options.frame_start + _frame_span(result) - 1
    scene.frame_set(options.frame_start)


def _build_person(context: bpy.types.Context, index: int, track: PersonTrack, model: SMPLArrays,
                  collection: bpy.types.Collection, options: BuildOptions) -> None:
    betas = median_betas(track.betas)
    joints = rest_joints(model, betas)
    armature, rest_frames = build_armature(context, f"person_{index}", model, joints, collection)
    body = build_body_mesh(f"person_{index}_body", model, betas, armature, collection, options.pose_correctives)
    animate_person(armature, body, rest_frames, joints[0], options.frame_start + track.frame,
                   track.pose_rotmat, track.cam_t)


def build_scene(context: bpy.types.Context, result: Result, model: SMPLArrays, name: str,
                options: BuildOptions = BuildOptions()) -> BuildReport:
    """Build the collection `name` for `result` in the context's scene; on any error nothing is left."""
    scene = context.scene
    meta = result.meta
    report = BuildReport(collection=name, persons=len(result.persons), frames=_frame_span(result))
    with rollback_on_failure(scene):
        collection = bpy.data.collections.new(name)
        scene.collection.children.link(collection)
        report.collection = collection.name
        for index, track in enumerate(result.persons):
            _build_person(context, index, track, model, collection, options)
        farthest = max((float(np.max(track.joints3d[..., 2])) for track in result.persons), default=0.0)
        depth = footage_plane_depth(farthest)
        settings = camera_settings(meta.focal_length_px, meta.image_width, meta.image_height)
        camera = build_camera(scene, f"{name} camera", settings, depth, collection)
        size = (meta.image_width, meta.image_height)
        image, offset = load_footage(meta.source, size, report.warnings)
        if image is not None:
            add_footage(camera, image, offset, options.frame_start, report.frames, depth, meta.focal_length_px,
                        size, collection, f"{name} footage")
        add_overlay_planes(camera, list(options.overlays), options.frame_start, depth, meta.focal_length_px, size,
                           collection, name)
        _set_timing(scene, result, options)
    return report


def import_result_file(context: bpy.types.Context, result_path: str | Path, smpl_path: str | Path,
                       options: BuildOptions = BuildOptions(), name: str | None = None) -> BuildReport:
    """Read and check both files first (a bad file changes nothing), then build the collection `name`
    (default "PARE <result file name>"). Raises UserError."""
    result = read_result(result_path, include_maps=False)
    model = read_smpl_model(smpl_path)
    return build_scene(context, result, model, name or f"PARE {Path(result_path).stem}", options)
