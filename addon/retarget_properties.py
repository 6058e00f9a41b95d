"""What the Retarget & Export sub-panel edits (scene.pare_body_retarget): the person, the animator's rig, the
bone map and how the keys are baked.

The map shown in the panel is filled from the chosen preset (or JSON file) whenever the rig or the choice
changes; editing any of its bones switches the choice to Custom, so what the panel shows is what Retarget uses.
"""
from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty, PointerProperty,
                       StringProperty)

from ..contract.errors import UserError
from ..contract.skeleton import JOINT_NAMES
from .retarget.bone_maps import LIMB_NAMES, BoneMap, check_complete, resolve_bone_map

CUSTOM, FILE = "CUSTOM", "FILE"
MAP_ITEMS = (("auto", "Auto", "Guess from the rig's bone names and hierarchy (tries every preset first)"),
             ("rigify", "Rigify", "A generated Rigify rig: its FK controls, so IK/FK snapping still works"),
             ("mixamo", "Mixamo", "Mixamo characters (mixamorig: names, any namespace)"),
             ("ue5", "UE5 Mannequin", "Unreal Engine 5's mannequin: pelvis, spine_01, thigh_l, upperarm_l..."),
             ("smpl", "SMPL", "Another SMPL armature (the add-on's own bone names)"),
             (FILE, "JSON File", "A bone map saved as JSON"),
             (CUSTOM, "Custom", "The map as edited below"))


def is_person(_self, obj: bpy.types.Object) -> bool:
    """An SMPL armature (a person the add-on built)."""
    return obj.type == "ARMATURE" and all(name in obj.data.bones for name in JOINT_NAMES)


def is_target(_self, obj: bpy.types.Object) -> bool:
    return obj.type == "ARMATURE"


def bone_map_spec(settings: "PAREBODY_PG_retarget") -> str:
    """The resolve_bone_map spec of the chosen map: a preset name or the JSON file's path."""
    return bpy.path.abspath(settings.map_file) if settings.bone_map == FILE else settings.bone_map


def chosen_bone_map(settings: "PAREBODY_PG_retarget") -> BoneMap:
    """The map Retarget uses: the edited entries when Custom, else the preset or file resolved for the
    target rig. Raises UserError (naming the limbs that cannot be mapped)."""
    target = settings.target
    if target is None:
        raise UserError("Choose the rig to retarget onto (an armature in the scene)")
    if settings.bone_map == CUSTOM:
        bone_map = {entry.joint: entry.bone for entry in settings.entries if entry.bone}
        check_complete(bone_map, target.name, "the edited bone map")
        return bone_map
    bones = [bone.name for bone in target.data.bones]
    parents = {bone.name: bone.parent.name if bone.parent else None for bone in target.data.bones}
    return resolve_bone_map(bone_map_spec(settings), target.name, bones, parents)


def fill_entries(settings: "PAREBODY_PG_retarget") -> None:
    """Show the chosen map's bones for the target in the panel; on a map that does not fit, keep what
    fits and leave the rest empty for the animator to fill in (the error shows when Retarget is pressed)."""
    if settings.bone_map == CUSTOM or settings.target is None:
        return
    try:
        bone_map = chosen_bone_map(settings)
    except UserError:
        bone_map = {}
    settings.filling = True
    try:
        settings.entries.clear()
        for joint in JOINT_NAMES:
            entry = settings.entries.add()
            entry.joint, entry.bone = joint, bone_map.get(joint, "")
    finally:
        settings.filling = False


def _refill(self, _context) -> None:
    fill_entries(self)


def _edited(self, context) -> None:
    settings = context.scene.pare_body_retarget
    if not settings.filling and settings.bone_map != CUSTOM:
        settings.bone_map = CUSTOM


class PAREBODY_PG_bone_pair(bpy.types.PropertyGroup):
    """One row of the edited map: an SMPL joint and the target bone that plays it."""

    joint: StringProperty(name="Joint")
    bone: StringProperty(name="Bone", update=_edited, description="The target rig's bone that plays this joint")

    def limb(self) -> str:
        return LIMB_NAMES.get(self.joint, self.joint)


class PAREBODY_PG_retarget(bpy.types.PropertyGroup):
    """scene.pare_body_retarget: a retarget's person, rig, map and baking options."""

    source: PointerProperty(name="Person", type=bpy.types.Object, poll=is_person,
                            description="The person's SMPL armature whose motion is retargeted")
    target: PointerProperty(name="Target Rig", type=bpy.types.Object, poll=is_target, update=_refill,
                            description="Your character's armature: the motion is keyed on its own bones")
    bone_map: EnumProperty(name="Bone Map", items=MAP_ITEMS, default="auto", update=_refill)
    map_file: StringProperty(name="Map File", subtype="FILE_PATH", update=_refill,
                             description="A bone map as JSON: read with the JSON File map, written by Save Map")
    save_map: BoolProperty(name="Save Map", default=False,
                           description="Write the map used to the Map File when retargeting, to reuse it")
    entries: CollectionProperty(type=PAREBODY_PG_bone_pair)
    show_map: BoolProperty(name="Show Map", default=False)
    filling: BoolProperty(default=False, options={"HIDDEN", "SKIP_SAVE"})
    thin_degrees: FloatProperty(name="Thin Keys", default=0.0, min=0.0, max=10.0, unit="NONE",
                                description="Drop keys that interpolation restores within this many degrees "
                                            "(0: a key on every frame)")
    nla_strip: BoolProperty(name="NLA Strip", default=False,
                            description="Push each retargeted take to its own NLA strip")
    export_meshes: BoolProperty(name="Export Meshes", default=False,
                                description="Export the meshes the rig deforms too (FBX and glTF)")
    error: StringProperty(default="", options={"SKIP_SAVE"})

    def map_file_path(self) -> Path | None:
        return Path(bpy.path.abspath(self.map_file)) if self.map_file else None


CLASSES = (PAREBODY_PG_bone_pair, PAREBODY_PG_retarget)


def register() -> None:
    bpy.types.Scene.pare_body_retarget = PointerProperty(type=PAREBODY_PG_retarget)


def unregister() -> None:
    del bpy.types.Scene.pare_body_retarget
