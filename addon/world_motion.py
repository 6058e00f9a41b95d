"""A grounded result's Z-up world as scene data (numpy only): which motion each rig is keyed with, the camera's
matrices, the ground plane's extent, and the names of the foot-contact properties.

A grounded result (docs/grounding.md) stores each body in a right-handed Z-up world with the floor at Z = 0,
the camera looking along +Y: exactly Blender's world axes, so the scene world *is* that world. rig_math keys
a body given in the result's camera frame and places that frame in the scene with WORLD_FROM_RESULT_CAMERA
(a camera at the origin); a world body is handed to it re-expressed in that frame (`as_rig_camera_frame`),
which keeps one exact path from SMPL parameters to bone keys for both kinds of result.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..contract.result_file import PersonTrack, Result
from .rig_math import WORLD_FROM_RESULT_CAMERA

# The result's foot points (its `foot_contact` columns), as custom properties of each person's armature.
CONTACT_PROPERTIES = ("contact_left_heel", "contact_left_toe", "contact_right_heel", "contact_right_toe")
# OpenCV camera axes (x right, y down, z forward) -> a Blender camera's (it looks down its local -z, +y up).
OPENCV_TO_BLENDER_CAMERA = np.diag([1.0, -1.0, -1.0])
GROUND_MARGIN_M = 2.0  # the ground plane reaches this far beyond the people and the camera
GROUND_MIN_SIZE_M = 8.0


@dataclass(frozen=True)
class RigMotion:
    """One motion as rig_math takes it: SMPL pose (n, 24, 3, 3) and translation (n, 3), result camera frame."""

    pose_rotmat: np.ndarray
    cam_t: np.ndarray


def is_grounded(result: Result) -> bool:
    """True when the result places its camera and every person in the Z-up world (older results do not)."""
    return result.world is not None and all(track.world_global_orient is not None and track.world_transl is not None
                                            for track in result.persons)


def as_rig_camera_frame(pose_rotmat: np.ndarray, global_orient: np.ndarray, translation: np.ndarray,
                        rest_root_joint: np.ndarray) -> RigMotion:
    """A world body -> the same body in the frame rig_math reads the result camera frame in.

    pose_rotmat (n, 24, 3, 3) local rotations (joint 0 is replaced), global_orient (n, 3, 3) and SMPL
    translation (n, 3) in the world, rest_root_joint (3,) the rest pelvis J0. rig_math turns joint 0 by
    C = WORLD_FROM_RESULT_CAMERA and puts the pelvis at C (cam_t + J0): with R0 = C^T R_world and
    cam_t = C^T (t_world + J0) - J0 it lands exactly on the world body (SMPL turns about J0)."""
    camera_from_world = WORLD_FROM_RESULT_CAMERA.T
    pose = np.array(pose_rotmat, dtype=np.float64)
    pose[:, 0] = camera_from_world @ np.asarray(global_orient, dtype=np.float64)
    root = np.asarray(rest_root_joint, dtype=np.float64)
    cam_t = (np.asarray(translation, dtype=np.float64) + root) @ camera_from_world.T - root
    return RigMotion(pose, cam_t)


def person_motions(track: PersonTrack, rest_root_joint: np.ndarray, grounded: bool
                   ) -> tuple[RigMotion, RigMotion | None]:
    """(the motion the rig shows, the unlocked motion kept beside it or None).

    Grounded: the foot-locked motion when the result has one, with the unlocked world motion kept; else the
    unlocked world motion alone. Not grounded: the camera-frame estimate as stored."""
    if not grounded:
        return RigMotion(track.pose_rotmat, track.cam_t), None
    unlocked = as_rig_camera_frame(track.pose_rotmat, track.world_global_orient, track.world_transl,
                                   rest_root_joint)
    if track.locked_pose_rotmat is None or track.locked_transl is None:
        return unlocked, None
    locked = as_rig_camera_frame(track.locked_pose_rotmat, track.locked_pose_rotmat[:, 0], track.locked_transl,
                                 rest_root_joint)
    return locked, unlocked


def blender_camera_matrices(camera_to_world: np.ndarray) -> np.ndarray:
    """(F, 4, 4) camera-to-world poses in OpenCV camera axes -> the camera object's matrix_world per pose."""
    poses = np.array(camera_to_world, dtype=np.float64)
    poses[..., :3, :3] = poses[..., :3, :3] @ OPENCV_TO_BLENDER_CAMERA
    return poses


def ground_extent(points_xy: np.ndarray) -> tuple[np.ndarray, float]:
    """(k, 2) floor positions to cover (people, camera) -> (centre (2,), side length m) of a square ground
    plane reaching GROUND_MARGIN_M beyond them, at least GROUND_MIN_SIZE_M wide."""
    points = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    low, high = points.min(axis=0), points.max(axis=0)
    return (low + high) / 2.0, float(max(GROUND_MIN_SIZE_M, np.max(high - low) + 2.0 * GROUND_MARGIN_M))
