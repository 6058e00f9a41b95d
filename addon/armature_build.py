"""One person's armature: 24 SMPL-named bones in SMPL's rest pose, shaped by the person's betas."""
from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from .rig_math import BODY_FORWARD, BODY_UP, WORLD_FROM_SMPL
from ..contract.skeleton import JOINT_NAMES
from .smpl_rest import SMPLArrays, bone_rest_frames, bone_tails, joint_parents


def _matrix(rotation: np.ndarray, translation: np.ndarray) -> Matrix:
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = rotation, translation
    return Matrix(m.tolist())


def _object_mode(context: bpy.types.Context) -> None:
    if context.object is not None and context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")


def build_armature(context: bpy.types.Context, name: str, model: SMPLArrays, joints: np.ndarray,
                   collection: bpy.types.Collection) -> tuple[bpy.types.Object, np.ndarray]:
    """Armature object with heads at the rest `joints` (24, 3, SMPL's frame) -> (object, bone rest axes
    (24, 3, 3) in armature space).

    The rest axes are read back from Blender after edit mode, so the keys are computed for the exact
    (float32) bone matrices Blender stores.
    """
    parents = joint_parents(model)
    heads = joints @ WORLD_FROM_SMPL.T
    tails = bone_tails(heads, parents, BODY_FORWARD)
    frames = bone_rest_frames(heads, tails, BODY_FORWARD, BODY_UP)
    armature = bpy.data.objects.new(name, bpy.data.armatures.new(name))
    armature.data.display_type = "STICK"
    armature.show_in_front = True
    collection.objects.link(armature)
    _object_mode(context)
    context.view_layer.objects.active = armature  # bones can only be made in edit mode of the active object
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        bones = armature.data.edit_bones
        for joint, bone_name in enumerate(JOINT_NAMES):
            bone = bones.new(bone_name)
            length = float(np.linalg.norm(tails[joint] - heads[joint]))
            bone.head, bone.tail = (0.0, 0.0, 0.0), (0.0, length, 0.0)
            bone.matrix = _matrix(frames[joint], heads[joint])  # keeps the length, sets direction and roll
        for joint, parent in enumerate(parents):
            if parent >= 0:
                bones[JOINT_NAMES[joint]].parent = bones[JOINT_NAMES[parent]]
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
    for pose_bone in armature.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"
    rest = np.array([np.array(armature.data.bones[bone_name].matrix_local)[:3, :3] for bone_name in JOINT_NAMES])
    return armature, rest
