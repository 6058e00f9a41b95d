"""PARE Body Estimator as a Blender extension (manifest: blender_manifest.toml).

Blender imports this folder as the package bl_ext.<repository>.pare_body_estimator: `addon/` holds everything
that imports bpy, `contract/` what it shares with `inference/` (the estimator its worker runs). Importing only
defines the classes; `register` hands them to Blender.
"""
import bpy

from .addon import active_run, legend, panel, preferences, properties, retarget_panel, retarget_properties
from .addon.operators import (cancel_estimate, estimate_body, export_motion, import_result, occlusion_sensitivity,
                              retarget_motion, setup_environment)

CLASSES = (*properties.CLASSES, *retarget_properties.CLASSES, *preferences.CLASSES, *import_result.CLASSES,
           *estimate_body.CLASSES, *cancel_estimate.CLASSES, *setup_environment.CLASSES, *retarget_motion.CLASSES,
           *export_motion.CLASSES, *occlusion_sensitivity.CLASSES, *panel.CLASSES, *retarget_panel.CLASSES)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    properties.register()
    retarget_properties.register()
    legend.register()
    bpy.app.handlers.load_pre.append(active_run.stop_before_load)


def unregister() -> None:
    active_run.stop_before_load()
    bpy.app.handlers.load_pre.remove(active_run.stop_before_load)
    legend.unregister()
    retarget_properties.unregister()
    properties.unregister()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
