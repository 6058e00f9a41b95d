"""The add-on's preferences: the licensed files it needs, the Python that runs the estimator, the device.

Blender saves them with the user's preferences. Files the extension writes (the inference environment, the
overlays and results of unsaved .blend files) go to the extension's user folder, never into the extension's
own folder, which Blender replaces on every update.
"""
from __future__ import annotations

import os
from pathlib import Path

import bpy
from bpy.props import StringProperty

from ..contract.errors import UserError
from ..contract.licensed_files import GET_SMPL
from ..contract.options import OPTIONS
from ..contract.worker_protocol import CHECKPOINT_ENV, SMPL_ENV
from .interpreter import VENV_FOLDER, candidate_interpreters
from .option_properties import blender_property

ADDON_PACKAGE = __package__.rpartition(".")[0]  # the extension's package: bl_ext.<repository>.<id>
BODY_MODELS = (("NEUTRAL", "Neutral", "SMPL's gender-neutral body, the one PARE estimates shape for"),
               ("FEMALE", "Female", "SMPL's female body (shape coefficients are the neutral estimate)"),
               ("MALE", "Male", "SMPL's male body (shape coefficients are the neutral estimate)"))


def user_folder(*parts: str) -> Path:
    """A folder in the extension's user directory (created): survives updates, is the user's to write."""
    return Path(bpy.utils.extension_path_user(ADDON_PACKAGE, path=os.path.join(*parts) if parts else "",
                                              create=True))


class PAREBODY_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    smpl_neutral: StringProperty(name="SMPL Neutral", subtype="FILE_PATH",
                                 description="SMPL_NEUTRAL.pkl (or .npz): the body model the estimates use. "
                                             "Empty: the bundled license-free stand-in body")
    smpl_female: StringProperty(name="SMPL Female", subtype="FILE_PATH",
                                description="Optional: SMPL_FEMALE.pkl, to build bodies with the female model")
    smpl_male: StringProperty(name="SMPL Male", subtype="FILE_PATH",
                              description="Optional: SMPL_MALE.pkl, to build bodies with the male model")
    checkpoint: StringProperty(name="PARE Checkpoint", subtype="FILE_PATH",
                               description="pare_w_3dpw_checkpoint.ckpt or pare_checkpoint.ckpt. Empty: the "
                                           "bundled keypoint backend (BlazePose landmarks and a body fitter)")
    python: StringProperty(name="Inference Python", subtype="FILE_PATH",
                           description="The Python interpreter of an environment with torch and this project's "
                                       "requirements. Empty: found automatically")
    detected_python: StringProperty(name="Found Python", options={"HIDDEN"},
                                    description="The interpreter the last automatic search found")
    device: blender_property(OPTIONS["device"])

    def draw(self, context):
        layout = self.layout
        files = layout.column(heading="Licensed Files")
        for name in ("smpl_neutral", "smpl_female", "smpl_male", "checkpoint"):
            files.prop(self, name)
        files.label(text="Optional: without them, the bundled stand-in body and keypoint backend are used.",
                    icon="INFO")
        engine = layout.column(heading="Inference")
        engine.prop(self, "python")
        if not self.python:
            found = self.detected_python or "not searched yet (at the first Estimate Body)"
            engine.label(text=f"Automatic: {found}", icon="INFO")
        engine.prop(self, "device")
        row = engine.row()
        row.operator("pare_body.setup_environment", icon="CONSOLE")
        if not bpy.app.online_access:
            row.enabled = False
            engine.label(text="Setting up downloads packages: allow online access in Preferences > System.",
                         icon="ERROR")
        status = context.window_manager.pare_body_job.setup_status
        if status:
            engine.label(text=status, icon="TIME" if context.window_manager.pare_body_job.setup_running else "INFO")


def addon_preferences(context: bpy.types.Context) -> PAREBODY_AP_preferences | None:
    addon = context.preferences.addons.get(ADDON_PACKAGE)
    return addon.preferences if addon else None


def smpl_path(context: bpy.types.Context, body_model: str = "NEUTRAL") -> str | None:
    """The SMPL file for `body_model` (the neutral one may come from $PARE_BODY_SMPL), or None when no neutral
    file is set: estimates then use the bundled stand-in body. UserError naming the preference to set when a
    female or male body is asked for without its file, or a file set is missing."""
    prefs = addon_preferences(context)
    value = getattr(prefs, f"smpl_{body_model.lower()}") if prefs else ""
    path = bpy.path.abspath(value) if value else (os.environ.get(SMPL_ENV, "") if body_model == "NEUTRAL" else "")
    if not path and body_model == "NEUTRAL":
        return None
    if not path:
        raise UserError(f"Set the SMPL {body_model.lower()} model file in Edit > Preferences > Add-ons > PARE Body "
                        f"Estimator, or choose the Neutral body. {GET_SMPL}")
    if not Path(path).exists():
        raise UserError(f"The SMPL model file {path} does not exist: fix it in the add-on's preferences.")
    return path


def checkpoint_path(context: bpy.types.Context) -> str | None:
    """The PARE checkpoint, or None when none is set: the bundled keypoint backend estimates then."""
    prefs = addon_preferences(context)
    value = prefs.checkpoint if prefs else ""
    path = bpy.path.abspath(value) if value else os.environ.get(CHECKPOINT_ENV, "")
    if not path:
        return None
    if not Path(path).is_file():
        raise UserError(f"The PARE checkpoint {path} does not exist: fix it in the add-on's preferences.")
    return path


def chosen_python(context: bpy.types.Context) -> str | None:
    """The interpreter the user chose, or the one found before and still there; None: search."""
    prefs = addon_preferences(context)
    if prefs is None:
        return None
    if prefs.python:
        return bpy.path.abspath(prefs.python)
    return prefs.detected_python if prefs.detected_python and Path(prefs.detected_python).is_file() else None


def python_candidates() -> list[str]:
    """Interpreters to probe when none is chosen ($PARE_BODY_PYTHON, the source's .venv, the set-up one, ...)."""
    return candidate_interpreters(user_folder())


def setup_venv() -> Path:
    """Where 'Set Up Inference Environment' creates its environment."""
    return user_folder() / VENV_FOLDER


CLASSES = (PAREBODY_AP_preferences,)