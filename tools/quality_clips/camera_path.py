"""The known camera of a clip: a pinhole with its intrinsics and, per frame, where it is and where it looks.

Conventions are the result file's (docs/result_format.md): camera frame x right, y down, z forward, metres;
pixel = focal * (x, y) / z + (W/2, H/2). The world is Blender's (z up). `rotation` maps world directions to
camera directions, so a world point X is `rotation @ X + translation` in the camera frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORLD_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class CameraTrack:
    width: int
    height: int
    focal_px: float
    rotation: np.ndarray  # (T, 3, 3) world -> camera
    position: np.ndarray  # (T, 3) camera centre, world

    @property
    def translation(self) -> np.ndarray:
        """(T, 3) t with X_camera = R X_world + t."""
        return -np.einsum("tij,tj->ti", self.rotation, self.position)

    @property
    def intrinsics(self) -> np.ndarray:
        """(3, 3) K: principal point at the image centre, square pixels."""
        return np.array([[self.focal_px, 0.0, self.width / 2], [0.0, self.focal_px, self.height / 2], [0, 0, 1]])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(T, N, 3) world points -> (T, N, 3) camera-frame points."""
        return np.einsum("tij,tnj->tni", self.rotation, points) + self.translation[:, None]

    def project(self, camera_points: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points in front of the camera -> (..., 2) pixels."""
        return self.focal_px * camera_points[..., :2] / camera_points[..., 2:] + [self.width / 2, self.height / 2]


def look_rotation(forward: np.ndarray) -> np.ndarray:
    """(T, 3) viewing directions -> (T, 3, 3) world->camera rotations with no roll (the horizon level)."""
    z = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    x = np.cross(z, WORLD_UP)  # right = forward x up, for a y-down camera frame
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-2)


def orbit_camera(target: np.ndarray, azimuth_deg: float, distance_m: float, height_m: float,
                 pan_deg: float, frames: int, size: tuple[int, int], focal_px: float) -> CameraTrack:
    """A camera standing still at `distance_m` from `target` (world) in the direction `azimuth_deg` (0 = -y,
    the way bodies face, 90 = +x), `height_m` above the floor. With `pan_deg`, it turns about the vertical at
    a steady rate from -pan/2 to +pan/2 around the target's direction (a slow pan); else it looks at it."""
    angle = np.radians(azimuth_deg)
    position = np.array([target[0] + distance_m * np.sin(angle), target[1] - distance_m * np.cos(angle), height_m])
    towards = target - position
    yaw = np.radians(np.linspace(-pan_deg / 2, pan_deg / 2, frames))
    cos, sin = np.cos(yaw), np.sin(yaw)
    forward = np.stack([cos * towards[0] - sin * towards[1], sin * towards[0] + cos * towards[1],
                        np.full(frames, towards[2])], axis=1)
    return CameraTrack(width=size[0], height=size[1], focal_px=focal_px, rotation=look_rotation(forward),
                       position=np.tile(position, (frames, 1)))
