"""One result file -> one collection: per person a keyframed armature with its skinned body, a matched camera
and the footage behind the bodies; for a grounded result (docs/grounding.md) all in its Z-up world, with a
ground plane at Z = 0, foot contact on each rig, foot-locked motion (the unlocked one kept) and the camera
where it was, animated if it turned.

The body is the one the result was computed with (its meta's `body_model`): a pose and shape fitted to the
project's stand-in body mean another thing on SMPL's mesh, and the other way round. So a stand-in result is
built with the bundled stand-in even where an SMPL file is configured, and any other result needs SMPL.
The import is all or nothing (`rollback`). It makes no undo pushes of its own, so the operator that calls
it is a single undo step; the batch path calls it directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import bpy
import numpy as np

from ..contract.errors import UserError
from ..contract.result_file import PersonTrack, Result, ResultMeta, read_result
from ..contract.licensed_files import GET_SMPL
from ..contract.options import OPTIONS
from ..contract.quality_report import report_lines
from ..contract.smpl_file import STANDIN_NAME, SMPLModelData, read_body_model, read_smpl_model
from .armature_build import build_armature
from .body_mesh import build_body_mesh, has_pose_correctives
from .camera_build import build_camera
from .camera_math import camera_settings, footage_plane_depth
from .footage import add_footage, load_footage
from .ground_build import add_ground
from .overlay_frames import OverlaySequence
from .overlay_planes import add_overlay_planes
from .rig_animation import animate_person
from .rollback import rollback_on_failure
from .smpl_rest import SMPLArrays, median_betas, rest_joints
from .world_motion import blender_camera_matrices, ground_extent, is_grounded, person_motions

BODY_REACH_M = 1.0  # a joint lies at most about this far behind the body's origin (outstretched arm)

# Custom properties of the built collection: which body and which estimator made it (shown in its properties).
BODY_PROPERTY, MODEL_PROPERTY = "pare_body_model", "pare_estimator"
RESULT_PROPERTY = "pare_result"  # the result file the collection was built from (Occlusion Sensitivity reads it)
FRAME_START_PROPERTY = "pare_frame_start"  # the scene frame of source frame 0 in this collection


@dataclass(frozen=True)
class BuildOptions:
    frame_start: int = OPTIONS["frame_start"].default  # scene frame of source frame 0
    pose_correctives: bool = OPTIONS["pose_correctives"].default  # the 207 pose-corrective shape keys, per frame
    overlays: tuple[OverlaySequence, ...] = ()  # part-map frames already on disk, shown on planes


@dataclass
class BuildReport:
    collection: str
    persons: int
    frames: int
    body: str = ""  # the body the meshes use, in words (`body_description`)
    middle_frame: int = 1  # the scene frame in the middle of those showing people (a preview shows it)
    warnings: list[str] = field(default_factory=list)
    quality: list[str] = field(default_factory=list)  # the result's per-person quality report, a line each


def _frame_span(result: Result) -> int:
    """Number of source frames the scene must show: the recorded count, or more if a track runs past it."""
    last = max(int(track.frame[-1]) for track in result.persons) if result.persons else -1
    return max(result.meta.frame_count, last + 1)


def _middle_frame(result: Result, frame_start: int) -> int:
    """The scene frame in the middle of the source frames where somebody was estimated (of the whole span
    when nobody was): a clip estimated over frames 0-19 of 120 shows its people at 10, not at 60."""
    if not result.persons:
        return frame_start + _frame_span(result) // 2
    seen = np.unique(np.concatenate([track.frame for track in result.persons]))
    return frame_start + int(seen[len(seen) // 2])


def body_description(model: SMPLModelData) -> str:
    """Which body, for messages and the collection's property: "stand-in body" or "SMPL body (<file>)"."""
    return "stand-in body" if model.is_standin else f"SMPL body ({model.source.name})"


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
                  collection: bpy.types.Collection, options: BuildOptions, grounded: bool) -> None:
    betas = median_betas(track.betas)
    joints = rest_joints(model, betas)
    armature, rest_frames = build_armature(context, f"person_{index}", model, joints, collection)
    correctives = options.pose_correctives and has_pose_correctives(model)  # the stand-in's are all zero
    body = build_body_mesh(f"person_{index}_body", model, betas, armature, collection, correctives)
    shown, unlocked = person_motions(track, joints[0], grounded)
    animate_person(armature, body, rest_frames, joints[0], options.frame_start + track.frame,
                   shown.pose_rotmat, shown.cam_t, options.frame_start, track.foot_contact if grounded else None,
                   unlocked, track.joint_confidence)


def _add_ground(result: Result, collection: bpy.types.Collection, name: str) -> None:
    """The ground plane under everybody's path and the camera (a grounded result's floor is Z = 0)."""
    spots = [track.world_transl[:, :2] for track in result.persons] + [result.world.camera_to_world[:, :2, 3]]
    centre, size = ground_extent(np.concatenate(spots))
    add_ground(collection, f"{name} ground", centre, size)


def build_scene(context: bpy.types.Context, result: Result, model: SMPLModelData, name: str,
                options: BuildOptions = BuildOptions()) -> BuildReport:
    """Build the collection `name` for `result` in the context's scene; on any error nothing is left."""
    scene = context.scene
    meta = result.meta
    report = BuildReport(collection=name, persons=len(result.persons), frames=_frame_span(result),
                         quality=report_lines(meta.extra.get("quality")),
                         body=body_description(model),
                         middle_frame=_middle_frame(result, options.frame_start))
    with rollback_on_failure(scene):
        collection = bpy.data.collections.new(name)
        scene.collection.children.link(collection)
        report.collection = collection.name
        collection[BODY_PROPERTY] = report.body
        collection[MODEL_PROPERTY] = meta.model
        collection[FRAME_START_PROPERTY] = options.frame_start
        grounded = is_grounded(result)
        for index, track in enumerate(result.persons):
            _build_person(context, index, track, model, collection, options, grounded)
        farthest = max((_farthest_depth(track) for track in result.persons), default=0.0)
        depth = footage_plane_depth(farthest)
        settings = camera_settings(meta.focal_length_px, meta.image_width, meta.image_height)
        poses = blender_camera_matrices(result.world.camera_to_world) if grounded else None
        camera = build_camera(scene, f"{name} camera", settings, depth, collection, poses,
                              options.frame_start + result.world.camera_frame if grounded else None)
        if grounded:
            _add_ground(result, collection, name)
        size = (meta.image_width, meta.image_height)
        image, offset, turn = load_footage(meta.source, size, meta.footage_turn, report.warnings)
        if image is not None:
            add_footage(camera, image, offset, turn, options.frame_start, report.frames, depth,
                        meta.focal_length_px, size, collection, f"{name} footage")
        add_overlay_planes(camera, list(options.overlays), options.frame_start, depth, meta.focal_length_px, size,
                           collection, name)
        _set_timing(scene, result, options)
    return report


def body_model_for(meta: ResultMeta, smpl_path: str | Path | None, how_to_give_smpl: str) -> SMPLModelData:
    """The body `meta`'s result was computed with: the bundled stand-in for a stand-in result (whatever SMPL
    file is configured), else the SMPL file at `smpl_path`. When the result needs SMPL and none is given, a
    UserError tells `how_to_give_smpl` (the caller's way: an option, a preference) and where to get SMPL."""
    if meta.body_model == STANDIN_NAME:
        return read_body_model(None)
    if not smpl_path:
        made_with = f" ({meta.body_model})" if meta.body_model else ""
        raise UserError(f"This result was computed with the SMPL body model{made_with}, so its bodies need the "
                        f"SMPL model file: {how_to_give_smpl}. {GET_SMPL}")
    return read_smpl_model(smpl_path)


def _farthest_depth(track: PersonTrack) -> float:
    """Largest joint depth of a person (m); from `cam_t` plus a body's reach when a result has no joints3d."""
    if track.joints3d is not None:
        return float(np.max(track.joints3d[..., 2]))
    return float(np.max(track.cam_t[:, 2])) + BODY_REACH_M


def import_result_file(context: bpy.types.Context, result_path: str | Path, smpl_path: str | Path | None,
                       options: BuildOptions = BuildOptions(), name: str | None = None,
                       how_to_give_smpl: str = "choose it in the add-on's preferences") -> BuildReport:
    """Read and check the result and its body first (a bad file changes nothing), then build the collection
    `name` (default "PARE <result file name>"). `smpl_path` is needed only for results computed with SMPL
    (see `body_model_for`). Raises UserError."""
    result = read_result(result_path, include_maps=False)
    model = body_model_for(result.meta, smpl_path, how_to_give_smpl)
    report = build_scene(context, result, model, name or f"PARE {Path(result_path).stem}", options)
    bpy.data.collections[report.collection][RESULT_PROPERTY] = str(Path(result_path).resolve())
    return report
