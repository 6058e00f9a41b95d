"""The sidebar panel: View3D > Sidebar > Body."""
from __future__ import annotations

import bpy

from .operators.import_result import PAREBODY_OT_import_result


class PAREBODY_PT_body(bpy.types.Panel):
    bl_idname = "PAREBODY_PT_body"
    bl_label = "PARE Body"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Body"

    def draw(self, context):
        self.layout.operator(PAREBODY_OT_import_result.bl_idname, icon="IMPORT")


CLASSES = (PAREBODY_PT_body,)
