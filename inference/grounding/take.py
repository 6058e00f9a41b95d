"""One take grounded: the order the grounding steps run in, for the estimate job to call once per take.

1. Each person's camera-frame estimate is carried into the first camera's frame (camera_motion's rotations;
   nothing to do for a static camera).
2. The floor is fitted to everybody's feet there (floor.py), and the Z-up world built on it (world_frame.py);
   each person is moved along the line of sight onto it (their monocular depth is the uncertain part).
3. Per person: the body in the world, the foot contact probability (contact.py), and, when asked for, the
   motion with planted feet (foot_lock.py), kept beside the unlocked one.
4. The camera's pose per frame in the world (one pose when static).

The people and the camera go through the same rigid change of coordinates (onto the floor aside), so the
joints keep their pixels through the placed camera.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .camera_motion import CameraMotion
from .contact import FOOT_POINT_JOINTS, ContactParams, contact_probability, image_speed_in_metres
from .floor import SAME_FLOOR_M, FloorFit, FloorHint, estimate_floor
from .foot_lock import FootLockParams, LockedMotion, lock_feet
from .world_frame import (WorldFrame, body_in_world, camera_poses, onto_floor_shift, stabilize_points,
                          world_frame_from_floor)


@dataclass(frozen=True)
class PersonEstimate:
    """One person as the result file holds them (camera frame of each of their frames)."""

    frames: np.ndarray  # (n,) source frame indices
    pose_rotmat: np.ndarray  # (n, 24, 3, 3); [:, 0] the orientation in the camera frame
    cam_t: np.ndarray  # (n, 3)
    joints3d: np.ndarray  # (n, 24, 3)
    # (n, k, 3) optional: points of the soles (e.g. SMPLBody's heel and toe keypoints, + cam_t); when every
    # person has them, the floor goes through the soles rather than the lowest foot joints.
    soles: np.ndarray | None = None


@dataclass(frozen=True)
class GroundedPerson:
    """One person in the Z-up world."""

    pose_rotmat: np.ndarray  # (n, 24, 3, 3); [:, 0] the orientation in the world
    translation: np.ndarray  # (n, 3) SMPL translation in the world
    joints: np.ndarray  # (n, 24, 3)
    contact: np.ndarray  # (n, 4) probability per foot point (contact.FOOT_POINT_NAMES)
    locked: LockedMotion | None  # the same motion with planted feet (None when foot locking is off)

    @property
    def locked_translation(self) -> np.ndarray | None:
        """(n, 3) SMPL translation of the locked motion (its pelvis moved, its rest pelvis the same)."""
        return None if self.locked is None else self.translation + self.locked.joints[:, 0] - self.joints[:, 0]


@dataclass(frozen=True)
class GroundedTake:
    """A take's world, its floor and camera, and its people."""

    world: WorldFrame  # from the first camera's frame to the world
    floor: FloorFit  # in the first camera's frame
    camera_to_world: np.ndarray  # (F, 4, 4) OpenCV camera axes: one per frame of the camera motion, or 1 if static
    camera_frames: np.ndarray  # (F,) the source frame index of each camera pose
    people: list[GroundedPerson]


def _image_speed(points: np.ndarray, frames: np.ndarray, fps: float, focal_px: float) -> np.ndarray:
    """Points (n, K, 3) in the first camera's frame -> (n, K) their sideways speed in the picture, m/s."""
    return image_speed_in_metres(focal_px * points[..., :2] / points[..., 2:], points[..., 2], focal_px, frames,
                                 fps)


def ground_take(people: Sequence[PersonEstimate], fps: float, focal_px: float | None = None,
                camera_motion: CameraMotion | None = None, hint: FloorHint | None = None,
                foot_lock: bool = True, onto_floor: bool = True,
                contact_params: ContactParams = ContactParams(),
                lock_params: FootLockParams = FootLockParams()) -> GroundedTake:
    """People's estimates, the frame rate, the camera's motion (None or static: a fixed camera), an optional
    floor hint -> the grounded take. `fps`: the source frame rate (30 for image folders, by convention).
    `focal_px`: when given, the feet's motion in the picture (their joints seen by the first camera, so
    untouched by depth jitter) is used as 2D evidence of contact.
    `onto_floor`: move each person standing within SAME_FLOOR_M of the shared floor along the camera's line of
    sight onto it (their own level is `floor.person_levels`); off, people keep the depth the estimate gave."""
    moving = camera_motion is not None and not camera_motion.static
    turns = [camera_motion.at(p.frames) if moving else None for p in people]
    seen = [np.asarray(p.joints3d, np.float64) if t is None else stabilize_points(p.joints3d, t)
            for p, t in zip(people, turns)]
    soles = None if any(p.soles is None for p in people) else [
        np.asarray(p.soles, np.float64) if t is None else stabilize_points(p.soles, t) for p, t in zip(people, turns)]
    floor = estimate_floor(seen, soles, hint=hint)
    world = world_frame_from_floor(floor.plane, np.concatenate([j[:, 0] for j in seen]) if seen else None)
    grounded = []
    for person, turn, joints_seen, level in zip(people, turns, seen, floor.person_levels):
        orient, translation = body_in_world(world, person.pose_rotmat[:, 0], person.cam_t,
                                            person.joints3d[:, 0], turn)
        pose = np.array(person.pose_rotmat, dtype=np.float64)
        pose[:, 0] = orient
        joints = world.points(joints_seen)
        if onto_floor and abs(level) <= SAME_FLOOR_M:  # further off, they stand on something else
            shift = onto_floor_shift(joints[:, FOOT_POINT_JOINTS], level, world.translation)
            joints, translation = joints + shift, translation + shift
        feet = joints[:, FOOT_POINT_JOINTS]
        image_speed = None if focal_px is None else _image_speed(joints_seen[:, FOOT_POINT_JOINTS], person.frames,
                                                                   fps, focal_px)
        contact = contact_probability(feet, person.frames, fps, image_speed, contact_params)
        locked = lock_feet(pose, joints, contact, world.translation, lock_params) if foot_lock else None
        grounded.append(GroundedPerson(pose, translation, joints, contact, locked))
    cameras = camera_poses(world, camera_motion.reference_from_camera if moving else None)
    camera_frames = camera_motion.frames if moving else np.zeros(1, dtype=np.int64)
    return GroundedTake(world=world, floor=floor, camera_to_world=cameras, camera_frames=camera_frames,
                        people=grounded)
