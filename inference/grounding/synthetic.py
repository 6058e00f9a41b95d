"""Synthetic clips with a known answer, for the tests and the benchmark: a body walking an arc with truly
planted feet on the floor Z = 0, filmed by a tilted (optionally panning) camera, and the background such a
camera sees.

The gait is built so that the feet cannot slide: each foot is placed first (planted flat on the floor for
part of each cycle, then swung on an arc to its next plant), the pelvis follows its path as high as the
planted legs reach, and the legs are posed onto the ankles by two-bone IK. The skeleton is the bundled
stand-in body's rest skeleton (the same 24-joint tree as SMPL).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from contract.skeleton import PARENTS
from contract.smpl_file import read_body_model

from .foot_lock import LEGS, global_rotations
from .leg_ik import chain_turns, two_bone_ik
from .rotations import axis_rotation, normalized
from .take import PersonEstimate

LEFT_ANKLE, LEFT_TOE = 7, 10
TOE_CLEARANCE_M = 0.02  # the toe joint's height above the sole of a flat foot
WORLD_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class WalkingClip:
    """A walk in the world (Z up, floor at Z = 0) and the camera that films it."""

    frames: np.ndarray  # (n,) source frame indices
    fps: float
    pose_rotmat_world: np.ndarray  # (n, 24, 3, 3); [:, 0] the orientation in the world
    joints_world: np.ndarray  # (n, 24, 3)
    planted: np.ndarray  # (n, 4) bool: the foot point is on its stance foot (FOOT_POINT_NAMES order)
    world_from_camera: np.ndarray  # (n, 3, 3) the camera's rotation per frame (OpenCV camera axes)
    camera_centre: np.ndarray  # (3,) fixed: a static or purely rotating (panning) camera
    focal_px: float
    image_size: tuple[int, int]  # (width, height)
    rest_joints: np.ndarray  # (24, 3) the skeleton's rest joints (body frame)

    @property
    def joints_camera(self) -> np.ndarray:
        """(n, 24, 3) the joints in each frame's camera frame."""
        return np.einsum("nji,nkj->nki", self.world_from_camera, self.joints_world - self.camera_centre)

    @property
    def pose_rotmat_camera(self) -> np.ndarray:
        """(n, 24, 3, 3) rotations with [:, 0] in each frame's camera frame."""
        pose = self.pose_rotmat_world.copy()
        pose[:, 0] = np.swapaxes(self.world_from_camera, -1, -2) @ pose[:, 0]
        return pose


def standin_rest_joints() -> np.ndarray:
    """(24, 3) the stand-in body's rest joints at zero shape (metres, body frame)."""
    body = read_body_model(None)
    return np.asarray(body.J_regressor, dtype=np.float64) @ np.asarray(body.v_template, dtype=np.float64)


def _heading_turn(heading: np.ndarray) -> np.ndarray:
    """Heading (...,) radians -> (..., 3, 3) body-to-world rotation of an upright body walking that way.

    Heading 0 walks along world +X; the body's x (left) goes to +Y, its y (up) to +Z, its z (front) to +X.
    """
    upright = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return axis_rotation(WORLD_UP, heading) @ upright


def _pelvis_path(times: np.ndarray, speed: float, turn_rate: float) -> np.ndarray:
    """(n,) seconds -> (n, 2) floor position of a pelvis walking from the origin along +X, turning left at
    `turn_rate` rad/s (an arc of radius speed / turn_rate)."""
    if abs(turn_rate) < 1e-9:
        return np.stack([speed * times, np.zeros_like(times)], axis=-1)
    radius = speed / turn_rate
    return np.stack([radius * np.sin(turn_rate * times), radius * (1.0 - np.cos(turn_rate * times))], axis=-1)


@dataclass(frozen=True)
class Gait:
    """Timing and size of the synthetic walk."""

    cycle_s: float = 1.0  # one left and one right step
    speed: float = 0.8  # metres per second along the path
    turn_deg_per_s: float = 12.0
    stance_fraction: float = 0.6  # share of a cycle each foot is planted (> 1/2: double support)
    pelvis_height: float = 0.93  # at most; lowered where the planted legs could not reach
    foot_lift: float = 0.10  # highest point of a swinging ankle above its planted height


def _ankle_track(times: np.ndarray, offset: float, gait: Gait, lateral: float,
                 planted_height: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One foot's ankle (n, 3) and foot heading (n,) over time, and (n,) bool planted.

    Stance k spans cycles [k + offset, k + offset + stance_fraction); the foot lands where the hip will be at
    mid-stance, and between plants swings on a smooth arc.
    """
    turn = np.radians(gait.turn_deg_per_s)
    cycles = times / gait.cycle_s - offset
    step = np.floor(cycles)
    within = cycles - step
    planted = within < gait.stance_fraction

    def spot(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        middle = (k + offset + gait.stance_fraction / 2) * gait.cycle_s
        heading = turn * middle
        side = np.stack([-np.sin(heading), np.cos(heading)], axis=-1) * lateral
        return _pelvis_path(middle, gait.speed, turn) + side, heading

    here, here_heading = spot(step)
    there, there_heading = spot(step + 1)
    swing = np.clip((within - gait.stance_fraction) / (1 - gait.stance_fraction), 0.0, 1.0)
    blend = (swing * swing * (3 - 2 * swing))[:, None]
    xy = here + blend * (there - here)
    z = planted_height + gait.foot_lift * np.sin(np.pi * swing)
    heading = here_heading + blend[:, 0] * (there_heading - here_heading)
    return np.concatenate([xy, z[:, None]], axis=-1), heading, planted


def _posed_at_origin(pose: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Local rotations (n, 24, 3, 3), rest joints (24, 3) -> joints (n, 24, 3) with the pelvis at the origin."""
    glob = global_rotations(pose)
    joints = np.zeros(pose.shape[:2] + (3,))
    for joint, parent in enumerate(PARENTS):
        if parent >= 0:
            joints[:, joint] = joints[:, parent] + glob[:, parent] @ (rest[joint] - rest[parent])
    return joints


def walk(rest: np.ndarray, num_frames: int = 90, fps: float = 30.0,
         gait: Gait = Gait()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A walk on an arc -> (local rotations (n, 24, 3, 3), world joints (n, 24, 3), planted (n, 4) bool).

    Feet are placed first (planted, then swung to the next plant), the pelvis follows the path as high as the
    planted legs reach, and each leg is posed onto its ankle by two-bone IK, knees bending forward.
    """
    times = np.arange(num_frames) / fps
    turn = np.radians(gait.turn_deg_per_s)
    orient = _heading_turn(turn * times)
    pose = np.tile(np.eye(3), (num_frames, 24, 1, 1))
    pose[:, 0] = orient
    ankle_height = rest[LEFT_ANKLE, 1] - rest[LEFT_TOE, 1] + TOE_CLEARANCE_M  # a flat foot's ankle height
    chains = [chain for chain, _ in LEGS]  # hip, knee, ankle, toe of the left and the right leg
    legs = [_ankle_track(times, offset, gait, rest[hip, 0] - rest[0, 0], ankle_height)
            for (hip, _, _, _), offset in zip(chains, (0.0, 0.5))]
    pelvis = np.concatenate([_pelvis_path(times, gait.speed, turn), np.full((num_frames, 1), gait.pelvis_height)],
                            axis=-1)
    for (hip, knee, ankle, _), (ankles, _, planted) in zip(chains, legs):
        reach = 0.99 * (np.linalg.norm(rest[knee] - rest[hip]) + np.linalg.norm(rest[ankle] - rest[knee]))
        hip_xy = pelvis[:, :2] + (orient @ (rest[hip] - rest[0]))[:, :2]
        flat = np.linalg.norm(ankles[:, :2] - hip_xy, axis=-1)
        highest = ankles[:, 2] + np.sqrt(np.maximum(reach**2 - flat**2, 0.0)) - (rest[hip, 1] - rest[0, 1])
        pelvis[:, 2] = np.where(planted, np.minimum(pelvis[:, 2], highest), pelvis[:, 2])
    for (hip, knee, ankle, _), (ankles, heading, _) in zip(chains, legs):
        hips = pelvis + orient @ (rest[hip] - rest[0])
        # The rest knee bows sideways; bent a little forward, it sets the plane the knee bends in.
        forward_knee = axis_rotation(orient[:, :, 0], np.radians(-10.0)) @ orient
        knees = hips + forward_knee @ (rest[knee] - rest[hip])
        rest_ankles = knees + orient @ (rest[ankle] - rest[knee])
        new_knee, new_ankle = two_bone_ik(hips, knees, rest_ankles, ankles, orient[:, :, 2])
        thigh_turn, shin_turn = chain_turns(hips, knees, rest_ankles, hips, new_knee, new_ankle)
        thigh_rotation, shin_rotation = thigh_turn @ forward_knee, shin_turn @ orient
        pose[:, hip] = np.swapaxes(orient, -1, -2) @ thigh_rotation
        pose[:, knee] = np.swapaxes(thigh_rotation, -1, -2) @ shin_rotation
        pose[:, ankle] = np.swapaxes(shin_rotation, -1, -2) @ _heading_turn(heading)  # the foot flat
    joints = _posed_at_origin(pose, rest) + pelvis[:, None]
    planted = np.stack([legs[0][2], legs[0][2], legs[1][2], legs[1][2]], axis=1)
    return pose, joints, planted


def look_at(centre: np.ndarray, targets: np.ndarray, roll_deg: np.ndarray | float = 0.0) -> np.ndarray:
    """Camera centre (3,), points to look at (n, 3), roll (n,) or scalar -> (n, 3, 3) world_from_camera
    rotations in OpenCV camera axes (x right, y down, z forward), the image's x axis level before the roll."""
    forward = normalized(np.asarray(targets, dtype=np.float64) - centre)
    right = normalized(np.cross(forward, WORLD_UP))
    down = np.cross(forward, right)
    level = np.stack([right, down, forward], axis=-1)
    return level @ axis_rotation(np.array([0.0, 0.0, 1.0]), np.radians(np.broadcast_to(roll_deg, len(forward))))


def film(num_frames: int = 90, fps: float = 30.0, panning: bool = False, focal_px: float = 800.0,
         image_size: tuple[int, int] = (640, 480), camera_height: float = 2.2, distance: float = 6.5,
         roll_deg: float = 4.0) -> WalkingClip:
    """A walk filmed from the side by a camera looking down at it: static (aimed at the middle of the path)
    or panning (following the walker, with a slow handheld roll wobble about the same centre)."""
    rest = standin_rest_joints()
    pose, joints, planted = walk(rest, num_frames, fps)
    path = joints[:, 0]
    middle = path.mean(axis=0)
    centre = middle + np.array([0.0, -distance, camera_height - middle[2]])
    aim = middle + np.array([0.0, 0.0, -0.3])
    if panning:
        targets = path + np.array([0.0, 0.0, -0.3])
        wobble = roll_deg + 1.5 * np.sin(np.arange(num_frames) / fps * 2.0)
    else:
        targets, wobble = np.tile(aim, (num_frames, 1)), np.full(num_frames, roll_deg)
    return WalkingClip(frames=np.arange(num_frames), fps=fps, pose_rotmat_world=pose, joints_world=joints,
                       planted=planted, world_from_camera=look_at(centre, targets, wobble),
                       camera_centre=centre, focal_px=focal_px, image_size=image_size, rest_joints=rest)


def noisy_estimate(clip: WalkingClip, depth_jitter_m: float = 0.03, rotation_noise_deg: float = 2.0,
                   seed: int = 0) -> PersonEstimate:
    """The clip's body as a monocular estimator might return it: every joint rotation off by a random turn
    (sigma `rotation_noise_deg`) and the body jittering along the viewing ray (sigma `depth_jitter_m`), the
    error a single image leaves most open. Bone lengths stay those of the skeleton, as with a real body model.
    """
    rng = np.random.default_rng(seed)
    n = len(clip.frames)
    pose = clip.pose_rotmat_world @ axis_rotation(rng.normal(size=(n, 24, 3)),
                                                  np.radians(rng.normal(0.0, rotation_noise_deg, (n, 24))))
    pelvis_world = clip.joints_world[:, 0]
    ray = normalized(pelvis_world - clip.camera_centre)
    pelvis_world = pelvis_world + ray * rng.normal(0.0, depth_jitter_m, (n, 1))
    world = _posed_at_origin(pose, clip.rest_joints) + pelvis_world[:, None]
    joints = np.einsum("nji,nkj->nki", clip.world_from_camera, world - clip.camera_centre)
    pose[:, 0] = np.swapaxes(clip.world_from_camera, -1, -2) @ pose[:, 0]
    return PersonEstimate(frames=clip.frames.copy(), pose_rotmat=pose, cam_t=joints[:, 0] - clip.rest_joints[0],
                          joints3d=joints)


def intrinsics(focal_px: float, image_size: tuple[int, int]) -> np.ndarray:
    """(3, 3) pinhole matrix, principal point at the image centre (as the result file's camera)."""
    return np.array([[focal_px, 0.0, image_size[0] / 2.0], [0.0, focal_px, image_size[1] / 2.0], [0.0, 0.0, 1.0]])


def render_background(clip: WalkingClip, seed: int = 0, margin: int = 700,
                      person_pad_px: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """What the clip's camera sees -> (frames (n, H, W) uint8 grey, person masks (n, H, W) bool).

    The background is a random blocky texture on the first camera's image plane, extended by `margin` pixels
    each side; a rotating camera sees it through the homography K R K^-1 (exact for any scene depth). The
    person is a dark box over the projected joints, moving against the background, and is what the mask covers.
    """
    width, height = clip.image_size
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, ((height + 2 * margin) // 6, (width + 2 * margin) // 6), dtype=np.uint8)
    texture = cv2.GaussianBlur(cv2.resize(blocks, (width + 2 * margin, height + 2 * margin),
                                          interpolation=cv2.INTER_NEAREST), (3, 3), 0)
    k = intrinsics(clip.focal_px, clip.image_size)
    from_canvas = np.array([[1.0, 0.0, -margin], [0.0, 1.0, -margin], [0.0, 0.0, 1.0]])
    camera = clip.joints_camera
    frames = np.empty((len(clip.frames), height, width), np.uint8)
    masks = np.zeros_like(frames, dtype=bool)
    for i, turn in enumerate(np.swapaxes(clip.world_from_camera, -1, -2) @ clip.world_from_camera[0]):
        warp = k @ turn @ np.linalg.inv(k) @ from_canvas
        frames[i] = cv2.warpPerspective(texture, warp, (width, height), flags=cv2.INTER_LINEAR)
        pixels = clip.focal_px * camera[i, :, :2] / camera[i, :, 2:] + np.array(clip.image_size) / 2.0
        low = np.floor(pixels.min(axis=0) - person_pad_px).astype(int).clip(0)
        high = np.ceil(pixels.max(axis=0) + person_pad_px).astype(int)
        frames[i, low[1]:high[1], low[0]:high[0]] = 30
        masks[i, low[1]:high[1], low[0]:high[0]] = True
    return frames, masks
