"""The scene camera that sees the bodies as the result's pinhole camera saw the footage: at the origin looking
along +y for a result in its camera frame, or where a grounded result puts it in the Z-up world, keyed per
frame when it turned (a camera that did not move gets one fixed pose and no keys)."""
from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from .camera_math import CameraSettings
from .keyframes import key_channels, new_action
from .rig_math import CAMERA_ROTATION, make_continuous, rotmat_to_quat

CLIP_START_M = 0.01


def key_camera_poses(camera: bpy.types.Object, matrices: np.ndarray, frames: np.ndarray) -> None:
    """Key the camera's location and rotation (quaternion) at scene `frames` (F,) from matrix_world (F, 4, 4)."""
    camera.rotation_mode = "QUATERNION"
    new_fcurve = new_action(camera, f"{camera.name} motion")
    frames = np.asarray(frames, dtype=np.float64)
    key_channels(new_fcurve, "location", "camera", frames, matrices[:, :3, 3])
    key_channels(new_fcurve, "rotation_quaternion", "camera", frames,
                 make_continuous(rotmat_to_quat(matrices[:, :3, :3])))


def build_camera(scene: bpy.types.Scene, name: str, settings: CameraSettings, farthest_m: float,
                 collection: bpy.types.Collection, poses: np.ndarray | None = None,
                 pose_frames: np.ndarray | None = None) -> bpy.types.Object:
    """A camera made the scene camera, with the render resolution of the footage. `farthest_m`: depth it
    must still see (the footage plane). `poses` (F, 4, 4): its matrix_world per scene frame `pose_frames`
    (F,), keyed when F > 1; None: at the world origin looking along +y (up +z)."""
    data = bpy.data.cameras.new(name)
    data.lens = settings.lens_mm
    data.sensor_width = settings.sensor_width_mm
    data.sensor_fit = settings.sensor_fit
    data.shift_x = data.shift_y = 0.0
    data.clip_start = CLIP_START_M
    data.clip_end = max(100.0, 2.0 * farthest_m)
    camera = bpy.data.objects.new(name, data)
    if poses is None:
        poses = np.eye(4)[None]
        poses[0, :3, :3] = CAMERA_ROTATION
    camera.matrix_world = Matrix(poses[0].tolist())
    if len(poses) > 1:
        key_camera_poses(camera, poses, pose_frames)
    collection.objects.link(camera)
    scene.camera = camera
    render = scene.render
    render.resolution_x, render.resolution_y = settings.resolution_x, settings.resolution_y
    render.resolution_percentage = 100
    render.pixel_aspect_x = render.pixel_aspect_y = 1.0
    return camera
