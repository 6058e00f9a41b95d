"""The extension enabled in this test process the way a developer runs it: the repository linked into a local
extension repository, so Blender imports it as bl_ext.<repository>.pare_body_estimator (the package name its
preferences and user folder are keyed by) and every change in the checkout is what runs.

Import this module before bpy: it points BLENDER_USER_RESOURCES at a temporary folder first, so tests never
read or write a real user configuration.
"""
import os
import pathlib
import sys
import tempfile

if "bpy" not in sys.modules:
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="pare-blender-user-")

import bpy  # noqa: E402
import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
REPOSITORY = "pare_dev"
PACKAGE = f"bl_ext.{REPOSITORY}.pare_body_estimator"


def enable_extension():
    """Enable the extension (once per process) and return its package module."""
    repositories = bpy.context.preferences.extensions.repos
    if REPOSITORY not in [repository.module for repository in repositories]:
        folder = pathlib.Path(tempfile.mkdtemp(prefix="pare-extensions-"))
        (folder / "pare_body_estimator").symlink_to(ROOT, target_is_directory=True)
        repositories.new(name="PARE development", module=REPOSITORY, custom_directory=str(folder))
    if PACKAGE not in bpy.context.preferences.addons:
        bpy.ops.preferences.addon_enable(module=PACKAGE)
    return sys.modules[PACKAGE]


def extension_module(name: str):
    """A submodule of the enabled extension, e.g. extension_module('addon.worker')."""
    import importlib
    return importlib.import_module(f"{PACKAGE}.{name}")


def evaluated_vertices(body, depsgraph) -> np.ndarray:
    """(V, 3) world coordinates of the evaluated (shape keys + Armature modifier) body mesh."""
    evaluated = body.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    coords = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", coords)
    evaluated.to_mesh_clear()
    world = np.array(evaluated.matrix_world)
    return coords.reshape(-1, 3) @ world[:3, :3].T + world[:3, 3]
