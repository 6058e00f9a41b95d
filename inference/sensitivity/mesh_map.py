"""The sensitivity mesh: each position's error carried onto the body vertices the occluder covers.

A vertex is covered by a position when it faces the camera (its normal points towards the camera's centre)
and its projection falls inside the occluder's square; its value is the mean error over the positions that
cover it (NaN where none does). Facing is a stand-in for visibility: a vertex hidden behind another body part
but facing the camera also counts, which on a person is rare and only in folded poses.
"""
from __future__ import annotations

import numpy as np

from ..camera import project_points


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) vertices, (F, 3) triangles -> (V, 3) unit normals, each the area-weighted mean of its faces'.

    The body models' triangles wind counter-clockwise seen from outside, so the normals point outwards."""
    corners = vertices[faces]  # (F, 3, 3)
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])  # length = 2 area
    normals = np.zeros_like(vertices, dtype=np.float64)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.where(length > 0, length, 1.0)


def facing_camera(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V,) bool: the vertex normal points towards the camera at the origin (normal . vertex < 0)."""
    return np.einsum("vc,vc->v", vertex_normals(vertices, faces), vertices) < 0


POSITIONS_PER_CHUNK = 256  # bounds the (positions x vertices) coverage matrix to a few MB


def vertex_means(errors: np.ndarray, vertices: np.ndarray, faces: np.ndarray, corners: np.ndarray, patch_px: int,
                 focal_px: float, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(P, K) errors per position (K kinds: the mean, chosen joints), (V, 3) camera-frame vertices of the
    unoccluded body, (F, 3) triangles, (P, 2) occluder corners -> (K, V) per-vertex mean over the covering
    positions (NaN where none), (V,) int32 number of covering positions.

    Position p covers vertex v when v faces the camera, lies in front of it and projects to (u, w) with
    x0 <= u < x0 + patch_px and y0 <= w < y0 + patch_px (pixel x spans [x, x + 1)). Positions whose estimate
    was lost (NaN errors) cover nothing."""
    pixels = project_points(vertices, focal_px, *image_size)  # (V, 2)
    seen = facing_camera(vertices, faces) & (vertices[:, 2] > 0)
    usable = np.isfinite(errors).all(axis=1)
    errors, corners = errors[usable], corners[usable].astype(np.float64)
    totals = np.zeros((errors.shape[1], len(vertices)))
    count = np.zeros(len(vertices))
    for start in range(0, len(corners), POSITIONS_PER_CHUNK):
        low = corners[start:start + POSITIONS_PER_CHUNK, None, :]
        cover = (((pixels[None] >= low) & (pixels[None] < low + patch_px)).all(axis=-1) & seen).astype(np.float64)
        totals += errors[start:start + POSITIONS_PER_CHUNK].T @ cover
        count += cover.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(count > 0, totals / count, np.nan)
    return means, count.astype(np.int32)
