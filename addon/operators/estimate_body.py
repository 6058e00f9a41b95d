"""Estimate Body: footage in the panel -> the inference worker -> overlays -> rigged bodies in the scene.

A thin shell over the plain state machine in `estimate_run`: `start_run` makes the run from the panel's
settings and the preferences, `advance` steps it and shows its progress, `finish` reports how it ended. Run
from the panel, the operator is modal: a timer calls `advance` ten times a second and passes every other event
through, so Blender stays usable; ESC or the panel's Cancel stops it. From a script or background Blender
(where timers never fire) `execute` runs the same steps to the end. The scene changes only when the run
finishes, in one undo step; a failure or cancel leaves it as it was.
"""
from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import bpy

from ...contract.errors import UserError
from ...contract.file_checks import regular_file
from ...contract.options import SCENE_OPTIONS, checked_values
from ..active_run import active_run, set_active_run
from ..estimate_run import CANCELLED, DONE, Build, EstimateRun, RunPlan
from ..option_properties import estimate_values, scene_values
from ..overlay_frames import OverlayRequest
from ..preferences import (addon_preferences, checkpoint_path, chosen_python, python_candidates, smpl_path,
                           user_folder)
from ..scene_build import BuildOptions, import_result_file
from ..timed_modal import TimedModal
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
    regular_file(input_path, "input", folder_ok=True)  # missing, or a pipe or device that would block the worker
    checkpoint = checkpoint_path(context)
    prefs = addon_preferences(context)
    options = {**estimate_values(settings), "checkpoint": checkpoint,
               "smpl": smpl_path(context, settings.body_model), "device": prefs.device if prefs else None}
    options["refine"] = options["refine"] and checkpoint is not None  # greyed out in the panel without PARE
    # Every value checked before a run folder or a worker exists (scripts can set fields past the UI limits).
    checked_values(options)
    checked_values(scene_values(settings), SCENE_OPTIONS)
    kinds = settings.overlay_kinds()
    python = chosen_python(context)
    return RunPlan(job=EstimateJob(input=str(input_path), output="", options=options), python=python,
                   candidates=() if python else tuple(python_candidates()), run_folder=run_folder(input_path),
                   overlays=OverlayRequest(kinds, settings.attention_part_index()) if kinds else None)


def scene_builder(context: bpy.types.Context, plan: RunPlan) -> Build:
    """The run's last step: the result (and its overlay frames) into the scene, with the panel's options."""
    options = BuildOptions(**scene_values(context.scene.pare_body))
    smpl = plan.job.options["smpl"]
    name = f"PARE {Path(plan.job.input).stem or Path(plan.job.input).name}"

    def build(result: Path, overlays: tuple) -> object:
        return import_result_file(bpy.context, result, smpl, replace(options, overlays=overlays), name=name)
    return build


def show_run(context: bpy.types.Context, run: EstimateRun) -> None:
    """Copy the run's state to what the panel draws, and redraw the 3D views."""
    job = context.window_manager.pare_body_job
    job.running = not run.over
    job.progress, job.stage = run.progress, run.stage_text
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


def start_run(context: bpy.types.Context, clock: Callable[[], float] = time.monotonic) -> EstimateRun:
    """A new run from the panel, made the active one; UserError (also shown in the panel) when it cannot."""
    job = context.window_manager.pare_body_job
    job.error = job.message = job.report = ""
    try:
        plan = plan_from_settings(context)
        try:
            run = EstimateRun(plan, scene_builder(context, plan), clock)
        except OSError as error:  # the run folder cannot be made (a read-only project folder, a full disk)
            raise UserError(f"Cannot make the run folder {plan.run_folder} ({error.strerror or error}): save "
                            f"the .blend in a folder you can write to.") from None
    except UserError as error:
        job.error = str(error)
        raise
    set_active_run(run)
    show_run(context, run)
    return run


def advance(context: bpy.types.Context, run: EstimateRun) -> bool:
    """One timer step of the run; True once it is over."""
    over = run.step()
    show_run(context, run)
    return over


def finish(context: bpy.types.Context, run: EstimateRun) -> tuple[str, str]:
    """The run is no longer active; its outcome goes to the panel. Returns (report level, message)."""
    set_active_run(None)
    show_run(context, run)
    job = context.window_manager.pare_body_job
    if run.state == CANCELLED:
        job.message = "Cancelled: nothing was changed."
        return "WARNING", job.message
    if run.state != DONE:
        job.error = run.error or "The run ended without a result."
        if run.details:
            print(run.details)
        return "ERROR", job.error
    prefs = addon_preferences(context)
    if prefs is not None and run.plan.python is None and run.python:
        prefs.detected_python = run.python  # the next run skips the search
    for kind in run.plan.overlays.kinds if run.plan.overlays else ():
        setattr(context.scene.pare_body, f"show_{kind}", True)  # its update shows the new planes too
    report = run.report
    job.message = (f"{report.persons} person(s) over {report.frames} frame(s) in '{report.collection}', "
                   f"{report.body}; result and overlays in {run.plan.run_folder}")
    job.report = "\n".join(report.quality)
    return "INFO", job.message


class PAREBODY_OT_estimate_body(TimedModal, bpy.types.Operator):
    """Estimate SMPL bodies in the chosen footage and build rigged, keyframed bodies under a matched camera"""

    bl_idname = "pare_body.estimate_body"
    bl_label = "Estimate Body"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return active_run() is None

    def _start(self, context) -> EstimateRun | None:
        try:
            return start_run(context)
        except UserError as error:
            self.report({"ERROR"}, str(error))
            return None

    def invoke(self, context, event):
        if self._start(context) is None:
            return {"CANCELLED"}
        return self.start_timer(context, TIMER_S)

    def modal(self, context, event):
        run = active_run()
        if run is None:  # stopped from outside (another file was loaded)
            self.end_timer(context)
            return {"CANCELLED"}
        if event.type == "ESC" and event.value == "PRESS":
            run.cancel()
            return {"RUNNING_MODAL"}
        if event.type != "TIMER" or not advance(context, run):
            return {"PASS_THROUGH"}
        return self._finish(context, run)

    def execute(self, context):
        run = self._start(context)
        if run is None:
            return {"CANCELLED"}
        try:
            run.run_to_end()
        except BaseException:  # Ctrl+C in a script: stop the worker, leave nothing behind
            run.stop_now()
            self._finish(context, run)
            raise
        return self._finish(context, run)

    def cancel(self, context):
        """Blender ends the operator (another file is loaded, the window closes): stop the worker now."""
        run = active_run()
        if run is not None:
            run.stop_now()
            self._finish(context, run)

    def _finish(self, context, run: EstimateRun) -> set[str]:
        self.end_timer(context)
        level, message = finish(context, run)
        for warning in run.warnings if run.state == DONE else ():
            self.report({"WARNING"}, warning)
        self.report({level}, message)
        return {"FINISHED"} if run.state == DONE else {"CANCELLED"}


CLASSES = (PAREBODY_OT_estimate_body,)
