"""What the panel edits: the estimate's settings (saved with the scene) and the running job's state (not
saved: it lives on the window manager and describes this Blender session only)."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

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
    """scene.pare_body: one estimate's inputs and options."""

    input_path: StringProperty(name="Input", subtype="FILE_PATH",
                               description="A photo, a video, or a folder of images (open the folder in the "
                                           "file browser and accept without choosing a file)")
    use_frame_range: BoolProperty(name="Frame Range", default=False,
                                  description="Estimate only some of the source frames")
    first_frame: IntProperty(name="First", default=0, min=0, description="First source frame (from 0)")
    last_frame: IntProperty(name="Last", default=100, min=0, description="Last source frame, included")
    stride: IntProperty(name="Stride", default=1, min=1, max=1000, description="Use every N-th frame")
    person_choice: EnumProperty(name="People", default="all", items=(
        ("all", "All", "Everyone the detector and tracker follow"),
        ("most-visible", "Most Visible", "Only the person seen in the most frames"),
        ("ids", "Track IDs", "Only the tracks listed (0 is the first person found)")))
    person_ids: StringProperty(name="IDs", default="0", description="Track ids, comma separated: 0,2")
    smooth: BoolProperty(name="Smooth Motion", default=True,
                         description="Smooth videos over time (one-euro filter); off: the raw per-frame estimate")
    refine: BoolProperty(name="Refine with Landmarks", default=False,
                         description="With a PARE checkpoint: fit PARE's bodies to BlazePose landmarks detected in "
                                     "the footage, so the joints land closer on the people (slower)")
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
    detect: BoolProperty(name="Detect People", default=True,
                         description="Find people with the bundled detector; off: the whole frame is one "
                                     "person, centred")
    bbox: StringProperty(name="Box", default="",
                         description="One person's box X,Y,W,H in pixels, used in every frame (empty: detect)")
    precision: EnumProperty(name="Precision", default="fp32", items=(
        ("fp32", "Float32", "Reproduces the official outputs"),
        ("bf16", "BFloat16", "Faster on recent CPUs, poses within about a degree"),
        ("fp16", "Float16", "For GPUs")))
    batch_size: IntProperty(name="Batch Size", default=8, min=1, max=256)
    focal_length: FloatProperty(name="Focal Length (px)", default=0.0, min=0.0,
                                description="The camera's focal length in pixels; 0: the image diagonal")
    custom_smoothing: BoolProperty(name="Custom Smoothing", default=False)
    smooth_min_cutoff: FloatProperty(name="Min Cutoff", default=0.004, min=0.0, precision=4,
                                     description="Lower: smoother, more lag")
    smooth_beta: FloatProperty(name="Beta", default=1.0, min=0.0, description="Higher: less lag on fast motion")
    frame_start: IntProperty(name="Start Frame", default=1, description="Scene frame of the first source frame")
    pose_correctives: BoolProperty(name="Pose Correctives", default=True,
                                   description="Key SMPL's 207 pose-corrective shape keys per frame")

    def frame_range(self) -> str | None:
        """The CLI's --frame-range (END exclusive), or None for every frame."""
        return f"{self.first_frame}:{self.last_frame + 1}" if self.use_frame_range else None

    def person(self) -> str:
        return self.person_ids.replace(" ", "") if self.person_choice == "ids" else self.person_choice

    def overlay_kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, wanted in ((ATTENTION, self.overlay_attention),
                                               (SEGMENTATION, self.overlay_segmentation)) if wanted)

    def attention_part_index(self) -> int | None:
        return None if self.attention_part == ALL_PARTS else JOINT_NAMES.index(self.attention_part)


class PAREBODY_PG_job(bpy.types.PropertyGroup):
    """window_manager.pare_body_job: what the panel shows about the estimate running now or last, and the
    preferences about the environment setup."""

    running: BoolProperty(default=False)
    progress: FloatProperty(default=0.0, min=0.0, max=1.0)
    stage: StringProperty(default="")
    error: StringProperty(default="")
    message: StringProperty(default="")
    setup_running: BoolProperty(default=False)
    setup_status: StringProperty(default="")


CLASSES = (PAREBODY_PG_settings, PAREBODY_PG_job)


def register() -> None:
    bpy.types.Scene.pare_body = PointerProperty(type=PAREBODY_PG_settings)
    bpy.types.WindowManager.pare_body_job = PointerProperty(type=PAREBODY_PG_job)


def unregister() -> None:
    del bpy.types.WindowManager.pare_body_job
    del bpy.types.Scene.pare_body
