"""An occlusion sensitivity map (`python -m inference sensitivity`'s .npz and PNG) shown in a built scene.

The map picture goes on an image plane parented to the person's camera and filling its view, in front of the
footage and overlay planes (like the overlays); the per-vertex map becomes colour layers on the person's body
mesh ("Sensitivity mean", "Sensitivity <joint>"), coloured with the colour table and scale stored in the .npz,
so the mesh and the picture (whose corner carries the legend) read alike. The scale's top in mm is kept on
the body as custom properties, and vertices no position covered are grey. The plane is keyed to show at the
map's frame only.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..contract.errors import UserError
from .camera_math import footage_plane_depth
from .camera_planes import camera_plane, image_plane_material
from .overlay_planes import OVERLAY_GAP_M, OVERLAY_PROPERTY

SENSITIVITY_KIND = "sensitivity"  # the planes' OVERLAY_PROPERTY value
SCALE_PROPERTY = "pare_sensitivity_scale_mm"  # on the body: {layer name: top of its colour scale in mm}
UNCOVERED_SRGB = (0.5, 0.5, 0.5, 1.0)
FORMAT_NAME = "pare-body-sensitivity"
_ARRAYS = ("mesh_error_mm", "mesh_joint_error_mm", "chosen_joints", "scale_max_mm", "joint_scale_max_mm",
           "colormap_rgb", "reference_joints3d", "meta")


@dataclass(frozen=True)
class SensitivityMap:
    """What the scene needs from a sensitivity .npz and its mean picture."""

    frame: int  # the source frame it was made for
    image_size: tuple[int, int]  # (W, H) of the footage
    focal_length_px: float
    layers: dict[str, np.ndarray]  # colour layer name -> (V,) mm per vertex, NaN where not covered
    scales: dict[str, float]  # colour layer name -> top of its colour scale in mm
    colormap_rgb: np.ndarray  # (256, 3) uint8
    farthest_depth_m: float  # of the unoccluded body's joints
    picture: Path  # <name>_mean.png beside the .npz


def layer_name(joint: str | None) -> str:
    """The body's colour layer of the mean (None) or of one joint."""
    return f"Sensitivity {joint or 'mean'}"


def read_sensitivity(path: str | Path) -> SensitivityMap:
    """Read a sensitivity .npz (UserError naming what is wrong) and find its mean picture beside it."""
    path = Path(path)
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not an occlusion sensitivity file (.npz from `python -m inference sensitivity`)")
    with np.load(path, allow_pickle=False) as archive:
        missing = [name for name in _ARRAYS if name not in archive.files]
        if missing:
            raise UserError(f"{path.name} is not an occlusion sensitivity file: it lacks {', '.join(missing)}")
        arrays = {name: archive[name] for name in _ARRAYS}
    meta = json.loads(str(arrays["meta"]))
    if meta.get("format") != FORMAT_NAME:
        raise UserError(f"{path.name} is not an occlusion sensitivity file (its format is {meta.get('format')!r})")
    picture = path.with_name(f"{path.stem}_mean.png")
    if not picture.is_file():
        raise UserError(f"The map picture {picture.name} is missing beside {path.name}")
    joints = [str(name) for name in arrays["chosen_joints"]]
    layers = {layer_name(None): arrays["mesh_error_mm"],
              **{layer_name(j): values for j, values in zip(joints, arrays["mesh_joint_error_mm"])}}
    scales = {layer_name(None): float(arrays["scale_max_mm"]),
              **{layer_name(j): float(top) for j, top in zip(joints, arrays["joint_scale_max_mm"])}}
    return SensitivityMap(frame=int(meta["frame"]), image_size=(int(meta["image_width"]), int(meta["image_height"])),
                          focal_length_px=float(meta["focal_length_px"]), layers=layers, scales=scales,
                          colormap_rgb=arrays["colormap_rgb"],
                          farthest_depth_m=float(np.max(arrays["reference_joints3d"][:, 2])), picture=picture)


def vertex_colours(values_mm: np.ndarray, colormap_rgb: np.ndarray, scale_max_mm: float) -> np.ndarray:
    """(V,) mm per vertex -> (V, 4) float32 opaque sRGB in 0..1: level round(255 * min(value / scale, 1)) of
    the (256, 3) table, as the inference side colours its pictures; NaN (not covered) is grey."""
    values = np.asarray(values_mm, dtype=np.float64)
    unit = np.clip(np.nan_to_num(values) / max(scale_max_mm, 1e-12), 0.0, 1.0)
    rgb = colormap_rgb[np.rint(unit * 255).astype(np.int64)] / 255.0
    colours = np.concatenate([rgb, np.ones((len(values), 1))], axis=1)
    colours[~np.isfinite(values)] = UNCOVERED_SRGB
    return colours.astype(np.float32)


def _colour_layers(body: bpy.types.Object, sensitivity: SensitivityMap) -> None:
    """One point colour layer per map on the body (replacing those of an earlier map); the mean shown."""
    mesh = body.data
    for name, values in sensitivity.layers.items():
        if len(values) != len(mesh.vertices):
            raise UserError(f"The sensitivity map has {len(values)} vertices but {body.name} has "
                            f"{len(mesh.vertices)}: it was made with another body model")
        old = mesh.color_attributes.get(name)
        if old is not None:
            mesh.color_attributes.remove(old)
        layer = mesh.color_attributes.new(name, "BYTE_COLOR", "POINT")
        layer.data.foreach_set("color_srgb", vertex_colours(values, sensitivity.colormap_rgb,
                                                            sensitivity.scales[name]).ravel())
    mesh.color_attributes.active_color = mesh.color_attributes[layer_name(None)]
    body[SCALE_PROPERTY] = dict(sensitivity.scales)


def _plane_depth(camera: bpy.types.Object, sensitivity: SensitivityMap) -> float:
    """Just in front of the camera's nearest plane (footage, overlays, an earlier map), or where the footage
    plane would be when there is none."""
    depths = [-child.location.z for child in camera.children if child.type == "MESH"]
    behind = min(depths) if depths else footage_plane_depth(sensitivity.farthest_depth_m) + OVERLAY_GAP_M
    return behind - OVERLAY_GAP_M


def _show_only_at(plane: bpy.types.Object, scene_frame: int) -> None:
    """Keys that show the plane at `scene_frame` only: the map holds for that frame of the footage alone."""
    for frame, hidden in ((scene_frame - 1, True), (scene_frame, False), (scene_frame + 1, True)):
        plane.hide_viewport = plane.hide_render = hidden
        plane.keyframe_insert("hide_viewport", frame=frame)
        plane.keyframe_insert("hide_render", frame=frame)


def add_sensitivity(body: bpy.types.Object, camera: bpy.types.Object, sensitivity: SensitivityMap,
                    scene_frame: int, collection: bpy.types.Collection) -> bpy.types.Object:
    """Colour the body's vertices and add the map's picture on a camera plane shown at `scene_frame` (the
    map's source frame), replacing an earlier map's plane of that body and frame; returns the plane."""
    _colour_layers(body, sensitivity)
    name = f"{body.name} sensitivity frame {sensitivity.frame}"
    earlier = bpy.data.objects.get(name)
    if earlier is not None and earlier.get(OVERLAY_PROPERTY) == SENSITIVITY_KIND:
        bpy.data.objects.remove(earlier)
    image = bpy.data.images.load(str(sensitivity.picture), check_existing=False)
    material = image_plane_material(name, image, 1, 0, 1)
    plane = camera_plane(camera, name, material, _plane_depth(camera, sensitivity), sensitivity.focal_length_px,
                         sensitivity.image_size, collection)
    plane[OVERLAY_PROPERTY] = SENSITIVITY_KIND
    _show_only_at(plane, scene_frame)
    return plane
