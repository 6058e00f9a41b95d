"""The floor of a grounded result: a plane at Z = 0 in its own collection, seen in the viewport only.

It is a layout aid (where the feet meet the floor, for the animator and for a shadow catcher they may make
of it), not part of the footage's look, so it stays out of renders until the user switches it on.
"""
from __future__ import annotations

import bpy
import numpy as np

GROUND_COLLECTION = "PARE Ground"
GROUND_COLOUR = (0.35, 0.38, 0.35, 1.0)


def add_ground(parent: bpy.types.Collection, name: str, centre_xy: np.ndarray, size_m: float) -> bpy.types.Object:
    """A square plane `size_m` wide centred on `centre_xy` at Z = 0, in a new collection "PARE Ground" inside
    `parent`, hidden from render."""
    collection = bpy.data.collections.new(GROUND_COLLECTION)
    parent.children.link(collection)
    half = size_m / 2.0
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(-half, -half, 0.0), (half, -half, 0.0), (half, half, 0.0), (-half, half, 0.0)], [],
                     [(0, 1, 2, 3)])
    ground = bpy.data.objects.new(name, mesh)
    ground.location = (float(centre_xy[0]), float(centre_xy[1]), 0.0)
    ground.color = GROUND_COLOUR
    ground.hide_render = True
    collection.objects.link(ground)
    return ground
