"""The panel's side of `contract.options`: Blender properties derived from the option declarations, and the
option values a scene's settings stand for.

Options marked `panel` become properties of `scene.pare_body` with the declared type, default, limits, choices
and help, so the panel cannot drift from the command line. A few options are composed from several panel
fields (`COMPOSED`: a frame range from a toggle and two numbers, people from a choice and ids) or come from
the add-on's preferences (`FROM_PREFERENCES`: the licensed files and the device); tests/test_options.py checks
that every estimate option is reachable one way or another.
"""
from __future__ import annotations

from typing import Any

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from ..contract.options import ESTIMATE_OPTIONS, SCENE_OPTIONS, Option

COMPOSED = {"frame_range": ("use_frame_range", "first_frame", "last_frame"),
            "person": ("person_choice", "person_ids")}
FROM_PREFERENCES = ("checkpoint", "smpl", "device")
UNSET = 0.0  # a number option whose default is None (the focal length) shows 0 for "not set"


def _label(option: Option) -> str:
    return option.label or option.name.replace("_", " ").title()


def _description(option: Option) -> str:
    text = option.help[0].upper() + option.help[1:]
    return f"{text}; 0: not set" if option.kind is float and option.default is None else text


def blender_property(option: Option) -> Any:
    """The bpy property that edits `option` in the panel."""
    name, description = _label(option), _description(option)
    if option.kind is bool:
        return BoolProperty(name=name, default=option.default, description=description)
    if option.choices:
        items = tuple((choice, choice, "") for choice in option.choices)
        return EnumProperty(name=name, items=items, default=option.default, description=description)
    if option.kind is str:
        return StringProperty(name=name, default=option.default or "", description=description)
    limits = {key: value for key, value in (("min", option.minimum), ("max", option.maximum)) if value is not None}
    if option.kind is int:
        return IntProperty(name=name, default=option.default, description=description, **limits)
    if option.default is None:
        limits["min"] = UNSET
    return FloatProperty(name=name, default=UNSET if option.default is None else option.default,
                         description=description, precision=4, **limits)


def panel_options(where: str | None = None) -> tuple[Option, ...]:
    """The options the panel shows (at `where`, or anywhere)."""
    return tuple(option for option in ESTIMATE_OPTIONS + SCENE_OPTIONS
                 if option.panel is not None and (where is None or option.panel == where))


def panel_annotations() -> dict[str, Any]:
    """Property annotations for the settings PropertyGroup, one per panel option."""
    return {option.name: blender_property(option) for option in panel_options()}


def panel_value(settings: bpy.types.PropertyGroup, option: Option) -> Any:
    """The option value a panel property stands for (None where it shows "not set")."""
    value = getattr(settings, option.name)
    if option.default is None and value in (UNSET, ""):
        return None
    return value


def estimate_values(settings: bpy.types.PropertyGroup) -> dict[str, Any]:
    """The estimate options the panel sets (the composed ones included), by name; preferences add the rest."""
    values = {option.name: panel_value(settings, option) for option in panel_options()
              if option in ESTIMATE_OPTIONS}
    values["frame_range"] = f"{settings.first_frame}:{settings.last_frame + 1}" if settings.use_frame_range else None
    values["person"] = settings.person_ids.replace(" ", "") if settings.person_choice == "ids" \
        else settings.person_choice
    return values


def scene_values(settings: bpy.types.PropertyGroup) -> dict[str, Any]:
    return {option.name: panel_value(settings, option) for option in SCENE_OPTIONS}
