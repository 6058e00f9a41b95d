"""batch.py --sensitivity: the Occlusion Sensitivity operator, run for every person in each chosen frame of a
freshly built scene, as a user would click it (the same operator, so the same worker, files and scene)."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import bpy

from ..contract.errors import UserError
from .operators.occlusion_sensitivity import PAREBODY_OT_occlusion_sensitivity
from .retarget.job import person_armatures
from .scene_build import FRAME_START_PROPERTY


def parse_frames(text: str) -> list[int]:
    """`--sensitivity 12,40`: source frames (0-based), checked before any work."""
    try:
        frames = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        frames = []
    if not frames or min(frames) < 0:
        raise UserError(f"--sensitivity takes source frames like 12 or 12,40 (from 0), got {text!r}")
    return sorted(set(frames))


@contextlib.contextmanager
def operator_registered() -> Iterator[None]:
    """The operator, registered for the batch job (which loads the package without registering the add-on)."""
    registered = hasattr(bpy.types, PAREBODY_OT_occlusion_sensitivity.__name__)
    if not registered:
        bpy.utils.register_class(PAREBODY_OT_occlusion_sensitivity)
    try:
        yield
    finally:
        if not registered:
            bpy.utils.unregister_class(PAREBODY_OT_occlusion_sensitivity)


def map_sensitivity(context: bpy.types.Context, collection_name: str, result: Path, folder: Path,
                    frames: list[int], python: str, checkpoint: str | None, smpl: str | None) -> list[str]:
    """Maps for each person estimated in each of `frames` into `folder`, shown in the scene; returns warnings
    for people not estimated in a frame. Raises UserError when a map fails."""
    collection = bpy.data.collections[collection_name]
    warnings = []
    folder.mkdir(exist_ok=True)
    with operator_registered():
        for armature in person_armatures(collection):
            for frame in frames:
                context.scene.frame_set(collection[FRAME_START_PROPERTY] + frame)
                context.view_layer.objects.active = armature
                try:
                    outcome = bpy.ops.pare_body.occlusion_sensitivity(
                        result_path=str(result), output_folder=str(folder), python=python,
                        checkpoint=checkpoint or "", smpl=smpl or "")
                except RuntimeError as error:  # the operator's report of a user error
                    outcome, message = None, str(error).removeprefix("Error: ").strip()
                    if "was not estimated in source frame" in message:
                        warnings.append(message)
                        continue
                if outcome != {"FINISHED"}:
                    raise UserError(f"Occlusion sensitivity of {armature.name} in frame {frame} failed: "
                                    f"{message if outcome is None else outcome}")
    return warnings
