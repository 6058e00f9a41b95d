"""Cancel: stop the running Estimate Body. The worker gets SIGTERM (it exits 130 and writes nothing) and is
killed if it is still there a second later; the run then removes its folder and the scene stays as it was."""
from __future__ import annotations

import bpy

from ..active_run import active_run


class PAREBODY_OT_cancel_estimate(bpy.types.Operator):
    """Stop the running estimate; nothing is added to the scene"""

    bl_idname = "pare_body.cancel_estimate"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        return active_run() is not None

    def execute(self, context):
        active_run().cancel()  # the estimate operator's next timer step stops the worker
        context.window_manager.pare_body_job.stage = "Cancelling"
        return {"FINISHED"}


CLASSES = (PAREBODY_OT_cancel_estimate,)
