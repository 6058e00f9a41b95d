"""Scene build speed on a long clip: the add-on's builder against two baselines measured in the same run.

    python bench/bench_scene_build.py [--frames 3000] [--smpl tests/reference/synthetic_SMPL_NEUTRAL.pkl]

One person, random SMPL poses. Three timings, each on a fresh empty scene:
  * builder: the add-on's whole import (`scene_build.build_scene`: armature, skinned mesh with beta and 207
    pose-corrective keys, part colours, bulk keys for bones and correctives, camera, rollback guard);
  * minimal: only the bones, the skinned mesh with its shape keys and the same bulk keys (the floor any
    builder pays) -- the issue's aim is builder <= 1.5 x minimal;
  * keyframe_insert loop: the same 24 bones (quaternions + root location) keyed frame by frame with
    `keyframe_insert`, the usual way, against the builder's bulk keys for those bones.
Needs the bpy module (pip install bpy) and the inference package's result-file writer (numpy only).
"""
from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

if "bpy" not in sys.modules:  # before bpy loads: never touch the real user configuration
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="pare-blender-user-")
    atexit.register(shutil.rmtree, os.environ["BLENDER_USER_RESOURCES"], ignore_errors=True)

import bpy  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "addon"))
from batch import load_extension_package  # noqa: E402

load_extension_package()
from pare_body_estimator.addon import (armature_build, body_mesh, keyframes, rig_animation, rig_math,  # noqa: E402
                                       scene_build, smpl_rest)
from pare_body_estimator.contract import result_file, skeleton, smpl_file  # noqa: E402


def random_result(frames: int) -> "result_file.Result":
    """One person, smooth random motion (a random walk of joint rotations)."""
    rng = np.random.default_rng(0)
    rotvecs = np.cumsum(rng.normal(0, 0.05, (frames, 24, 3)), axis=0)
    angles = np.linalg.norm(rotvecs, axis=-1, keepdims=True)[..., None]
    axis = rotvecs / np.maximum(np.linalg.norm(rotvecs, axis=-1, keepdims=True), 1e-12)
    cross = np.zeros((frames, 24, 3, 3))
    cross[..., 0, 1], cross[..., 0, 2], cross[..., 1, 2] = -axis[..., 2], axis[..., 1], -axis[..., 0]
    cross -= np.swapaxes(cross, -1, -2)
    rotmats = np.eye(3) + np.sin(angles) * cross + (1 - np.cos(angles)) * cross @ cross  # Rodrigues
    cam_t = np.column_stack([np.linspace(-1, 1, frames), np.zeros(frames), np.full(frames, 8.0)])
    f32 = np.float32
    track = result_file.PersonTrack(
        frame=np.arange(frames, dtype=np.int64), bbox_xywh=np.full((frames, 4), 100, f32),
        pose_rotmat=rotmats.astype(f32), pose_axis_angle=rotvecs.reshape(frames, 72).astype(f32),
        betas=np.zeros((frames, 10), f32), crop_cam=np.ones((frames, 3), f32), cam_t=cam_t.astype(f32),
        joints3d=np.repeat(cam_t[:, None], 24, axis=1).astype(f32), joints2d=np.zeros((frames, 24, 2), f32))
    meta = result_file.ResultMeta(image_width=1920, image_height=1080, fps=30.0, focal_length_px=2000.0,
                                  frame_count=frames, source="", model="pare_hrnet32")
    return result_file.Result(meta=meta, persons=[track])


def fresh_scene() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)


def timed(work) -> float:
    fresh_scene()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def minimal_build(result, model) -> None:
    """Bones, skinned mesh with shape keys, bulk keys: nothing else."""
    track = result.persons[0]
    collection = bpy.context.scene.collection
    betas = smpl_rest.median_betas(track.betas)
    joints = smpl_rest.rest_joints(model, betas)
    armature, rest = armature_build.build_armature(bpy.context, "minimal", model, joints, collection)
    body = body_mesh.build_body_mesh("minimal_body", model, betas, armature, collection, pose_correctives=True)
    rig_animation.animate_person(armature, body, rest, joints[0], 1 + track.frame, track.pose_rotmat, track.cam_t, 1)


def bone_keys(result, model, per_frame_loop: bool) -> float:
    """Seconds to key the 24 bones (quaternions + root location) of a fresh armature, either way."""
    track = result.persons[0]
    joints = smpl_rest.rest_joints(model, smpl_rest.median_betas(track.betas))
    fresh_scene()
    armature, rest = armature_build.build_armature(bpy.context, "keys", model, joints, bpy.context.scene.collection)
    quats = rig_math.bone_rotations(track.pose_rotmat, rest)
    locations = rig_math.root_locations(track.cam_t, joints[0], rest[0])
    frames = 1 + track.frame.astype(np.float64)
    bones = [armature.pose.bones[name] for name in skeleton.JOINT_NAMES]
    start = time.perf_counter()
    if per_frame_loop:
        for index, frame in enumerate(frames):
            for joint, bone in enumerate(bones):
                bone.rotation_quaternion = quats[index, joint]
                bone.keyframe_insert("rotation_quaternion", frame=frame)
            bones[0].location = locations[index]
            bones[0].keyframe_insert("location", frame=frame)
    else:
        new_fcurve = keyframes.new_action(armature, "bulk")
        for joint, bone in enumerate(bones):
            keyframes.key_channels(new_fcurve, bone.path_from_id("rotation_quaternion"), bone.name, frames,
                                   quats[:, joint])
        keyframes.key_channels(new_fcurve, bones[0].path_from_id("location"), bones[0].name, frames, locations)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--smpl", default=str(ROOT / "tests" / "reference" / "synthetic_SMPL_NEUTRAL.pkl"))
    args = parser.parse_args()
    model = smpl_file.read_smpl_model(args.smpl)
    result = random_result(args.frames)
    builder = timed(lambda: scene_build.build_scene(bpy.context, result, model, "bench"))
    minimal = timed(lambda: minimal_build(result, model))
    bulk = bone_keys(result, model, per_frame_loop=False)
    loop = bone_keys(result, model, per_frame_loop=True)
    print(f"{args.frames} frames, one person, Blender {bpy.app.version_string}")
    print(f"builder (whole import)        {builder:8.3f} s")
    print(f"minimal builder               {minimal:8.3f} s   builder / minimal = {builder / minimal:.2f} (aim <= 1.5)")
    print(f"bone keys, bulk foreach_set   {bulk:8.3f} s")
    print(f"bone keys, keyframe_insert    {loop:8.3f} s   loop / bulk = {loop / bulk:.1f}x, "
          f"loop / whole builder = {loop / builder:.1f}x")


if __name__ == "__main__":
    main()
