"""Colour swatches for the overlay legend: one small icon per body part, in the overlays' palette.

Blender's panels cannot draw arbitrary colours in a label, but they can draw custom icons; these are made
once at registration from `body_parts.PART_COLORS`, so the legend always matches the overlays and the
mesh's part colours.
"""
from __future__ import annotations

import bpy
import bpy.utils.previews
import numpy as np

from .body_parts import PART_COLORS
from ..contract.skeleton import JOINT_NAMES

ICON_SIZE = 16
_previews: list = []  # the preview collection while registered


def register() -> None:
    collection = bpy.utils.previews.new()
    for name, color in zip(JOINT_NAMES, PART_COLORS):
        preview = collection.new(name)
        preview.icon_size = (ICON_SIZE, ICON_SIZE)
        preview.icon_pixels_float = np.tile(np.append(color, 1.0), ICON_SIZE * ICON_SIZE).tolist()
    _previews.append(collection)


def unregister() -> None:
    while _previews:
        bpy.utils.previews.remove(_previews.pop())


def part_icon(part: int) -> int:
    """The icon id of part `part`'s swatch (0, no icon, when not registered)."""
    return _previews[0][JOINT_NAMES[part]].icon_id if _previews else 0
