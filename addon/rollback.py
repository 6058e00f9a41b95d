"""All or nothing: a failed import removes what it created and puts the scene settings back.

Tracking every datablock by hand misses the ones Blender creates on the side (a shape-key block, an
armature's data); comparing the datablock collections before and after catches them all.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import bpy

ID_COLLECTIONS = ("objects", "meshes", "armatures", "actions", "cameras", "images", "materials",
                  "collections", "node_groups", "textures", "movieclips")
SCENE_SETTINGS = ("frame_start", "frame_end", "frame_current", "camera")
RENDER_SETTINGS = ("fps", "fps_base", "resolution_x", "resolution_y", "resolution_percentage",
                   "pixel_aspect_x", "pixel_aspect_y")


def _pointers() -> dict[str, set[int]]:
    return {name: {block.as_pointer() for block in getattr(bpy.data, name)} for name in ID_COLLECTIONS}


@contextmanager
def rollback_on_failure(scene: bpy.types.Scene) -> Iterator[None]:
    """Run the body; if it raises, delete every datablock it added and restore the scene settings it may
    have changed, then let the exception through."""
    before = _pointers()
    scene_values = {name: getattr(scene, name) for name in SCENE_SETTINGS}
    render_values = {name: getattr(scene.render, name) for name in RENDER_SETTINGS}
    try:
        yield
    except BaseException:
        added = [block for name in ID_COLLECTIONS for block in getattr(bpy.data, name)
                 if block.as_pointer() not in before[name]]
        bpy.data.batch_remove(added)
        for name, value in render_values.items():
            setattr(scene.render, name, value)
        for name, value in scene_values.items():
            setattr(scene, name, value)
        raise
