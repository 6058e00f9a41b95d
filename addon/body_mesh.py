"""The SMPL body mesh of one person: skinned to its armature, with shape keys and part colours.

Blender evaluates shape keys before the Armature modifier, which is SMPL's order: the template plus shape
and pose blend shapes, then linear blend skinning. So the basis is the template, each of the 10 beta keys
and 207 pose-corrective keys holds one blend shape as its offset, and the modifier skins with SMPL's weights
(one vertex group per bone). Everything is stored in world axes (WORLD_FROM_SMPL), like the armature.
"""
from __future__ import annotations

import bpy
import numpy as np

from .body_parts import vertex_colors
from .rig_math import WORLD_FROM_SMPL
from ..contract.skeleton import JOINT_NAMES, NUM_BETAS
from .smpl_rest import SMPLArrays

PART_COLOR_LAYER = "smpl_parts"
BETA_SLIDER_RANGE = 10.0  # Blender's widest shape-key range; estimated betas lie well inside it
# Pose features are entries of R - I: diagonal ones lie in [-2, 0], the others in [-1, 1].
POSE_SLIDER_RANGE = 2.0


def beta_key_name(index: int) -> str:
    return f"beta_{index:02d}"


def pose_key_names() -> list[str]:
    """The 207 pose-corrective key names in pose-feature order: joint 1..23, then row, then column."""
    return [f"pose_{JOINT_NAMES[joint]}_{row}{col}"
            for joint in range(1, len(JOINT_NAMES)) for row in range(3) for col in range(3)]


def _in_world(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) @ WORLD_FROM_SMPL.T


def _mesh_data(name: str, model: SMPLArrays) -> bpy.types.Mesh:
    """Template vertices and triangles, smooth shaded, written with foreach_set (no Python per vertex)."""
    faces = np.asarray(model.f, dtype=np.int32)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(model.v_template))
    mesh.vertices.foreach_set("co", _in_world(model.v_template).astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), dtype=bool))
    mesh.update()
    mesh.validate()
    return mesh


def _add_part_colors(mesh: bpy.types.Mesh, model: SMPLArrays) -> None:
    layer = mesh.color_attributes.new(PART_COLOR_LAYER, "BYTE_COLOR", "POINT")
    layer.data.foreach_set("color_srgb", vertex_colors(model.weights).astype(np.float32).ravel())
    mesh.color_attributes.active_color = layer
    mesh.color_attributes.render_color_index = mesh.color_attributes.active_color_index


def _add_vertex_groups(body: bpy.types.Object, weights: np.ndarray) -> None:
    """One group per bone. Vertices sharing a weight go in one call; zero weights are left out."""
    for joint, name in enumerate(JOINT_NAMES):
        group = body.vertex_groups.new(name=name)
        column = weights[:, joint]
        used = np.flatnonzero(column > 0)
        values, inverse = np.unique(column[used], return_inverse=True)
        for value_index, value in enumerate(values):
            group.add(used[inverse == value_index].tolist(), float(value), "REPLACE")


def _add_shape_key(body: bpy.types.Object, name: str, basis: np.ndarray, offsets: np.ndarray,
                   slider_range: float, value: float = 0.0) -> None:
    key = body.shape_key_add(name=name, from_mix=False)
    key.data.foreach_set("co", (basis + _in_world(offsets)).astype(np.float32).ravel())
    key.slider_min, key.slider_max = -slider_range, slider_range
    key.value = value


def has_pose_correctives(model: SMPLArrays) -> bool:
    """Whether the model's pose blend shapes move anything: the stand-in body's are all zero, and 207 keys
    of zeros, keyed every frame, would only cost memory and time."""
    return bool(np.any(np.asarray(model.posedirs)))


def build_body_mesh(name: str, model: SMPLArrays, betas: np.ndarray, armature: bpy.types.Object,
                    collection: bpy.types.Collection, pose_correctives: bool) -> bpy.types.Object:
    """The skinned body of one person, its beta keys set to `betas` (10,), parented to `armature`.

    With `pose_correctives` the 207 pose keys are added (at 0; `rig_animation` keys them per frame).
    """
    body = bpy.data.objects.new(name, _mesh_data(name, model))
    collection.objects.link(body)
    body.parent = armature
    _add_part_colors(body.data, model)
    _add_vertex_groups(body, np.asarray(model.weights, dtype=np.float64))
    modifier = body.modifiers.new("Armature", "ARMATURE")
    modifier.object = armature
    body.shape_key_add(name="Basis", from_mix=False)
    basis = _in_world(model.v_template)
    for index in range(NUM_BETAS):
        _add_shape_key(body, beta_key_name(index), basis, model.shapedirs[:, :, index], BETA_SLIDER_RANGE,
                       float(betas[index]))
    if pose_correctives:
        posedirs = np.asarray(model.posedirs)
        for index, key_name in enumerate(pose_key_names()):
            _add_shape_key(body, key_name, basis, posedirs[:, :, index], POSE_SLIDER_RANGE)
    return body
