"""A tiny software renderer (orthographic z-buffer, per-pixel Lambert shading) to look at the body.

Back faces that show (holes or flipped triangles) are drawn red, so an orientation error is visible.
"""
from __future__ import annotations

import numpy as np

from .mesh_ops import vertex_normals

# Rotations taking body coordinates (x left, y up, z front) to view coordinates (x right, y up, z toward
# the viewer): seen from the front, from the body's left side, and from a three-quarter angle.
VIEWS = {
    "front": np.eye(3),
    "side": np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]),
    "back": np.diag([-1.0, 1.0, -1.0]),
}


def turned(yaw_degrees: float, pitch_degrees: float = 0.0) -> np.ndarray:
    """View rotation: the body turned by yaw about the vertical, then tilted by pitch toward the viewer."""
    a, b = np.radians(yaw_degrees), np.radians(pitch_degrees)
    yaw = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    pitch = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return pitch @ yaw


def render(vertices: np.ndarray, faces: np.ndarray, rotation: np.ndarray, size: int = 512,
           colors: np.ndarray | None = None, center: np.ndarray | None = None,
           extent: float | None = None) -> np.ndarray:
    """(size, size, 3) uint8 RGB image of the mesh; `extent` metres fit the image height (default: the
    mesh's own size), around `center` (default: the middle of its bounding box)."""
    view = vertices @ rotation.T
    normals = vertex_normals(vertices, faces) @ rotation.T
    low, high = view.min(axis=0), view.max(axis=0)
    center = (low + high) / 2 if center is None else np.asarray(center, float) @ rotation.T
    extent = 1.08 * float((high - low)[:2].max()) if extent is None else extent
    scale = size / extent
    px = (view[:, 0] - center[0]) * scale + size / 2
    py = size / 2 - (view[:, 1] - center[1]) * scale
    base = np.full((len(vertices), 3), 0.78) if colors is None else np.asarray(colors, float)

    tri_x, tri_y = px[faces], py[faces]
    x0 = np.clip(np.floor(tri_x.min(1)).astype(int), 0, size - 1)
    x1 = np.clip(np.ceil(tri_x.max(1)).astype(int), 0, size - 1)
    y0 = np.clip(np.floor(tri_y.min(1)).astype(int), 0, size - 1)
    y1 = np.clip(np.ceil(tri_y.max(1)).astype(int), 0, size - 1)
    widths, heights = x1 - x0 + 1, y1 - y0 + 1
    counts = widths * heights
    tri = np.repeat(np.arange(len(faces)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    sx = x0[tri] + offset % widths[tri] + 0.5
    sy = y0[tri] + offset // widths[tri] + 0.5
    # barycentric coordinates of the pixel centre in its triangle
    ax, ay = tri_x[tri, 0], tri_y[tri, 0]
    e1x, e1y = tri_x[tri, 1] - ax, tri_y[tri, 1] - ay
    e2x, e2y = tri_x[tri, 2] - ax, tri_y[tri, 2] - ay
    det = e1x * e2y - e1y * e2x
    safe = np.where(np.abs(det) < 1e-12, 1e-12, det)
    u = ((sx - ax) * e2y - (sy - ay) * e2x) / safe
    v = (e1x * (sy - ay) - e1y * (sx - ax)) / safe
    keep = (u >= -1e-6) & (v >= -1e-6) & (u + v <= 1 + 1e-6) & (np.abs(det) > 1e-12)
    tri, sx, sy, u, v, det = tri[keep], sx[keep], sy[keep], u[keep], v[keep], det[keep]
    bary = np.stack([1 - u - v, u, v], axis=1)
    corners = faces[tri]
    depth = np.einsum("ij,ij->i", bary, view[corners, 2])
    pixel = sy.astype(int) * size + sx.astype(int)
    order = np.lexsort((-depth, pixel))
    first = order[np.unique(pixel[order], return_index=True)[1]]

    bary, corners, facing = bary[first], corners[first], det[first] < 0  # screen y points down
    normal = np.einsum("ij,ijk->ik", bary, normals[corners])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    light = np.array([-0.35, 0.45, 0.82])
    light /= np.linalg.norm(light)
    shade = 0.28 + 0.62 * np.clip(normal @ light, 0, 1) + 0.12 * np.clip(normal[:, 2], 0, 1) ** 8
    color = np.einsum("ij,ijk->ik", bary, base[corners]) * shade[:, None]
    color[~facing] = [0.85, 0.1, 0.1]
    image = np.full((size * size, 3), 0.16)
    image[pixel[first]] = color
    return (np.clip(image, 0, 1) * 255).astype(np.uint8).reshape(size, size, 3)
