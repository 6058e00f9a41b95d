"""The Estimate Body run the panel shows (at most one at a time), and the handler that stops it when Blender
loads another file: its worker and its scene would otherwise outlive the scene it was started for."""
from __future__ import annotations

import bpy

from .estimate_run import EstimateRun

_ACTIVE: list[EstimateRun] = []


def active_run() -> EstimateRun | None:
    return _ACTIVE[0] if _ACTIVE else None


def set_active_run(run: EstimateRun | None) -> None:
    _ACTIVE[:] = [run] if run is not None else []


@bpy.app.handlers.persistent
def stop_before_load(*_args) -> None:
    """load_pre handler (registered by the extension): stop the run before another .blend replaces the scene."""
    run = active_run()
    if run is not None:
        run.stop_now()
        set_active_run(None)
