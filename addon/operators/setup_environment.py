"""Set Up Inference Environment: a Python environment with torch and the estimator's requirements, made in the
extension's user folder (never in the extension's own folder, which Blender replaces on updates).

It downloads packages, so it refuses while Blender disallows online access. It runs `python -m venv` and then
`pip install` as child processes polled by a timer, so Blender stays usable for the minutes a torch download
takes; the last line of their output shows in the preferences. A failed or cancelled setup removes the
half-made environment.
"""
from __future__ import annotations

import shutil
import sys
import time

import bpy

from ...contract.errors import UserError
from ..command_sequence import CommandSequence
from ..timed_modal import TimedModal
from ..interpreter import project_requirements, setup_commands, venv_python
from ..preferences import addon_preferences, setup_venv

TIMER_S = 0.2
OFFLINE = ("Blender does not allow online access, and setting up the inference environment downloads torch and "
           "the estimator's requirements (about 1 GB). Allow it in Edit > Preferences > System > Network, or "
           "choose an existing Python with torch as the add-on's Inference Python.")


class PAREBODY_OT_setup_environment(TimedModal, bpy.types.Operator):
    """Create a Python environment with torch and the estimator's requirements in the extension's user folder
    (downloads about 1 GB)"""

    bl_idname = "pare_body.setup_environment"
    bl_label = "Set Up Inference Environment"

    _sequence: CommandSequence | None = None

    @classmethod
    def poll(cls, context):
        return not context.window_manager.pare_body_job.setup_running

    def _start(self, context) -> bool:
        try:
            if not bpy.app.online_access:
                raise UserError(OFFLINE)
            venv = setup_venv()
            shutil.rmtree(venv, ignore_errors=True)  # start clean: a previous attempt may have failed half-way
            self._sequence = CommandSequence(setup_commands(sys.executable, venv, project_requirements()))
        except UserError as error:
            self.report({"ERROR"}, str(error))
            return False
        job = context.window_manager.pare_body_job
        job.setup_running, job.setup_status = True, "Creating the environment"
        return True

    def invoke(self, context, event):
        if not self._start(context):
            return {"CANCELLED"}
        return self.start_timer(context, TIMER_S)

    def modal(self, context, event):
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        over = self._sequence.step()
        context.window_manager.pare_body_job.setup_status = self._sequence.last_line[:200]
        for area in context.screen.areas if context.screen else ():
            area.tag_redraw()
        return self._finish(context) if over else {"PASS_THROUGH"}

    def execute(self, context):
        if not self._start(context):
            return {"CANCELLED"}
        while not self._sequence.step():
            time.sleep(TIMER_S)
        return self._finish(context)

    def cancel(self, context):
        self._sequence.cancel()
        self._finish(context)

    def _finish(self, context) -> set[str]:
        self.end_timer(context)
        job = context.window_manager.pare_body_job
        job.setup_running = False
        if self._sequence.failed:
            shutil.rmtree(setup_venv(), ignore_errors=True)
            job.setup_status = f"Setup failed: {self._sequence.failed}"
            self.report({"ERROR"}, f"The inference environment could not be set up: {self._sequence.failed}")
            return {"CANCELLED"}
        python = str(venv_python(setup_venv()))
        prefs = addon_preferences(context)
        if prefs is not None:
            prefs.detected_python = python
        job.setup_status = "Ready"
        self.report({"INFO"}, f"Inference environment ready: {python}")
        return {"FINISHED"}


CLASSES = (PAREBODY_OT_setup_environment,)
