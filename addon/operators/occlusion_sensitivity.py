"""Occlusion Sensitivity: the selected person in the current frame -> `python -m inference sensitivity` -> the
map on an image plane in the camera's view and its per-vertex values as colour layers on the person's body.

The person is the active object (their armature "person_<i>" or body "person_<i>_body" of an imported or
estimated collection); the result file they were built from gives the footage, the source frame's box and the
estimator (the preferences' checkpoint when the result was made with one, the landmark fit otherwise; SMPL
when the body is SMPL; batch.py passes its own interpreter and files in hidden properties). The box passed
is the result's crop box, so a crop network sees the very crop the estimate saw. Modal from the UI (ESC
cancels, the scene is unchanged until the map is added); from a script or background Blender, `execute`
runs to the end.
"""
from __future__ import annotations

import re
from pathlib import Path

import bpy
import numpy as np
from bpy.props import FloatProperty, StringProperty

from ...contract.errors import UserError
from ...contract.result_file import read_result
from ...contract.smpl_file import STANDIN_NAME
from ..preferences import checkpoint_path, chosen_python, smpl_path
from ..scene_build import FRAME_START_PROPERTY, RESULT_PROPERTY
from ..sensitivity_build import add_sensitivity, read_sensitivity
from ..timed_modal import TimedModal
from ..worker import Worker, WorkerError

TIMER_S = 0.1
LANDMARK_FIT = "blazepose-fit"
_PERSON_NAME = re.compile(r"^person_(\d+)(_body)?(\.\d+)?$")


def selected_person(obj: bpy.types.Object | None) -> tuple[int, bpy.types.Object, bpy.types.Object] | None:
    """The active object as (person index, armature, body mesh), or None when it is not a built person."""
    match = _PERSON_NAME.match(obj.name) if obj is not None else None
    if match is None:
        return None
    armature = obj if obj.type == "ARMATURE" else obj.parent
    if armature is None or armature.type != "ARMATURE":
        return None
    bodies = [child for child in armature.children if child.type == "MESH"]
    return (int(match.group(1)), armature, bodies[0]) if bodies else None


def scene_camera(body: bpy.types.Object) -> bpy.types.Object:
    """The camera of the person's collection."""
    for collection in body.users_collection:
        for obj in collection.objects:
            if obj.type == "CAMERA":
                return obj
    raise UserError(f"{body.name}'s collection has no camera: import the result again to get one")


def source_frame(body: bpy.types.Object, scene_frame: int) -> int:
    """The source frame shown at `scene_frame`, by the start frame the person's collection was built with."""
    starts = [c[FRAME_START_PROPERTY] for c in body.users_collection if FRAME_START_PROPERTY in c]
    if not starts:
        raise UserError(f"{body.name}'s collection does not say its start frame: import the result again")
    return scene_frame - int(starts[0])


def sensitivity_command(python: str, source: str, output: Path, frame: int, box_xywh: np.ndarray, patch: float,
                        stride: float, joints: str, checkpoint: str | None, smpl: str | None) -> list[str]:
    """The worker's command line for one map."""
    command = [python, "-m", "inference", "sensitivity", "--input", source, "--output", str(output),
               "--frame", str(frame), "--bbox=" + ",".join(f"{v:.6g}" for v in box_xywh),
               "--patch", f"{patch:g}", "--stride", f"{stride:g}", "--progress", "json"]
    command += ["--joints", joints] if joints.strip() else []
    command += ["--checkpoint", checkpoint] if checkpoint else []
    command += ["--smpl", smpl] if smpl else []
    return command


def _status(context: bpy.types.Context, text: str | None) -> None:
    """The status bar's text while the worker runs (there is no status bar in background Blender)."""
    if context.workspace is not None:
        context.workspace.status_text_set(text)


class PAREBODY_OT_occlusion_sensitivity(TimedModal, bpy.types.Operator):
    """Slide a grey square over the selected person in the current frame, re-estimate at each position and show
    which image regions (an image plane) and body areas (vertex colours) change the estimate most"""

    bl_idname = "pare_body.occlusion_sensitivity"
    bl_label = "Occlusion Sensitivity"
    bl_options = {"REGISTER", "UNDO"}

    result_path: StringProperty(name="Result File", subtype="FILE_PATH",
                                description="The result the person was built from (default: the one the "
                                            "collection records)")
    patch: FloatProperty(name="Patch", default=32.0, min=1.0, max=224.0,
                         description="Side of the grey square in pixels of the 224 px person crop")
    stride: FloatProperty(name="Stride", default=16.0, min=1.0, max=224.0,
                          description="Step between square positions in crop pixels")
    joints: StringProperty(name="Joints", default="",
                           description="SMPL joints to map one by one (e.g. left_wrist,head; empty: the mean)")
    # For batch.py, which has its own command-line choices and output folder; empty: the add-on's preferences,
    # and `<result>_sensitivity/` beside the result.
    output_folder: StringProperty(options={"HIDDEN", "SKIP_SAVE"})
    python: StringProperty(options={"HIDDEN", "SKIP_SAVE"})
    checkpoint: StringProperty(options={"HIDDEN", "SKIP_SAVE"})
    smpl: StringProperty(options={"HIDDEN", "SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        return selected_person(context.active_object) is not None

    def _start(self, context) -> None:
        index, _, body = selected_person(context.active_object)
        path = bpy.path.abspath(self.result_path) if self.result_path else next(
            (c.get(RESULT_PROPERTY) for c in body.users_collection if c.get(RESULT_PROPERTY)), "")
        if not path:
            raise UserError("Choose the result file this person was built from (Result File)")
        result = read_result(path, include_maps=False)
        if index >= len(result.persons):
            raise UserError(f"{Path(path).name} holds {len(result.persons)} person(s), not person {index}")
        track = result.persons[index]
        frame = source_frame(body, context.scene.frame_current)
        rows = np.flatnonzero(track.frame == frame)
        if len(rows) == 0:
            raise UserError(f"Person {index} was not estimated in source frame {frame}: go to a frame where they are")
        python = self.python or chosen_python(context)
        if not python:
            raise UserError("No inference Python is known yet: run Estimate Body once, or choose the Python in "
                            "Edit > Preferences > Add-ons > PARE Body Estimator")
        checkpoint = (self.checkpoint or checkpoint_path(context)) if result.meta.model != LANDMARK_FIT else None
        if result.meta.model != LANDMARK_FIT and not checkpoint:
            raise UserError(f"This result was estimated with {result.meta.model}: set its checkpoint in the "
                            "add-on's preferences")
        smpl = (self.smpl or smpl_path(context)) if result.meta.body_model != STANDIN_NAME else None
        folder = Path(self.output_folder or Path(path).with_name(f"{Path(path).stem}_sensitivity"))
        self._output = folder / f"person{index}_frame{frame}.npz"
        self._output.parent.mkdir(parents=True, exist_ok=True)
        self._body, self._camera = body, scene_camera(body)
        self._scene_frame = context.scene.frame_current
        self._worker = Worker(python, sensitivity_command(
            python, result.meta.source, self._output, frame, track.bbox_xywh[rows[0]], self.patch, self.stride,
            self.joints, checkpoint, smpl))

    def _show(self, context, events: list[dict]) -> None:
        for event in events:
            if event["event"] == "progress" and event["total"]:
                _status(context, f"Occlusion sensitivity: {event['stage']} {event['done']}/{event['total']}")

    def _finish(self, context) -> set[str]:
        _status(context, None)
        self._worker.check_outcome()
        sensitivity = read_sensitivity(self._output)
        plane = add_sensitivity(self._body, self._camera, sensitivity, self._scene_frame,
                                self._body.users_collection[0])
        scale = sensitivity.scales[next(iter(sensitivity.scales))]
        self.report({"INFO"}, f"Occlusion sensitivity of {self._body.name} in source frame {sensitivity.frame}: "
                              f"'{plane.name}' and the body's colour layers, blue 0 mm to red {scale:.1f} mm")
        return {"FINISHED"}

    def invoke(self, context, event):
        try:
            self._start(context)
        except (UserError, WorkerError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        return self.start_timer(context, TIMER_S)

    def modal(self, context, event):
        if event.type == "ESC":
            self._worker.request_cancel()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            self._show(context, self._worker.poll())
            if not self._worker.finished:
                return {"RUNNING_MODAL"}
            self.end_timer(context)
            return self._finish(context)
        except (UserError, WorkerError) as error:
            self.end_timer(context)
            _status(context, None)
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}

    def execute(self, context):
        try:
            self._start(context)
            try:
                self._show(context, list(self._worker.events()))
            except KeyboardInterrupt:  # batch.py interrupted: stop the worker too, which then writes nothing
                self._worker.process.cancel()
                raise
            return self._finish(context)
        except (UserError, WorkerError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}

    def cancel(self, context):
        self._worker.process.cancel()
        self.end_timer(context)



CLASSES = (PAREBODY_OT_occlusion_sensitivity,)
