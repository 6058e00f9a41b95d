"""Keyframes written in bulk, on both of Blender's action APIs.

Blender 4.4 introduced slotted actions (action -> layer -> keyframe strip -> channelbag per slot -> F-curves)
and 5.0 removed `action.fcurves`; 4.2 and 4.3 only have the legacy `action.fcurves`. `new_action` hides the
difference. Keys go in with one `keyframe_points.add` and `foreach_set` per F-curve: a per-frame
`keyframe_insert` loop costs a Python call, an RNA lookup and a sorted insert per key, which is minutes for
a long clip.
"""
from __future__ import annotations

from typing import Callable

import bpy
import numpy as np

NewFCurve = Callable[[str, int, str], "bpy.types.FCurve"]
"""new_fcurve(data_path, array_index, group_name) -> an empty F-curve in the owner's action."""

_INTERPOLATION = {name: bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items[name].value
                  for name in ("LINEAR", "CONSTANT")}


def new_action(owner: bpy.types.ID, name: str) -> NewFCurve:
    """Create an action named `name`, assign it to `owner` and return a maker of its F-curves."""
    action = bpy.data.actions.new(name)
    animation = owner.animation_data_create()
    if hasattr(action, "slots"):  # Blender 4.4 and newer: slotted actions
        slot = action.slots.new(id_type=owner.id_type, name=owner.name)
        channelbag = action.layers.new("Layer").strips.new(type="KEYFRAME").channelbag(slot, ensure=True)
        animation.action = action
        animation.action_slot = slot
        groups: dict[str, bpy.types.ActionGroup] = {}

        def new_fcurve(data_path: str, index: int, group: str) -> bpy.types.FCurve:
            fcurve = channelbag.fcurves.new(data_path, index=index)
            if group not in groups:
                groups[group] = channelbag.groups.new(group)
            fcurve.group = groups[group]
            return fcurve
        return new_fcurve
    animation.action = action  # Blender 4.2 / 4.3

    def new_legacy_fcurve(data_path: str, index: int, group: str) -> bpy.types.FCurve:
        return action.fcurves.new(data_path, index=index, action_group=group)
    return new_legacy_fcurve


def write_keys(fcurve: bpy.types.FCurve, frames: np.ndarray, values: np.ndarray,
               interpolation: str = "LINEAR") -> None:
    """Key `values` (n,) at scene `frames` (n,) in one go, linearly interpolated (per-frame data needs no
    easing between frames, and linear keys cannot overshoot) or CONSTANT (switches such as visibility)."""
    count = len(frames)
    points = fcurve.keyframe_points
    points.add(count)
    points.foreach_set("co", np.column_stack([frames, values]).astype(np.float32).ravel())
    points.foreach_set("interpolation", np.full(count, _INTERPOLATION[interpolation], dtype=np.int32))
    fcurve.update()


def key_channels(new_fcurve: NewFCurve, data_path: str, group: str, frames: np.ndarray,
                 values: np.ndarray) -> None:
    """Key every component of a vector property: values (n, k) -> F-curves `data_path`[0..k-1]."""
    for index in range(values.shape[1]):
        write_keys(new_fcurve(data_path, index, group), frames, values[:, index])
