"""Keys one person's motion: bone quaternions, the pelvis location (root motion), pose-corrective keys, when
the person is seen at all (visibility, so no body stands frozen where its person is not), and for a grounded
result the foot contact (custom properties the animator can see and edit) and the unlocked motion kept as a
second action beside the foot-locked one; `pare_confidence`, keyed per frame, shows in the Graph Editor where the
estimate is weak."""
from __future__ import annotations

import bpy
import numpy as np

from .body_mesh import pose_key_names
from .keyframes import NewFCurve, key_channels, new_action, write_keys
from .world_motion import CONTACT_PROPERTIES, RigMotion
from .rig_math import bone_rotations, pose_corrective_weights, root_locations
from ..contract.presence import presence_spans, visibility_keys
from ..contract.skeleton import JOINT_NAMES


def key_visibility(new_fcurve: NewFCurve, frames: np.ndarray, first_frame: int) -> None:
    """Hide an object (viewport and render) outside its person's presence spans. frames (n,) scene frames of
    the estimate; first_frame: the scene frame of source frame 0 (the take's start)."""
    spans = presence_spans(np.round(frames).astype(np.int64) - first_frame)
    keys, hidden = visibility_keys(spans, first_frame)
    for path in ("hide_viewport", "hide_render"):
        write_keys(new_fcurve(path, 0, "visibility"), keys, hidden, interpolation="CONSTANT")


CONFIDENCE_PROPERTY = "pare_confidence"
_DESCRIPTIONS = {**{name: "probability that this foot point is planted" for name in CONTACT_PROPERTIES},
                 CONFIDENCE_PROPERTY: "how far to trust the estimate in this frame: the mean confidence of the "
                                      "joints in the picture (low: clean up here)"}


def per_frame_properties(contact: np.ndarray | None, confidence: np.ndarray | None) -> dict[str, np.ndarray]:
    """The rig's keyed custom properties, name -> (n,) values: foot contact (n, 4) columns, and the frame's
    trust from joint confidence (n, 24) (the mean over joints in the picture, 0 where none is)."""
    properties = {}
    if contact is not None:
        properties.update({name: contact[:, column] for column, name in enumerate(CONTACT_PROPERTIES)})
    if confidence is not None:
        seen = confidence > 0
        properties[CONFIDENCE_PROPERTY] = (confidence * seen).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
    return properties


def add_properties(armature: bpy.types.Object, names) -> None:
    """The custom properties `names` (0..1) on a person's rig, with their descriptions."""
    for name in names:
        armature[name] = 0.0
        armature.id_properties_ui(name).update(min=0.0, max=1.0, soft_min=0.0, soft_max=1.0,
                                               description=_DESCRIPTIONS[name])


def _key_motion(new_fcurve: NewFCurve, rest_frames: np.ndarray, rest_root_joint: np.ndarray, frames: np.ndarray,
                first_frame: int, pose_rotmat: np.ndarray, cam_t: np.ndarray, properties: dict[str, np.ndarray]
                ) -> None:
    """Key one motion into one action: visibility, bone rotations, root location and the custom properties."""
    key_visibility(new_fcurve, frames, first_frame)
    quats = bone_rotations(pose_rotmat, rest_frames)
    for joint, name in enumerate(JOINT_NAMES):
        key_channels(new_fcurve, f'pose.bones["{name}"].rotation_quaternion', name, frames, quats[:, joint])
    root = JOINT_NAMES[0]
    key_channels(new_fcurve, f'pose.bones["{root}"].location', root, frames,
                 root_locations(cam_t, rest_root_joint, rest_frames[0]))
    for name, values in properties.items():
        write_keys(new_fcurve(f'["{name}"]', 0, "quality" if name == CONFIDENCE_PROPERTY else "foot contact"),
                   frames, values)


def animate_person(armature: bpy.types.Object, body: bpy.types.Object, rest_frames: np.ndarray,
                   rest_root_joint: np.ndarray, frames: np.ndarray, pose_rotmat: np.ndarray,
                   cam_t: np.ndarray, first_frame: int, contact: np.ndarray | None = None,
                   unlocked: RigMotion | None = None, confidence: np.ndarray | None = None) -> None:
    """Key every frame of one person.

    rest_frames (24, 3, 3) bone rest axes; rest_root_joint (3,) the pelvis in SMPL's frame; frames (n,) scene
    frames; pose_rotmat (n, 24, 3, 3) and cam_t (n, 3) the motion shown, as rig_math reads them; first_frame:
    the scene frame of source frame 0; contact (n, 4) foot-contact probabilities (CONTACT_PROPERTIES order) and
    confidence (n, 24) joint confidence, keyed as the rig's custom properties (`per_frame_properties`); unlocked:
    the motion before foot locking, keyed into a second action "<rig> motion (unlocked)" kept with a fake user
    (assign it to the rig to see it). The body's pose-corrective keys are keyed only where it has them.
    """
    frames = np.asarray(frames, dtype=np.float64)
    properties = per_frame_properties(contact, confidence)
    add_properties(armature, properties)
    if unlocked is not None:  # made first, so the shown motion's action is the one left assigned
        _key_motion(new_action(armature, f"{armature.name} motion (unlocked)"), rest_frames, rest_root_joint,
                    frames, first_frame, unlocked.pose_rotmat, unlocked.cam_t, properties)
        armature.animation_data.action.use_fake_user = True
    _key_motion(new_action(armature, f"{armature.name} motion"), rest_frames, rest_root_joint, frames, first_frame,
                pose_rotmat, cam_t, properties)
    key_visibility(new_action(body, f"{body.name} visibility"), frames, first_frame)
    shape_keys = body.data.shape_keys
    names = pose_key_names()
    if shape_keys is None or names[0] not in shape_keys.key_blocks:
        return
    weights = pose_corrective_weights(pose_rotmat)
    new_key_fcurve = new_action(shape_keys, f"{body.name} pose correctives")
    for index, name in enumerate(names):
        write_keys(new_key_fcurve(f'key_blocks["{name}"].value', 0, "pose correctives"), frames,
                   weights[:, index])
