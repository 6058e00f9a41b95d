"""The result's pinhole camera as Blender camera settings, and the footage plane behind the bodies (numpy only).

The result projects a camera-frame point (x right, y down, z forward) to u = f x / z + W/2, v = f y / z + H/2
pixels. A Blender camera with sensor fit HORIZONTAL, no lens shift and square pixels maps its sensor width
onto the W render pixels, so its focal length in pixels is lens * W / sensor_width; choosing
lens = f * sensor_width / W reproduces the result's projection for any sensor width.
"""
from __future__ import annotations

from dataclasses import dataclass

SENSOR_WIDTH_MM = 36.0  # full-frame width; any value works, this one makes the lens read like a real one
PLANE_MARGIN_M = 1.0  # how far behind the farthest joint the footage plane sits


@dataclass(frozen=True)
class CameraSettings:
    """Blender camera and render settings that reproduce one pinhole camera."""

    lens_mm: float
    sensor_width_mm: float
    sensor_fit: str
    resolution_x: int
    resolution_y: int


def camera_settings(focal_length_px: float, image_width: int, image_height: int) -> CameraSettings:
    """The result's focal length (pixels) and image size -> lens, sensor and render resolution."""
    return CameraSettings(lens_mm=focal_length_px * SENSOR_WIDTH_MM / image_width,
                          sensor_width_mm=SENSOR_WIDTH_MM, sensor_fit="HORIZONTAL",
                          resolution_x=int(image_width), resolution_y=int(image_height))


def footage_plane_size(depth_m: float, focal_length_px: float, image_width: int,
                       image_height: int) -> tuple[float, float]:
    """Width and height (metres) of a plane `depth_m` in front of the camera that exactly fills its view."""
    return image_width * depth_m / focal_length_px, image_height * depth_m / focal_length_px


def footage_plane_depth(farthest_joint_depth_m: float) -> float:
    """Depth of the footage plane: behind every body (its farthest joint plus a margin for the mesh)."""
    return max(farthest_joint_depth_m, 0.0) + PLANE_MARGIN_M
