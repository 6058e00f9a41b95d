"""The stand-in's triangle mesh: sample the implicit body, extract, simplify to SMPL's size, tidy up.

The result is closed and genus 0 (checked), so with SMPL's 6890 vertices it also has SMPL's 13776
triangles, and every consumer that expects SMPL-sized arrays takes it unchanged.
"""
from __future__ import annotations

import numpy as np

from .body_shape import body_field, body_parts, sample_grid
from .decimate import decimate
from .isosurface import marching_tetrahedra
from .mesh_ops import compact, components, face_normals, neighbour_mean, topology, unique_edges, vertex_normals
from .sdf import Part

GRID_SPACING_M = 0.006
NUM_VERTICES = 6890


def project_to_surface(points: np.ndarray, parts: list[Part], steps: int = 3) -> np.ndarray:
    """Move points onto the zero level set along the field's gradient (Newton steps, numeric gradient)."""
    eps = 1e-4
    offsets = np.eye(3) * eps
    for _ in range(steps):
        value = body_field(points, parts)
        gradient = np.stack([(body_field(points + o, parts) - body_field(points - o, parts)) / (2 * eps)
                             for o in offsets], axis=1)
        norm2 = np.maximum((gradient ** 2).sum(axis=1), 1e-6)
        step = (value / norm2)[:, None] * gradient
        length = np.linalg.norm(step, axis=1, keepdims=True)
        points = points - step * np.minimum(1.0, 0.004 / np.maximum(length, 1e-12))  # at most 4 mm a step
    return points


def relax(vertices: np.ndarray, faces: np.ndarray, parts: list[Part], iterations: int = 4,
          rate: float = 0.5) -> np.ndarray:
    """Even out the triangles: slide each vertex toward its neighbours' mean within the tangent plane,
    then put it back on the surface."""
    edges = unique_edges(faces)
    for _ in range(iterations):
        normals = vertex_normals(vertices, faces)
        move = neighbour_mean(vertices, edges, len(vertices)) - vertices
        move -= normals * (move * normals).sum(axis=1, keepdims=True)
        vertices = _without_flips(vertices, project_to_surface(vertices + rate * move, parts), faces)
    return vertices


def _without_flips(before: np.ndarray, after: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """`after`, with the corners of every triangle that turned by more than ~70 degrees put back."""
    old_normals = face_normals(before, faces)
    for _ in range(20):
        turned = (face_normals(after, faces) * old_normals).sum(axis=1) < 0.35
        if not turned.any():
            return after
        corners = np.unique(faces[turned])
        after = after.copy()
        after[corners] = before[corners]
    return before


def detail_importance(points: np.ndarray) -> np.ndarray:
    """How much surface error counts where, (N,): the face, the hands and the feet carry small features
    that matter for the look (and for keypoints), so they keep more vertices, as on SMPL's mesh."""
    x, y, z = points.T
    importance = np.ones(len(points))
    importance[y > 0.29] = 4.0  # head
    importance[(y > 0.29) & (z > 0.03)] = 20.0  # face
    importance[np.abs(x) > 0.68] = 8.0  # hands
    importance[y < -1.08] = 2.0  # feet
    return importance


def build_mesh(spacing: float = GRID_SPACING_M, num_vertices: int = NUM_VERTICES,
               parts: list[Part] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """-> vertices (num_vertices, 3) float64 and outward triangles (2 num_vertices - 4, 3) int64."""
    parts = parts or body_parts()
    values, origin = sample_grid(spacing, parts)
    vertices, faces = marching_tetrahedra(values, origin, spacing)
    faces = faces[components(faces)[0]]  # stray specks of the sampled field, if any
    vertices, faces = compact(vertices, faces)
    vertices, faces = decimate(vertices, faces, num_vertices, importance=detail_importance(vertices))
    vertices = relax(vertices, faces, parts)
    shape = topology(faces)
    if not shape["closed_oriented"] or shape["euler"] != 2 or shape["components"] != 1:
        raise RuntimeError(f"the body mesh is not a closed genus-0 surface: {shape}")
    return vertices, faces
