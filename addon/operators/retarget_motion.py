"""Retarget Motion: the chosen person's motion, keyed on the animator's own rig (one undo step).

The map is checked before anything changes: a limb the rig cannot play is named in the panel and the info bar.
"""
from __future__ import annotations

import bpy

from ...contract.errors import UserError
from ..retarget.bake import BakeOptions, bake_retarget
from ..retarget.bone_maps import save_bone_map
from ..retarget_properties import chosen_bone_map


class PAREBODY_OT_retarget_motion(bpy.types.Operator):
    """Key the person's motion on the target rig's own bones, in a new action"""

    bl_idname = "pare_body.retarget_motion"
    bl_label = "Retarget Motion"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        settings = getattr(context.scene, "pare_body_retarget", None)
        return settings is not None and settings.source is not None and settings.target is not None

    def execute(self, context):
        settings = context.scene.pare_body_retarget
        settings.error = ""
        scene = context.scene
        try:
            if settings.source == settings.target:
                raise UserError("The person and the target rig are the same armature: choose your own rig")
            bone_map = chosen_bone_map(settings)
            if settings.save_map and settings.map_file_path() is None:
                raise UserError("Save Map needs a Map File to write to")
            frames = list(range(scene.frame_start, scene.frame_end + 1))
            options = BakeOptions(thin_degrees=settings.thin_degrees, nla_strip=settings.nla_strip)
            action = bake_retarget(context, settings.source, settings.target, bone_map, frames, options)
            if settings.save_map:
                save_bone_map(bone_map, settings.map_file_path())
        except (UserError, OSError) as error:
            settings.error = str(error)
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Retargeted '{settings.source.name}' onto '{settings.target.name}': "
                              f"{len(bone_map)} bones over {len(frames)} frames, action '{action.name}'")
        return {"FINISHED"}


CLASSES = (PAREBODY_OT_retarget_motion,)
