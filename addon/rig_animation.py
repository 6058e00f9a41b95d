"""Keys one person's motion: bone quaternions, the pelvis location (root motion), pose-corrective keys, and
when the person is seen at all (visibility, so no body stands frozen where its person is not)."""
from __future__ import annotations

import bpy
import numpy as np

from .body_mesh import pose_key_names
from .keyframes import NewFCurve, key_channels, new_action, write_keys
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


def animate_person(armature: bpy.types.Object, body: bpy.types.Object, rest_frames: np.ndarray,
                   rest_root_joint: np.ndarray, frames: np.ndarray, pose_rotmat: np.ndarray,
                   cam_t: np.ndarray, first_frame: int) -> None:
    """Key every frame of one person.

    rest_frames (24, 3, 3) bone rest axes; rest_root_joint (3,) the pelvis in SMPL's frame; frames (n,) scene
    frames; pose_rotmat (n, 24, 3, 3) and cam_t (n, 3) from the result; first_frame: the scene frame of source
    frame 0. The body's pose-corrective keys are keyed only where it has them.
    """
    frames = np.asarray(frames, dtype=np.float64)
    quats = bone_rotations(pose_rotmat, rest_frames)
    new_fcurve = new_action(armature, f"{armature.name} motion")
    key_visibility(new_fcurve, frames, first_frame)
    key_visibility(new_action(body, f"{body.name} visibility"), frames, first_frame)
    for joint, name in enumerate(JOINT_NAMES):
        key_channels(new_fcurve, f'pose.bones["{name}"].rotation_quaternion', name, frames, quats[:, joint])
    root = JOINT_NAMES[0]
    key_channels(new_fcurve, f'pose.bones["{root}"].location', root, frames,
                 root_locations(cam_t, rest_root_joint, rest_frames[0]))
    shape_keys = body.data.shape_keys
    names = pose_key_names()
    if shape_keys is None or names[0] not in shape_keys.key_blocks:
        return
    weights = pose_corrective_weights(pose_rotmat)
    new_key_fcurve = new_action(shape_keys, f"{body.name} pose correctives")
    for index, name in enumerate(names):
        write_keys(new_key_fcurve(f'key_blocks["{name}"].value', 0, "pose correctives"), frames,
                   weights[:, index])
