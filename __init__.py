"""PARE Body Estimator as a Blender extension (manifest: blender_manifest.toml).

Blender imports this folder as the package bl_ext.<repository>.pare_body_estimator: `addon/` holds everything
that imports bpy, `inference/` the estimator and the result-file reader the add-on shares. Importing only
defines the classes; `register` hands them to Blender.
"""
import bpy

from .addon import panel
from .addon.operators import import_result

CLASSES = (*import_result.CLASSES, *panel.CLASSES)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
