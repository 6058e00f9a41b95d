"""A modal operator stepped by a window timer: the Estimate Body run, the occlusion sensitivity worker and the
environment setup all poll a child process this way, so Blender stays usable while it works."""
from __future__ import annotations

import bpy


class TimedModal:
    """Mixin for a bpy Operator: `start_timer` in `invoke`, `end_timer` when the operator ends."""

    _timer = None

    def start_timer(self, context: bpy.types.Context, interval_s: float) -> set[str]:
        """Step `modal` every `interval_s` seconds; returns invoke's result."""
        manager = context.window_manager
        self._timer = manager.event_timer_add(interval_s, window=context.window)
        manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def end_timer(self, context: bpy.types.Context) -> None:
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
