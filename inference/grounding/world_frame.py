"""The Z-up world: a rigid change of coordinates from the (reference) camera frame, with the floor at Z = 0.

A rigid change of coordinates moves the camera together with the bodies, so every joint still projects onto
the same pixel through the camera placed in the world (the camera check of issue 3 holds by construction).
Axes: Z = the floor's up normal; Y = the camera's viewing direction laid flat on the floor (the camera looks
along +Y, as a Blender user expects from the front view); X = Y x Z (the camera's right). The origin is the
floor point under the people's mean pelvis, so they stand near the world origin.

Moving cameras: points seen by the camera of frame t are first carried into the reference camera's frame
(frame 0 of the camera motion) with `stabilize_points`; the world is built on that frame, and the camera of
frame t sits at the same centre, turned by its rotation (`camera_poses`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .floor import CAMERA_DOWN, FloorPlane
from .rotations import normalized

CAMERA_FORWARD = np.array([0.0, 0.0, 1.0])
# Blender's camera looks down its local -Z with +Y up: OpenCV camera axes (x, y, z) are Blender's (x, -y, -z).
OPENCV_TO_BLENDER_CAMERA = np.diag([1.0, -1.0, -1.0])
# A camera less than this above or below the feet looks at them along the floor.
LEVEL_SIGHT_M = 0.3


@dataclass(frozen=True)
class WorldFrame:
    """world point = rotation @ camera point + translation (the reference camera's frame, metres)."""

    rotation: np.ndarray  # (3, 3) world_from_camera; its rows are the world's X, Y, Z in camera coordinates
    translation: np.ndarray  # (3,)

    def points(self, camera_points: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (..., 3) world points."""
        return np.asarray(camera_points, dtype=np.float64) @ self.rotation.T + self.translation

    def directions(self, camera_rotations: np.ndarray) -> np.ndarray:
        """(..., 3, 3) rotations into the camera frame (a body's global orientation) -> into the world."""
        return self.rotation @ np.asarray(camera_rotations, dtype=np.float64)

    def camera_points(self, world_points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 3) camera-frame points: the inverse of `points`."""
        return (np.asarray(world_points, dtype=np.float64) - self.translation) @ self.rotation


def world_frame_from_floor(plane: FloorPlane, pelvis_points: np.ndarray | None = None) -> WorldFrame:
    """Floor in camera coordinates, people's pelvis positions (N, 3) in the same frame -> the world frame.

    Without pelvis positions the origin is the floor point under the camera.
    """
    up = normalized(plane.normal)
    forward = CAMERA_FORWARD - (CAMERA_FORWARD @ up) * up
    if np.linalg.norm(forward) < 1e-6:  # a camera looking straight down: its image top is the world's forward
        forward = -CAMERA_DOWN - (-CAMERA_DOWN @ up) * up
    forward = normalized(forward)
    rotation = np.stack([np.cross(forward, up), forward, up])
    anchor = np.zeros(3) if pelvis_points is None or not len(pelvis_points) else np.mean(pelvis_points, axis=0)
    on_floor = anchor - plane.height(anchor) * up
    return WorldFrame(rotation=rotation, translation=-rotation @ on_floor)


def stabilize_points(points: np.ndarray, reference_from_camera: np.ndarray) -> np.ndarray:
    """Points seen by each frame's camera (n, ..., 3) and that camera's rotation into the reference camera
    (n, 3, 3) -> the same points in the reference camera's frame (the cameras share one centre)."""
    points = np.asarray(points, dtype=np.float64)
    flat = points.reshape(len(points), -1, 3)
    return np.einsum("nij,nkj->nki", reference_from_camera, flat).reshape(points.shape)


def body_in_world(frame: WorldFrame, global_orient: np.ndarray, cam_t: np.ndarray, pelvis: np.ndarray,
                  reference_from_camera: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One person's SMPL global orientation (n, 3, 3), translation (n, 3) and posed pelvis joint (n, 3), all in
    the camera frame of their frames, -> (global orientation (n, 3, 3), translation (n, 3)) in the world.

    `reference_from_camera` (n, 3, 3): each of those frames' camera rotation (None: a static camera). SMPL turns
    its global orientation about the rest pelvis J0 = pelvis - cam_t, so the world body is
    SMPL(world orientation) + t_world with t_world = world(pelvis) - J0.
    """
    pelvis = np.asarray(pelvis, dtype=np.float64)
    orient = np.asarray(global_orient, dtype=np.float64)
    if reference_from_camera is not None:
        pelvis_seen, orient = stabilize_points(pelvis, reference_from_camera), reference_from_camera @ orient
    else:
        pelvis_seen = pelvis
    return frame.directions(orient), frame.points(pelvis_seen) - (pelvis - np.asarray(cam_t, dtype=np.float64))


def onto_floor_shift(feet: np.ndarray, level: float, camera_centre: np.ndarray) -> np.ndarray:
    """A person's foot points (n, K, 3) (world), their floor level (m above Z = 0) and the camera centre (3,)
    -> the shift (3,) that puts them on the floor by moving them along the camera's line of sight to their
    mean lowest foot point (depth is what a monocular estimate gets most wrong, and that point keeps its
    pixel; the rest of the body moves in the picture by the parallax of the shift, a few pixels).

    A camera nearly at the feet's height sees that line run along the floor: the person is then lowered.
    """
    feet = np.asarray(feet, dtype=np.float64)
    lowest = feet[np.arange(len(feet)), np.argmin(feet[..., 2], axis=1)]
    sight = lowest.mean(axis=0) - camera_centre
    if abs(sight[2]) < LEVEL_SIGHT_M:
        return np.array([0.0, 0.0, -level])
    return sight * (-level / sight[2])


def camera_poses(frame: WorldFrame, reference_from_camera: np.ndarray | None = None) -> np.ndarray:
    """World frame and per-frame camera rotations (F, 3, 3) (None: a static camera) -> (F, 4, 4) camera-to-
    world matrices in OpenCV camera axes (F = 1 for a static camera)."""
    turns = np.eye(3)[None] if reference_from_camera is None else np.asarray(reference_from_camera, np.float64)
    poses = np.tile(np.eye(4), (len(turns), 1, 1))
    poses[:, :3, :3] = frame.rotation @ turns
    poses[:, :3, 3] = frame.translation
    return poses


def blender_camera_matrices(opencv_poses: np.ndarray) -> np.ndarray:
    """(..., 4, 4) camera-to-world poses in OpenCV camera axes -> the Blender camera object's matrix_world."""
    poses = np.array(opencv_poses, dtype=np.float64)
    poses[..., :3, :3] = poses[..., :3, :3] @ OPENCV_TO_BLENDER_CAMERA
    return poses
