"""Estimate Body: footage in the panel -> the inference worker -> overlays -> rigged bodies in the scene.

Run from the panel, the operator is modal: a timer steps the run (`estimate_run`) ten times a second and
passes every other event through, so Blender stays usable; ESC or the panel's Cancel stops it. From a script
or background Blender (where timers never fire) `execute` runs the same steps to the end. The scene changes
only when the run finishes, in one undo step; a failure or cancel leaves it as it was.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import bpy

from ...contract.errors import UserError
from ..estimate_run import CANCELLED, DONE, EstimateRun, RunPlan, active_run, set_active_run
from ..overlay_frames import OverlayRequest
from ..preferences import (addon_preferences, checkpoint_path, chosen_python, python_candidates, smpl_path,
                           user_folder)
from ..scene_build import BuildOptions
from ..worker import EstimateJob

TIMER_S = 0.1


def run_folder(input_path: Path) -> Path:
    """A new folder for this run's result and overlays: beside the .blend (so they travel with the project),
    or in the extension's user folder while the .blend is unsaved."""
    stem = re.sub(r"[^\w.-]+", "_", input_path.stem or input_path.name or "input")
    run_id = f"{stem}_{time.strftime('%Y%m%d-%H%M%S')}"
    if bpy.data.is_saved:
        blend = Path(bpy.data.filepath)
        base = blend.parent / f"{blend.stem}_pare"
    else:
        base = user_folder("runs")
    folder, number = base / run_id, 1
    while folder.exists():
        number += 1
        folder = base / f"{run_id}_{number}"
    return folder


def plan_from_settings(context: bpy.types.Context) -> RunPlan:
    """The run the panel's settings and the preferences describe; UserError for what is missing."""
    settings = context.scene.pare_body
    if not settings.input_path:
        raise UserError("Choose a photo, a video or a folder of images as the Input in the Body panel.")
    input_path = Path(bpy.path.abspath(settings.input_path))
    if not input_path.exists():
        raise UserError(f"The input {input_path} does not exist.")
    smpl, checkpoint = smpl_path(context, settings.body_model), checkpoint_path(context)
    prefs = addon_preferences(context)
    job = EstimateJob(
        input=str(input_path), output="", checkpoint=checkpoint, smpl=smpl,
        refine=settings.refine and checkpoint is not None,
        device=prefs.device if prefs else "auto", bbox=settings.bbox.strip() or None, detect=settings.detect,
        person=settings.person(), frame_range=settings.frame_range(), stride=settings.stride,
        smooth=settings.smooth,
        smooth_min_cutoff=settings.smooth_min_cutoff if settings.custom_smoothing else None,
        smooth_beta=settings.smooth_beta if settings.custom_smoothing else None,
        precision=settings.precision, batch_size=settings.batch_size,
        focal_length=settings.focal_length or None)
    kinds = settings.overlay_kinds()
    python = chosen_python(context)
    return RunPlan(job=job, python=python, candidates=() if python else tuple(python_candidates()), smpl=smpl,
                   run_folder=run_folder(input_path), name=f"PARE {input_path.stem or input_path.name}",
                   build=BuildOptions(frame_start=settings.frame_start, pose_correctives=settings.pose_correctives),
                   overlays=OverlayRequest(kinds, settings.attention_part_index()) if kinds else None)


def show_run(context: bpy.types.Context, run: EstimateRun) -> None:
    """Copy the run's state to what the panel draws, and redraw the 3D views."""
    job = context.window_manager.pare_body_job
    job.running = not run.over
    job.progress, job.stage = run.progress, run.stage_text
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


class PAREBODY_OT_estimate_body(bpy.types.Operator):
    """Estimate SMPL bodies in the chosen footage and build rigged, keyframed bodies under a matched camera"""

    bl_idname = "pare_body.estimate_body"
    bl_label = "Estimate Body"
    bl_options = {"REGISTER", "UNDO"}

    _timer = None

    @classmethod
    def poll(cls, context):
        return active_run() is None

    def _start(self, context) -> EstimateRun | None:
        job = context.window_manager.pare_body_job
        job.error = job.message = ""
        try:
            run = EstimateRun(plan_from_settings(context))
        except UserError as error:
            job.error = str(error)
            self.report({"ERROR"}, str(error))
            return None
        set_active_run(run)
        show_run(context, run)
        return run

    def invoke(self, context, event):
        if self._start(context) is None:
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_S, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        run = active_run()
        if run is None:  # stopped from outside (another file was loaded)
            self._end_timer(context)
            return {"CANCELLED"}
        if event.type == "ESC" and event.value == "PRESS":
            run.cancel()
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        over = run.step(context)
        show_run(context, run)
        return self._finish(context, run) if over else {"PASS_THROUGH"}

    def execute(self, context):
        run = self._start(context)
        if run is None:
            return {"CANCELLED"}
        run.run_to_end(context)
        return self._finish(context, run)

    def cancel(self, context):
        """Blender ends the operator (another file is loaded, the window closes): stop the worker now."""
        run = active_run()
        if run is not None:
            run.stop_now()
            self._finish(context, run)

    def _end_timer(self, context) -> None:
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None

    def _finish(self, context, run: EstimateRun) -> set[str]:
        self._end_timer(context)
        set_active_run(None)
        show_run(context, run)
        job = context.window_manager.pare_body_job
        if run.state == CANCELLED:
            job.message = "Cancelled: nothing was changed."
            self.report({"WARNING"}, job.message)
            return {"CANCELLED"}
        if run.state != DONE:
            job.error = run.error
            if run.details:
                print(run.details)
            self.report({"ERROR"}, run.error)
            return {"CANCELLED"}
        self._remember_python(context, run)
        for kind in run.plan.overlays.kinds if run.plan.overlays else ():
            setattr(context.scene.pare_body, f"show_{kind}", True)  # its update shows the new planes too
        for warning in run.warnings:
            self.report({"WARNING"}, warning)
        report = run.report
        job.message = (f"{report.persons} person(s) over {report.frames} frame(s) in '{report.collection}', "
                       f"{report.body}; result and overlays in {run.plan.run_folder}")
        self.report({"INFO"}, job.message)
        return {"FINISHED"}

    @staticmethod
    def _remember_python(context, run: EstimateRun) -> None:
        prefs = addon_preferences(context)
        if prefs is not None and run.plan.python is None and run.python:
            prefs.detected_python = run.python


CLASSES = (PAREBODY_OT_estimate_body,)
