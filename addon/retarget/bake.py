"""Bake a person's motion onto a target armature's own bones: a new action of ordinary keys, optionally thinned
and pushed to an NLA strip, with nothing left pointing at the source (no constraints, no drivers).

The target's bones are solved frame by frame through Blender's own evaluation, one depth of SMPL's tree at a
time: each bone's local (basis) transform comes from `Object.convert_space` against its parent's evaluated pose.
So whatever sits between the mapped bones (Rigify's mechanism bones and their constraints, a UE5 rig's spine_02,
a Mixamo rig's object scale) is honoured, where a closed formula over the rest hierarchy would not be.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Matrix

from ...contract.errors import UserError
from ...contract.skeleton import JOINT_NAMES, PARENTS
from ..keyframes import NewFCurve, new_action, write_keys
from ..rig_math import make_continuous, rotmat_to_quat
from .bone_maps import BoneMap
from .key_thinning import kept_frames
from .retarget_math import (RestRig, armature_space, leg_length, orthonormalized, rest_alignments, root_heads,
                            straighten_trunk, target_hips, target_world_rotations)

# Rigs whose bones follow others through constraints (Rigify) may make a bone depend on one solved at the same
# depth; such a frame is checked and solved again until the bones are where they should be.
MAX_PASSES, CONVERGED = 4, 1e-5
IK_FK_PROPERTY = "IK_FK"  # Rigify's IK/FK switch on a limb's "<limb>_parent" bone: 0 IK, 1 FK


@dataclass(frozen=True)
class BakeOptions:
    thin_degrees: float = 0.0  # > 0: drop keys that linear interpolation restores within this many degrees
    thin_metres: float = 0.001  # ... and, for the root's location, within this distance
    nla_strip: bool = False  # push the action to an NLA strip (one per take) instead of leaving it active


def _joint_depth(joint: str) -> int:
    depth, index = 0, JOINT_NAMES.index(joint)
    while PARENTS[index] >= 0:
        depth, index = depth + 1, PARENTS[index]
    return depth


def rest_rig(armature: bpy.types.Object, bone_map: BoneMap) -> RestRig:
    """The rest pose of the bones `bone_map` names, in world space (see RestRig)."""
    world = np.array(armature.matrix_world)
    joints = tuple(joint for joint in JOINT_NAMES if joint in bone_map)
    bones = [armature.data.bones[bone_map[joint]] for joint in joints]
    heads = np.array([bone.head_local for bone in bones]) @ world[:3, :3].T + world[:3, 3]
    tails = np.array([bone.tail_local for bone in bones]) @ world[:3, :3].T + world[:3, 3]
    rotations = orthonormalized(world[:3, :3] @ np.array([np.array(bone.matrix_local)[:3, :3] for bone in bones]))
    return RestRig(joints, heads, rotations, tails)


def source_motion(scene: bpy.types.Scene, source: bpy.types.Object,
                  frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The SMPL armature `source` over `frames` -> world rotations (n, 24, 3, 3) and heads (n, 24, 3) of its
    bones, read from Blender's evaluation (so edits an animator made to its keys count)."""
    rotations, heads = np.empty((len(frames), len(JOINT_NAMES), 3, 3)), np.empty((len(frames), len(JOINT_NAMES), 3))
    bones = [source.pose.bones[name] for name in JOINT_NAMES]
    for index, frame in enumerate(frames):
        scene.frame_set(int(frame))
        world = np.array(source.matrix_world)
        posed = np.array([np.array(bone.matrix) for bone in bones])
        rotations[index] = orthonormalized(world[:3, :3] @ posed[:, :3, :3])
        heads[index] = posed[:, :3, 3] @ world[:3, :3].T + world[:3, 3]
    return rotations, heads


def check_rigs(source: bpy.types.Object, target: bpy.types.Object, bone_map: BoneMap) -> None:
    """UserError unless `source` is an SMPL armature and `target` an armature with every mapped bone."""
    if source.type != "ARMATURE" or any(name not in source.data.bones for name in JOINT_NAMES):
        raise UserError(f"'{source.name}' is not a person's SMPL armature (it needs the 24 SMPL bones)")
    if target.type != "ARMATURE":
        raise UserError(f"The retarget target '{target.name}' is not an armature")
    absent = sorted(bone for bone in bone_map.values() if bone not in target.data.bones)
    if absent:
        raise UserError(f"'{target.name}' has no bones named {', '.join(absent)} (from the bone map)")


def desired_pose(source_rest: RestRig, source_rotations: np.ndarray, source_heads: np.ndarray,
                 source_origin: np.ndarray, target: bpy.types.Object, target_rest: RestRig) -> np.ndarray:
    """(n, k, 4, 4) the pose (armature-space) matrices of the target's mapped bones, per frame, from the
    source's world rotations (n, 24, 3, 3) and heads (n, 24, 3); only the root's translation is meaningful
    (the other heads follow their parents)."""
    alignments = rest_alignments(source_rest, target_rest)
    picked = [JOINT_NAMES.index(joint) for joint in target_rest.joints]
    world_rotations = target_world_rotations(source_rotations[:, picked], source_rest.rotations[picked],
                                             alignments, target_rest.rotations)
    object_matrix = np.array(target.matrix_world)
    source_hips = source_heads[:, [JOINT_NAMES.index("left_hip"), JOINT_NAMES.index("right_hip")]].mean(axis=1)
    hips = target_hips(source_hips, source_origin, object_matrix[:3, 3],
                       leg_length(target_rest) / leg_length(source_rest))
    top = "neck" if "neck" in target_rest.joints else "head"
    world_rotations = straighten_trunk(world_rotations, target_rest, hips,
                                       source_heads[:, JOINT_NAMES.index(top)] - source_hips)
    out = np.tile(np.eye(4), (*world_rotations.shape[:2], 1, 1))
    out[..., :3, :3] = armature_space(world_rotations, orthonormalized(object_matrix[:3, :3]))
    inverse = np.linalg.inv(object_matrix)
    heads = root_heads(hips, world_rotations, target_rest)
    out[:, target_rest.joints.index("pelvis"), :3, 3] = heads @ inverse[:3, :3].T + inverse[:3, 3]
    return out


def switch_rigify_limbs_to_fk(target: bpy.types.Object, bone_map: BoneMap) -> list[str]:
    """Set Rigify's IK/FK switch to FK on every limb whose FK controls the map drives (else the IK chain
    would override the baked FK keys) -> the property bones switched."""
    mapped = set(bone_map.values())
    switched = []
    for pose_bone in target.pose.bones:
        if IK_FK_PROPERTY in pose_bone.keys() and pose_bone.name.replace("_parent", "_fk") in mapped:
            pose_bone[IK_FK_PROPERTY] = 1.0
            switched.append(pose_bone.name)
    return switched


def solve_bases(view_layer: bpy.types.ViewLayer, target: bpy.types.Object, bones: list[str],
                joints: tuple[str, ...], desired: np.ndarray) -> np.ndarray:
    """(n, k, 4, 4) local (basis) matrices that give the mapped `bones` (playing `joints`) the `desired`
    pose matrices, solved shallow to deep against the evaluated parents (see the module docstring)."""
    pose_bones = [target.pose.bones[name] for name in bones]
    levels: dict[int, list[int]] = {}
    for index, joint in enumerate(joints):
        levels.setdefault(_joint_depth(joint), []).append(index)
    root = joints.index("pelvis")
    passes = MAX_PASSES if any(bone.constraints for bone in target.pose.bones) else 1
    out = np.zeros_like(desired)
    for frame in range(len(desired)):
        for done in range(1, passes + 1):
            _solve_levels(view_layer, target, pose_bones, levels, root, desired[frame], out[frame])
            if done == passes or _pose_error(view_layer, pose_bones, desired[frame]) < CONVERGED:
                break
    return out


def _pose_error(view_layer: bpy.types.ViewLayer, pose_bones: list[bpy.types.PoseBone], desired: np.ndarray) -> float:
    """Largest difference between the evaluated rotations of `pose_bones` and the `desired` (k, 4, 4) ones."""
    view_layer.update()
    posed = np.array([np.array(pose_bone.matrix)[:3, :3] for pose_bone in pose_bones])
    return float(np.abs(orthonormalized(posed) - desired[:, :3, :3]).max())


def _solve_levels(view_layer: bpy.types.ViewLayer, target: bpy.types.Object, pose_bones: list[bpy.types.PoseBone],
                  levels: dict[int, list[int]], root: int, desired: np.ndarray, out: np.ndarray) -> None:
    """One shallow-to-deep pass over a frame: out (k, 4, 4) gets the bases for `desired` (k, 4, 4)."""
    for depth in sorted(levels):
        view_layer.update()
        for index in levels[depth]:
            pose_bone = pose_bones[index]
            wanted = desired[index].copy()
            if index != root:
                wanted[:3, 3] = np.array(pose_bone.matrix.translation)
            local = np.array(target.convert_space(pose_bone=pose_bone, matrix=Matrix(wanted.tolist()),
                                                  from_space="POSE", to_space="LOCAL"))
            local[:3, :3] = orthonormalized(local[:3, :3])
            if index != root:
                local[:3, 3] = 0.0
            pose_bone.matrix_basis = Matrix(local.tolist())
            out[index] = local


def rotation_channels(pose_bone: bpy.types.PoseBone, rotations: np.ndarray) -> tuple[str, np.ndarray]:
    """rotations (n, 3, 3) local -> (the pose bone's rotation property, its values (n, 3 or 4)) in the
    bone's own rotation mode, continuous over frames (no quaternion sign flips, no Euler wraps)."""
    mode = pose_bone.rotation_mode
    quats = make_continuous(rotmat_to_quat(rotations))
    if mode == "QUATERNION":
        return "rotation_quaternion", quats
    if mode == "AXIS_ANGLE":
        half = np.arccos(np.clip(quats[:, 0], -1.0, 1.0))
        axes = quats[:, 1:] / np.maximum(np.sin(half), 1e-12)[:, None]
        axes[np.sin(half) < 1e-9] = (0.0, 1.0, 0.0)
        return "rotation_axis_angle", np.column_stack([2 * half, axes])
    eulers, previous = [], None
    for rotation in rotations:
        euler = Matrix(rotation.tolist()).to_euler(mode, previous) if previous else \
            Matrix(rotation.tolist()).to_euler(mode)
        eulers.append(tuple(euler))
        previous = euler
    return "rotation_euler", np.array(eulers)


def _key_bone(new_fcurve: NewFCurve, bone: str, prop: str, frames: np.ndarray, values: np.ndarray,
              tolerance: float) -> None:
    """Key one bone property's channels (values (n, k)), thinned together when `tolerance` > 0."""
    kept = kept_frames(frames, values, tolerance) if tolerance > 0 else np.arange(len(frames))
    for channel in range(values.shape[1]):
        write_keys(new_fcurve(f'pose.bones["{bone}"].{prop}', channel, bone), frames[kept], values[kept, channel])


def bake_retarget(context: bpy.types.Context, source: bpy.types.Object, target: bpy.types.Object,
                  bone_map: BoneMap, frames: np.ndarray, options: BakeOptions = BakeOptions()) -> bpy.types.Action:
    """Key `source`'s motion over scene `frames` (n,) onto `target`'s own bones in a new action -> the action.
    The target's other bones are put at rest, its previous action is unassigned (kept in the file)."""
    check_rigs(source, target, bone_map)
    scene, frames = context.scene, np.asarray(frames, dtype=np.float64)
    current = scene.frame_current
    source_rotations, source_heads = source_motion(scene, source, frames)
    source_rest = rest_rig(source, {name: name for name in JOINT_NAMES})
    target_rest = rest_rig(target, bone_map)
    desired = desired_pose(source_rest, source_rotations, source_heads, np.array(source.matrix_world)[:3, 3],
                           target, target_rest)
    animation = target.animation_data_create()
    animation.action = None  # its keys, and earlier takes' NLA strips, would override the pose being solved
    use_nla, animation.use_nla = animation.use_nla, False
    for pose_bone in target.pose.bones:
        pose_bone.matrix_basis = Matrix.Identity(4)
    switched = switch_rigify_limbs_to_fk(target, bone_map)
    bones = [bone_map[joint] for joint in target_rest.joints]
    try:
        bases = solve_bases(context.view_layer, target, bones, target_rest.joints, desired)
    finally:
        animation.use_nla = use_nla
    new_fcurve = new_action(target, f"{target.name} from {source.name}")
    for index, bone in enumerate(bones):
        pose_bone = target.pose.bones[bone]
        prop, values = rotation_channels(pose_bone, bases[:, index, :3, :3])
        _key_bone(new_fcurve, bone, prop, frames, values, np.radians(options.thin_degrees) / 2)
    root = bones[target_rest.joints.index("pelvis")]
    unit = float(np.linalg.norm(np.array(target.matrix_world)[:3, 0]))  # metres per armature unit
    _key_bone(new_fcurve, root, "location", frames, bases[:, target_rest.joints.index("pelvis"), :3, 3],
              options.thin_metres / unit if options.thin_degrees > 0 else 0.0)
    for bone in switched:
        write_keys(new_fcurve(f'pose.bones["{bone}"]["{IK_FK_PROPERTY}"]', 0, bone), frames[:1], np.ones(1))
    action = animation.action
    if options.nla_strip:
        push_to_nla(animation, int(frames[0]))
    scene.frame_set(current)
    return action


def push_to_nla(animation: bpy.types.AnimData, start: int) -> bpy.types.NlaStrip:
    """Move the active action into a new NLA track's strip starting at `start` (one track per take)."""
    action, slot = animation.action, getattr(animation, "action_slot", None)
    track = animation.nla_tracks.new()
    track.name = action.name
    strip = track.strips.new(action.name, start, action)
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot
    animation.action = None
    return strip
