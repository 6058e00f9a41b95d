"""What a clip's ground truth holds, computed from the posed body and the camera, and its file.

The person's mask is the silhouette of the posed mesh (every triangle projected and filled), the exact
region the rendered body covers. A joint is visible when it is inside the image and the line of sight from
the camera to it crosses the body's surface at most once (only the skin of its own limb); more crossings
mean another body part is in front of it.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from mathutils import Vector
from mathutils.bvhtree import BVHTree

from contract.skeleton import JOINT_NAMES

from .body_motion import PosedBody
from .camera_path import CameraTrack

SUBPIXEL_BITS = 3  # fillPoly's fixed-point precision: 1/8 pixel
TRUTH_VERSION = 1


def silhouettes(body: PosedBody, camera: CameraTrack) -> np.ndarray:
    """(T, H, W) bool: the pixels the posed mesh covers in each frame."""
    in_camera = camera.to_camera(body.vertices)
    masks = np.zeros((len(in_camera), camera.height, camera.width), np.uint8)
    for frame, points in enumerate(in_camera):
        triangles = body.faces[(points[body.faces, 2] > 0.05).all(axis=1)]
        pixels = np.round(camera.project(points) * (1 << SUBPIXEL_BITS)).astype(np.int32)
        cv2.fillPoly(masks[frame], list(pixels[triangles]), 1, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
    return masks.astype(bool)


def _surface_crossings(tree: BVHTree, origin: np.ndarray, target: np.ndarray) -> int:
    """How often the segment origin -> target passes through the mesh's surface."""
    direction = target - origin
    length = float(np.linalg.norm(direction))
    step = Vector(direction / length)
    start, travelled, crossings = Vector(origin), 0.0, 0
    while crossings < 8:
        hit, _, _, distance = tree.ray_cast(start, step, length - travelled)
        if hit is None:
            return crossings
        crossings += 1
        travelled += distance + 1e-5
        start = hit + step * 1e-5
    return crossings


def joint_visibility(body: PosedBody, camera: CameraTrack, joints_2d: np.ndarray) -> np.ndarray:
    """(T, 24) bool: in the image and not hidden behind another part of the body."""
    inside = ((joints_2d >= 0) & (joints_2d < [camera.width, camera.height])).all(axis=-1)
    visible = np.zeros_like(inside)
    faces = body.faces.tolist()
    for frame in range(len(body.joints)):
        tree = BVHTree.FromPolygons(body.vertices[frame].tolist(), faces)
        for joint in np.flatnonzero(inside[frame]):
            visible[frame, joint] = _surface_crossings(tree, camera.position[frame], body.joints[frame, joint]) <= 1
    return visible


def write_truth(path: Path, body: PosedBody, camera: CameraTrack, fps: float, description: dict) -> None:
    """The clip's truth (.npz, no pickles): see bench/quality_data/README.md for every key."""
    joints_camera = camera.to_camera(body.joints)
    joints_2d = camera.project(joints_camera)
    mask = silhouettes(body, camera)
    meta = {"format": "pare-quality-truth", "version": TRUTH_VERSION, "fps": fps, "image_width": camera.width,
            "image_height": camera.height, "focal_length_px": camera.focal_px, "joint_names": list(JOINT_NAMES),
            **description}
    np.savez_compressed(
        path, meta=np.array(json.dumps(meta)),
        joints_world=body.joints.astype(np.float32), joints_camera=joints_camera.astype(np.float32),
        joints_2d=joints_2d.astype(np.float32), visible=joint_visibility(body, camera, joints_2d),
        intrinsics=camera.intrinsics.astype(np.float32), camera_rotation=camera.rotation.astype(np.float32),
        camera_translation=camera.translation.astype(np.float32), camera_position=camera.position.astype(np.float32),
        pose_rotmat=body.rotations.astype(np.float32), betas=body.betas.astype(np.float32),
        mask_bits=np.packbits(mask, axis=-1))

