"""View3D > Sidebar > Body > Retarget & Export: pick the person and your rig, a bone map (editable), then
Retarget Motion and Export Motion. A map that does not fit says which limb is missing."""
from __future__ import annotations

import bpy

from .operators.export_motion import PAREBODY_OT_export_motion
from .operators.retarget_motion import PAREBODY_OT_retarget_motion
from .panel import draw_message
from .retarget_properties import FILE


def draw_bone_map(layout: bpy.types.UILayout, settings) -> None:
    """The map as rows "limb: bone", each bone picked from the target's bones, behind a disclosure triangle."""
    box = layout.box()
    box.prop(settings, "show_map", icon="TRIA_DOWN" if settings.show_map else "TRIA_RIGHT", emboss=False)
    if not settings.show_map or settings.target is None:
        return
    column = box.column(align=True)
    for entry in settings.entries:
        column.prop_search(entry, "bone", settings.target.data, "bones", text=entry.limb().capitalize())


class PAREBODY_PT_retarget(bpy.types.Panel):
    bl_idname = "PAREBODY_PT_retarget"
    bl_label = "Retarget & Export"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Body"
    bl_parent_id = "PAREBODY_PT_body"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.pare_body_retarget
        layout.use_property_split = True
        layout.use_property_decorate = False
        layout.prop(settings, "source")
        layout.prop(settings, "target")
        layout.prop(settings, "bone_map")
        if settings.bone_map == FILE or settings.save_map:
            layout.prop(settings, "map_file")
        layout.prop(settings, "save_map")
        if settings.entries:
            draw_bone_map(layout, settings)
        layout.prop(settings, "thin_degrees")
        layout.prop(settings, "nla_strip")
        layout.operator(PAREBODY_OT_retarget_motion.bl_idname, icon="ARMATURE_DATA")
        row = layout.row(align=True)
        row.operator(PAREBODY_OT_export_motion.bl_idname, icon="EXPORT")
        row.prop(settings, "export_meshes", text="", icon="MESH_DATA")
        if settings.error:
            draw_message(layout, context, settings.error, "ERROR")


CLASSES = (PAREBODY_PT_retarget,)
