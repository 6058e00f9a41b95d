"""Export an armature's motion with Blender's built-in exporters: FBX, BVH, glTF / GLB, chosen by suffix.

FBX settings are the ones Unity and Unreal import cleanly: no leaf bones, Y-primary bone axes, every frame
sampled with no curve simplification (the exporter's default simplification moves joints by centimetres),
only the active action (not every action in the file), and units applied to the transforms so an FBX-scale
rig (0.01 with centimetre bones) comes out the size it is. BVH is written in metres whatever the rig's scale.
The exporters work on the selection (FBX, glTF) or the active object (BVH), so both are set for the export
and put back afterwards.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import bpy
import numpy as np

from ...contract.errors import UserError

EXPORT_SUFFIXES = (".fbx", ".bvh", ".glb", ".gltf")


def check_export_path(path: Path) -> Path:
    """The absolute path, its suffix checked before anything is done (UserError otherwise)."""
    path = Path(path).expanduser().resolve()
    if path.suffix.lower() not in EXPORT_SUFFIXES:
        raise UserError(f"Cannot export motion to {path.name}: use a file ending in {', '.join(EXPORT_SUFFIXES)}")
    return path


def export_paths(path: Path, count: int) -> list[Path]:
    """One file per person: exactly `path` for one person, else `<stem>_person_<i><suffix>` beside it."""
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}_person_{index}{path.suffix}") for index in range(count)]


@contextlib.contextmanager
def selected_only(context: bpy.types.Context, objects: list[bpy.types.Object]) -> Iterator[None]:
    """Select just `objects` (the first active) for an exporter; the previous selection comes back after."""
    view_layer = context.view_layer
    before = [obj for obj in view_layer.objects if obj.select_get()]
    active = view_layer.objects.active
    hidden = {obj: obj.hide_get() for obj in objects}
    if context.object is not None and context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    for obj in before:
        obj.select_set(False)
    for obj in objects:
        obj.hide_set(False)
        obj.select_set(True)
    view_layer.objects.active = objects[0]
    try:
        yield
    finally:
        for obj in objects:
            obj.select_set(False)
            obj.hide_set(hidden[obj])
        for obj in before:
            obj.select_set(True)
        view_layer.objects.active = active


def _uniform_scale(armature: bpy.types.Object) -> float:
    return float(np.mean(np.abs(np.array(armature.matrix_world.to_scale()))))


def export_motion(context: bpy.types.Context, armature: bpy.types.Object, path: Path,
                  with_meshes: bool = False) -> Path:
    """Write `armature`'s motion over the scene's frame range to `path` (.fbx, .bvh, .glb or .gltf), with
    the meshes it deforms when `with_meshes` (FBX and glTF; BVH has no meshes) -> the path written."""
    path = check_export_path(path)
    if armature.type != "ARMATURE":
        raise UserError(f"Only an armature's motion can be exported; '{armature.name}' is a {armature.type.lower()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    scene = context.scene
    meshes = [obj for obj in scene.objects if obj.type == "MESH" and obj.find_armature() == armature] \
        if with_meshes else []
    suffix = path.suffix.lower()
    with selected_only(context, [armature, *meshes]):
        if suffix == ".fbx":
            bpy.ops.export_scene.fbx(filepath=str(path), use_selection=True,
                                     object_types={"ARMATURE", "MESH"} if meshes else {"ARMATURE"},
                                     apply_unit_scale=True, apply_scale_options="FBX_SCALE_UNITS",
                                     add_leaf_bones=False, primary_bone_axis="Y", secondary_bone_axis="X",
                                     bake_anim=True, bake_anim_use_all_bones=True, bake_anim_use_nla_strips=False,
                                     bake_anim_use_all_actions=False, bake_anim_force_startend_keying=True,
                                     bake_anim_step=1.0, bake_anim_simplify_factor=0.0)
        elif suffix == ".bvh":
            bpy.ops.export_anim.bvh(filepath=str(path), frame_start=scene.frame_start, frame_end=scene.frame_end,
                                    global_scale=_uniform_scale(armature), rotate_mode="NATIVE",
                                    root_transform_only=False)
        else:
            bpy.ops.export_scene.gltf(filepath=str(path), export_format="GLB" if suffix == ".glb" else
                                      "GLTF_SEPARATE", use_selection=True, export_animations=True,
                                      export_animation_mode="ACTIVE_ACTIONS", export_force_sampling=True,
                                      export_frame_range=True, export_skins=bool(meshes))
    return path
