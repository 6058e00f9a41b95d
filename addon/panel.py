"""The sidebar panel: View3D > Sidebar > Body.

The main panel holds what most runs need (input, frames, people, smoothing, overlays, Estimate Body) and,
while a run goes on, its progress bar and Cancel; sub-panels hold the advanced options and, once overlay
planes exist, their toggles and the colour legend. Errors are wrapped to the panel's width so a user reads
the whole message.
"""
from __future__ import annotations

import textwrap
from typing import Callable

import bpy

from ..contract.errors import UserError
from ..contract.options import ADVANCED
from .legend import part_icon
from .option_properties import panel_options
from .operators.cancel_estimate import PAREBODY_OT_cancel_estimate
from .operators.estimate_body import PAREBODY_OT_estimate_body
from .operators.import_result import PAREBODY_OT_import_result
from .operators.occlusion_sensitivity import PAREBODY_OT_occlusion_sensitivity
from .overlay_frames import KINDS
from .overlay_planes import overlay_planes
from .preferences import ADDON_PACKAGE, checkpoint_path, smpl_path
from ..contract.skeleton import JOINT_NAMES

PIXELS_PER_CHARACTER = 7  # roughly, at the default UI scale: how many characters fit a panel line


def wrapped_lines(context: bpy.types.Context, text: str) -> list[str]:
    width = context.region.width if context.region else 300
    return textwrap.wrap(text, max(20, width // PIXELS_PER_CHARACTER)) or [""]


def draw_message(layout: bpy.types.UILayout, context: bpy.types.Context, text: str, icon: str) -> None:
    box = layout.box().column(align=True)
    for index, line in enumerate(wrapped_lines(context, text)):
        box.label(text=line, icon=icon if index == 0 else "BLANK1")


def is_set(find_path: Callable[[], str | None]) -> bool:
    """Whether a file is set; a set file that is missing counts (Estimate Body then says what is wrong)."""
    try:
        return find_path() is not None
    except UserError:
        return True


def estimator_summary(context: bpy.types.Context) -> tuple[list[str], bool]:
    """What Estimate Body will use (short lines for the panel) and whether a PARE checkpoint is set."""
    body_model = context.scene.pare_body.body_model
    pare = is_set(lambda: checkpoint_path(context))
    smpl = is_set(lambda: smpl_path(context, body_model))
    estimator = "PARE" if pare else "keypoints (no PARE checkpoint)"
    body = f"SMPL {body_model.lower()}" if smpl else "stand-in (no SMPL file)"
    return [f"Estimator: {estimator}", f"Body: {body}"], pare


class BodyPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Body"


class PAREBODY_PT_body(BodyPanel, bpy.types.Panel):
    bl_idname = "PAREBODY_PT_body"
    bl_label = "PARE Body"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.pare_body
        job = context.window_manager.pare_body_job
        layout.use_property_split = True
        layout.use_property_decorate = False

        inputs = layout.column()
        inputs.enabled = not job.running
        inputs.prop(settings, "input_path")
        inputs.prop(settings, "use_frame_range")
        if settings.use_frame_range:
            frames = inputs.column(align=True)
            frames.prop(settings, "first_frame")
            frames.prop(settings, "last_frame")
        inputs.prop(settings, "stride")
        inputs.prop(settings, "person_choice")
        if settings.person_choice == "ids":
            inputs.prop(settings, "person_ids")
        inputs.prop(settings, "smooth")
        summary, pare = estimator_summary(context)
        pare_only = inputs.column()
        pare_only.active = pare  # refining, part attention and segmentation are PARE's: greyed without it
        pare_only.prop(settings, "refine")
        overlays = pare_only.column(heading="Overlays")
        overlays.prop(settings, "overlay_attention")
        if settings.overlay_attention:
            overlays.prop(settings, "attention_part")
        overlays.prop(settings, "overlay_segmentation")
        for line in summary:
            inputs.label(text=line, icon="INFO")

        if job.running:
            layout.progress(factor=job.progress, type="BAR", text=job.stage)
            layout.operator(PAREBODY_OT_cancel_estimate.bl_idname, icon="CANCEL")
        else:
            layout.operator(PAREBODY_OT_estimate_body.bl_idname, icon="ARMATURE_DATA")
        if job.error:
            draw_message(layout, context, job.error, "ERROR")
        elif job.message:
            draw_message(layout, context, job.message, "INFO")
            for line in job.report.splitlines():  # per person: frames, fit, jitter, frames to check
                draw_message(layout, context, line, "OUTLINER_OB_ARMATURE")
        layout.separator()
        layout.operator(PAREBODY_OT_occlusion_sensitivity.bl_idname, icon="MOD_MASK")
        row = layout.row(align=True)
        row.operator(PAREBODY_OT_import_result.bl_idname, icon="IMPORT")
        row.operator("preferences.addon_show", text="", icon="PREFERENCES").module = ADDON_PACKAGE


class PAREBODY_PT_advanced(BodyPanel, bpy.types.Panel):
    bl_idname = "PAREBODY_PT_advanced"
    bl_label = "Advanced"
    bl_parent_id = PAREBODY_PT_body.bl_idname
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        settings = context.scene.pare_body
        layout.enabled = not context.window_manager.pare_body_job.running
        layout.prop(settings, "body_model")
        for option in panel_options(ADVANCED):
            layout.prop(settings, option.name)


class PAREBODY_PT_overlays(BodyPanel, bpy.types.Panel):
    """Visibility of the overlay planes in the scene, and the part colours."""

    bl_idname = "PAREBODY_PT_overlays"
    bl_label = "Overlays"
    bl_parent_id = PAREBODY_PT_body.bl_idname

    @classmethod
    def poll(cls, context):
        return any(overlay_planes(context.scene, kind) for kind in KINDS)

    def draw(self, context):
        layout = self.layout
        settings = context.scene.pare_body
        row = layout.row(align=True)
        for kind in KINDS:
            if overlay_planes(context.scene, kind):
                row.prop(settings, f"show_{kind}", toggle=True, icon="HIDE_OFF")
        layout.label(text="Part colours (segmentation: background clear)")
        grid = layout.grid_flow(columns=2, even_columns=True, align=True)
        for index, name in enumerate(JOINT_NAMES):
            grid.label(text=name.replace("_", " "), icon_value=part_icon(index))


CLASSES = (PAREBODY_PT_body, PAREBODY_PT_advanced, PAREBODY_PT_overlays)
