"""Calibrated cameras and triangulation, for the real-footage benchmark's 3D reference (numpy and OpenCV).

The cameras come from a Qualisys calibration file (`bench/multiview_data/calibration.qca.txt`): per camera
a position in millimetres and a rotation whose rows, with y and z negated, take world axes to OpenCV's camera
axes (x right, y down, z forward), and intrinsics in sensor units of 1/64 pixel. That reading of the file is
the one under which the four views' keypoints triangulate to one body (median reprojection 9-18 px on
1080 x 1920 pictures, bones of plausible length, feet on z = 0); the other sign and transpose conventions miss
by 50-400 px or put the person behind the cameras.
"""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SUBPIXELS = 64.0  # Qualisys intrinsics are in 1/64 pixel
TO_OPENCV_AXES = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class Camera:
    rotation: np.ndarray  # (3, 3) world -> camera, X_cam = R X_world + t
    translation: np.ndarray  # (3,) metres
    intrinsics: np.ndarray  # (3, 3) pixels
    distortion: np.ndarray  # (5,) OpenCV's k1, k2, p1, p2, k3

    def projection(self) -> np.ndarray:
        """(3, 4) pixel projection matrix of undistorted points."""
        return self.intrinsics @ np.hstack([self.rotation, self.translation[:, None]])

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 2) undistorted pixels."""
        camera = points @ self.rotation.T + self.translation
        return camera[..., :2] / camera[..., 2:] * np.diag(self.intrinsics)[:2] + self.intrinsics[:2, 2]

    def undistort(self, pixels: np.ndarray) -> np.ndarray:
        """(..., 2) pixels as filmed -> as a distortion-free camera would have seen them."""
        flat = np.ascontiguousarray(pixels.reshape(-1, 1, 2), dtype=np.float64)
        undistorted = cv2.undistortPoints(flat, self.intrinsics, self.distortion, P=self.intrinsics)
        return undistorted.reshape(pixels.shape)


def read_qualisys(path: Path) -> list[Camera]:
    """A Qualisys `.qca.txt` calibration -> its cameras, in file order."""
    cameras = []
    for element in ElementTree.parse(path).getroot().iter("camera"):
        pose, lens = element.find("transform").attrib, element.find("intrinsic").attrib
        rows = np.array([[float(pose[f"r{row}{column}"]) for column in "123"] for row in "123"])
        position = np.array([float(pose[axis]) for axis in "xyz"]) / 1000.0
        rotation = TO_OPENCV_AXES @ rows
        intrinsics = np.array([[float(lens["focalLengthU"]), 0.0, float(lens["centerPointU"])],
                               [0.0, float(lens["focalLengthV"]), float(lens["centerPointV"])],
                               [0.0, 0.0, SUBPIXELS]]) / SUBPIXELS
        distortion = np.array([float(lens[key]) for key in ("radialDistortion1", "radialDistortion2",
                                                             "tangentalDistortion1", "tangentalDistortion2",
                                                             "radialDistortion3")])
        cameras.append(Camera(rotation, -rotation @ position, intrinsics, distortion))
    return cameras


def triangulate(cameras: list[Camera], keypoints: np.ndarray, min_confidence: float = 0.3) -> np.ndarray:
    """Each point seen by at least two cameras -> its 3D position by confidence-weighted linear triangulation.

    keypoints (C, T, J, 3) pixels as filmed and confidence, one row per camera of `cameras`; points below
    `min_confidence` are not used. Returns (T, J, 3) metres in the world, NaN where fewer than two saw it."""
    undistorted = np.stack([camera.undistort(points[..., :2]) for camera, points in zip(cameras, keypoints)])
    projections = np.stack([camera.projection() for camera in cameras])  # (C, 3, 4)
    confidence = np.where(keypoints[..., 2] >= min_confidence, keypoints[..., 2], 0.0)  # (C, T, J)
    # Two rows per camera: w (u P_3 - P_1) X = 0 and w (v P_3 - P_2) X = 0.
    rows = np.concatenate([
        confidence[..., None] * (undistorted[..., axis, None] * projections[:, None, None, 2]
                                 - projections[:, None, None, axis])
        for axis in (0, 1)])  # (2C, T, J, 4)
    _, _, vt = np.linalg.svd(np.nan_to_num(np.moveaxis(rows, 0, 2)))  # (T, J, 2C, 4) -> vt (T, J, 4, 4)
    homogeneous = vt[..., -1, :]
    points = homogeneous[..., :3] / homogeneous[..., 3:]
    return np.where(((confidence > 0).sum(axis=0) >= 2)[..., None], points, np.nan)


def smoothed(points: np.ndarray, sigma_frames: float) -> np.ndarray:
    """(T, J, 3) -> the same under a Gaussian of `sigma_frames` over time (edges held): a reference for
    acceleration, whose second differences would otherwise be the triangulation's own noise."""
    reach = int(3 * sigma_frames)
    kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) / sigma_frames) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(points, ((reach, reach), (0, 0), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, len(kernel), axis=0)  # (T, J, 3, K)
    return windows @ kernel
