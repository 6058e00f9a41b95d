"""The scene camera that sees the bodies as the result's pinhole camera saw the footage."""
from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from .camera_math import CameraSettings
from .rig_math import CAMERA_ROTATION

CLIP_START_M = 0.01


def build_camera(scene: bpy.types.Scene, name: str, settings: CameraSettings, farthest_m: float,
                 collection: bpy.types.Collection) -> bpy.types.Object:
    """A camera at the world origin looking along +y (up +z), made the scene camera, with the render
    resolution of the footage. `farthest_m`: depth it must still see (the footage plane)."""
    data = bpy.data.cameras.new(name)
    data.lens = settings.lens_mm
    data.sensor_width = settings.sensor_width_mm
    data.sensor_fit = settings.sensor_fit
    data.shift_x = data.shift_y = 0.0
    data.clip_start = CLIP_START_M
    data.clip_end = max(100.0, 2.0 * farthest_m)
    camera = bpy.data.objects.new(name, data)
    rotation = np.eye(4)
    rotation[:3, :3] = CAMERA_ROTATION
    camera.matrix_world = Matrix(rotation.tolist())
    collection.objects.link(camera)
    scene.camera = camera
    render = scene.render
    render.resolution_x, render.resolution_y = settings.resolution_x, settings.resolution_y
    render.resolution_percentage = 100
    render.pixel_aspect_x = render.pixel_aspect_y = 1.0
    return camera
