"""Export Motion: the retargeted rig's motion (else the person's SMPL rig) to FBX, BVH or glTF / GLB, by the
file name's suffix, with Blender's own exporters (see retarget.export for the settings)."""
from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import StringProperty

from ...contract.errors import UserError
from ..retarget.export import EXPORT_SUFFIXES, export_motion


def armature_to_export(settings) -> bpy.types.Object | None:
    """The target rig once it has been retargeted (it has an action or NLA strips), else the person."""
    target = settings.target
    animation = target.animation_data if target is not None else None
    if animation is not None and (animation.action is not None or len(animation.nla_tracks)):
        return target
    return settings.source


class PAREBODY_OT_export_motion(bpy.types.Operator):
    """Export the retargeted rig's motion (or the person's) as FBX, BVH or glTF"""

    bl_idname = "pare_body.export_motion"
    bl_label = "Export Motion"

    filepath: StringProperty(name="File", subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default=";".join(f"*{suffix}" for suffix in EXPORT_SUFFIXES), options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        settings = getattr(context.scene, "pare_body_retarget", None)
        return settings is not None and armature_to_export(settings) is not None

    def invoke(self, context, event):
        if not self.filepath:
            self.filepath = f"{armature_to_export(context.scene.pare_body_retarget).name}.fbx"
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        settings = context.scene.pare_body_retarget
        armature = armature_to_export(settings)
        try:
            written = export_motion(context, armature, Path(bpy.path.abspath(self.filepath)),
                                    with_meshes=settings.export_meshes)
        except (UserError, OSError) as error:
            settings.error = str(error)
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        settings.error = ""
        self.report({"INFO"}, f"Exported '{armature.name}' to {written}")
        return {"FINISHED"}


CLASSES = (PAREBODY_OT_export_motion,)
