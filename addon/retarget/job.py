"""The headless entry: retarget every person of a built scene onto an armature from a .blend, and export.

    retarget_and_export(context, "PARE clip", "rigs.blend:Hero", "auto", [Path("out/hero.fbx")])

Everything a user can get wrong (a missing .blend, no such object, not an armature, an unknown map, an
unsupported export suffix, an unmappable limb) is found before the scene changes, or undone by rollback.
"""
from __future__ import annotations

from pathlib import Path

import bpy

from ...contract.errors import UserError
from ...contract.skeleton import JOINT_NAMES
from ..rollback import rollback_on_failure
from .bake import BakeOptions, bake_retarget
from .bone_maps import check_spec, resolve_bone_map
from .export import check_export_path, export_motion, export_paths


def parse_retarget_spec(text: str) -> tuple[Path, str]:
    """"TARGET.blend:OBJECT" -> (the .blend, the object name); the last colon splits, so Windows drive
    letters work. Raises UserError."""
    blend, separator, name = text.rpartition(":")
    if not separator or not name or not blend.lower().endswith(".blend"):
        raise UserError(f"--retarget takes TARGET.blend:OBJECT (the .blend and the armature object in it), "
                        f"got '{text}'")
    return Path(blend).expanduser().resolve(), name


def person_armatures(collection: bpy.types.Collection) -> list[bpy.types.Object]:
    """The people's SMPL armatures in a built collection (every armature with the 24 SMPL bones), by name."""
    return sorted((obj for obj in collection.all_objects if obj.type == "ARMATURE"
                   and all(name in obj.data.bones for name in JOINT_NAMES)), key=lambda obj: obj.name)


def _objects_in(blend: Path) -> list[str]:
    if not blend.is_file():
        raise UserError(f"Retarget target file not found: {blend}")
    try:
        with bpy.data.libraries.load(str(blend), link=False) as (data_from, _):
            return list(data_from.objects)
    except OSError as error:
        raise UserError(f"Cannot read {blend} as a .blend file ({error})") from None


def append_armature(blend: Path, object_name: str, collection: bpy.types.Collection) -> bpy.types.Object:
    """Append the object `object_name` from `blend` into `collection` -> it; UserError if it is missing or
    not an armature (the caller's rollback removes what was appended)."""
    names = _objects_in(blend)
    if object_name not in names:
        raise UserError(f"{blend.name} has no object named '{object_name}' (it has: {', '.join(sorted(names)[:20])})")
    with bpy.data.libraries.load(str(blend), link=False) as (_, data_to):
        data_to.objects = [object_name]
    appended = data_to.objects[0]
    collection.objects.link(appended)
    if appended.type != "ARMATURE":
        raise UserError(f"'{object_name}' in {blend.name} is a {appended.type.lower()}, not an armature")
    return appended


def retarget_people(context: bpy.types.Context, armatures: list[bpy.types.Object], target_blend: Path,
                    object_name: str, bone_map: str, options: BakeOptions = BakeOptions()) -> list[bpy.types.Object]:
    """Append armature `object_name` from `target_blend` and bake each person in `armatures` onto a copy of
    it (with one person the copy keeps the name `object_name`, else "<object_name> <person>") over the scene's
    frame range -> the retargeted rigs. All or nothing. Raises UserError."""
    if not armatures:
        raise UserError("There is no person to retarget")
    check_spec(bone_map)
    scene = context.scene
    frames = list(range(scene.frame_start, scene.frame_end + 1))
    collection = armatures[0].users_collection[0] if armatures[0].users_collection else scene.collection
    with rollback_on_failure(scene):
        template = append_armature(Path(target_blend), object_name, collection)
        bones = [bone.name for bone in template.data.bones]
        parents = {bone.name: bone.parent.name if bone.parent else None for bone in template.data.bones}
        resolved = resolve_bone_map(bone_map, object_name, bones, parents)
        targets = [template] + [template.copy() for _ in armatures[1:]]
        for target, person in zip(targets, armatures):
            if target is not template:
                collection.objects.link(target)
            if len(armatures) > 1:
                target.name = f"{object_name} {person.name}"
            bake_retarget(context, person, target, resolved, frames, options)
    return targets


def retarget_and_export(context: bpy.types.Context, collection_name: str, retarget: str | None, bone_map: str,
                        exports: list[Path], options: BakeOptions = BakeOptions()) -> list[Path]:
    """The batch job's step after building the collection `collection_name`: `retarget` ("TARGET.blend:OBJECT"
    or None) the people, then export the retargeted rigs (else the people's SMPL rigs) to each of `exports`,
    one file per person -> the files written. Raises UserError before any change on bad arguments."""
    exports = [check_export_path(path) for path in exports]
    target = parse_retarget_spec(retarget) if retarget else None
    armatures = person_armatures(bpy.data.collections[collection_name])
    if target is not None:
        armatures = retarget_people(context, armatures, target[0], target[1], bone_map, options)
    written = []
    for path in exports:
        for armature, file in zip(armatures, export_paths(path, len(armatures))):
            written.append(export_motion(context, armature, file))
    return written
