"""What the panel edits: the estimate's settings (saved with the scene) and the running job's state (not
saved: it lives on the window manager and describes this Blender session only). The estimate and scene
options themselves are derived from contract.options (addon/option_properties.py)."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from .option_properties import panel_annotations
from .overlay_frames import ATTENTION, SEGMENTATION
from .overlay_planes import set_overlay_visibility
from .preferences import BODY_MODELS
from ..contract.skeleton import JOINT_NAMES

ALL_PARTS = "ALL"
PART_ITEMS = ((ALL_PARTS, "All Parts", "Every part in its colour, where it attends most"),
              *((name, name.replace("_", " ").title(), f"Only the {name.replace('_', ' ')} part's attention")
                for name in JOINT_NAMES))


def _show_overlay(kind: str):
    """The update of the `show_<kind>` toggle: it shows or hides the scene's overlay planes of `kind`."""
    def update(self, context):
        set_overlay_visibility(context.scene, kind, getattr(self, f"show_{kind}"))
    return update


class PAREBODY_PG_settings(bpy.types.PropertyGroup):
    """scene.pare_body: one estimate's inputs and options. Besides the fields below, every option that
    contract.options marks for the panel is a property here (added from the declarations before registering)."""

    input_path: StringProperty(name="Input", subtype="FILE_PATH",
                               description="A photo, a video, or a folder of images (open the folder in the "
                                           "file browser and accept without choosing a file)")
    use_frame_range: BoolProperty(name="Frame Range", default=False,
                                  description="Estimate only some of the source frames")
    first_frame: IntProperty(name="First", default=0, min=0, description="First source frame (from 0)")
    last_frame: IntProperty(name="Last", default=100, min=0, description="Last source frame, included")
    person_choice: EnumProperty(name="People", default="all", items=(
        ("all", "All", "Everyone the detector and tracker follow"),
        ("most-visible", "Most Visible", "Only the person seen in the most frames"),
        ("ids", "Track IDs", "Only the tracks listed (0 is the first person found)")))
    person_ids: StringProperty(name="IDs", default="0", description="Track ids, comma separated: 0,2")
    overlay_attention: BoolProperty(name="Part Attention", default=False,
                                    description="Make image planes of PARE's part attention")
    attention_part: EnumProperty(name="Part", items=PART_ITEMS, default=ALL_PARTS)
    overlay_segmentation: BoolProperty(name="Part Segmentation", default=False,
                                       description="Make image planes of PARE's body-part segmentation")
    show_attention: BoolProperty(name="Attention", default=True, update=_show_overlay(ATTENTION),
                                 description="Show the part attention planes")
    show_segmentation: BoolProperty(name="Segmentation", default=True, update=_show_overlay(SEGMENTATION),
                                    description="Show the part segmentation planes")
    body_model: EnumProperty(name="Body Model", items=BODY_MODELS, default="NEUTRAL")

    def overlay_kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, wanted in ((ATTENTION, self.overlay_attention),
                                               (SEGMENTATION, self.overlay_segmentation)) if wanted)

    def attention_part_index(self) -> int | None:
        return None if self.attention_part == ALL_PARTS else JOINT_NAMES.index(self.attention_part)


PAREBODY_PG_settings.__annotations__.update(panel_annotations())


class PAREBODY_PG_job(bpy.types.PropertyGroup):
    """window_manager.pare_body_job: what the panel shows about the estimate running now or last, and the
    preferences about the environment setup."""

    running: BoolProperty(default=False)
    progress: FloatProperty(default=0.0, min=0.0, max=1.0)
    stage: StringProperty(default="")
    error: StringProperty(default="")
    message: StringProperty(default="")
    report: StringProperty(default="")  # the last run's per-person quality report, a line per person
    setup_running: BoolProperty(default=False)
    setup_status: StringProperty(default="")


CLASSES = (PAREBODY_PG_settings, PAREBODY_PG_job)


def register() -> None:
    bpy.types.Scene.pare_body = PointerProperty(type=PAREBODY_PG_settings)
    bpy.types.WindowManager.pare_body_job = PointerProperty(type=PAREBODY_PG_job)


def unregister() -> None:
    del bpy.types.WindowManager.pare_body_job
    del bpy.types.Scene.pare_body
