"""Skinning weights by bone heat: each joint's influence diffuses over the surface from the skin its bone
sees nearest, so weights fall off smoothly across every joint (Baran & Popovic's idea, written from scratch).

Per joint j: solve (-Laplacian + H) w_j = H p_j on the mesh, with p_j = 1 where bone j is the nearest bone
visible from the vertex (the straight path to it stays inside the body) and H = 1 / distance^2 to that bone,
so a vertex follows its own bone firmly and blends with its neighbours over about a limb radius.
"""
from __future__ import annotations

import numpy as np

from .body_shape import body_field
from .mesh_ops import unique_edges, vertex_normals
from .proportions import JOINT_NAMES, PARENTS, rest_joints, segment_ends
from .sdf import Part

_MIN_WEIGHT = 0.005


def bone_segments() -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per joint, the segments its bone is made of: joint -> segment end, and for the pelvis and spine3
    also the links to their side children (hips, collars), which they carry."""
    joints, ends = rest_joints(), segment_ends()
    segments = [[(joints[j], ends[j])] for j in range(len(joints))]
    for name, extra in (("pelvis", ("left_hip", "right_hip")), ("spine3", ("left_collar", "right_collar"))):
        j = JOINT_NAMES.index(name)
        segments[j] += [(joints[j], joints[JOINT_NAMES.index(child)]) for child in extra]
    return segments


def _closest_on_segment(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((points - a) @ ab) / float(ab @ ab), 0.0, 1.0)
    return a + t[:, None] * ab


def bone_distances(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """points (N, 3) -> distance to each joint's bone (N, 24) and the closest bone point (N, 24, 3)."""
    closest = np.zeros((len(points), len(PARENTS), 3))
    distance = np.full((len(points), len(PARENTS)), np.inf)
    for j, segments in enumerate(bone_segments()):
        for a, b in segments:
            point = _closest_on_segment(points, a, b)
            d = np.linalg.norm(points - point, axis=1)
            better = d < distance[:, j]
            distance[better, j] = d[better]
            closest[better, j] = point[better]
    return distance, closest


def nearest_visible_bone(vertices: np.ndarray, faces: np.ndarray, parts: list[Part],
                         candidates: int = 4, samples: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Per vertex: the index of the nearest bone reachable in a straight line through the body, and the
    distance to it (the nearest bone at all where none of the closest `candidates` is reachable)."""
    distance, closest = bone_distances(vertices)
    start = vertices - 0.002 * vertex_normals(vertices, faces)  # just under the skin
    order = np.argsort(distance, axis=1, kind="stable")[:, :candidates]
    rows = np.arange(len(vertices))
    chosen = order[:, 0].copy()
    found = np.zeros(len(vertices), bool)
    fractions = np.linspace(0.0, 1.0, samples)
    for rank in range(candidates):
        bone = order[:, rank]
        todo = ~found
        target = closest[rows[todo], bone[todo]]
        path = start[todo, None] + fractions[None, :, None] * (target - start[todo])[:, None]
        inside = body_field(path.reshape(-1, 3), parts).reshape(path.shape[:2]).max(axis=1) < 0.001
        hit = rows[todo][inside]
        chosen[hit] = bone[hit]
        found[hit] = True
    return chosen, distance[rows, chosen]


class _EdgeLaplacian:
    """x -> sum over neighbours j of (x_i - x_j) / |e_ij|^2, a symmetric positive semi-definite operator."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        edges = unique_edges(faces)
        both = np.concatenate([edges, edges[:, ::-1]])
        order = np.lexsort((both[:, 1], both[:, 0]))
        self.source, self.target = both[order, 0], both[order, 1]
        self.weight = 1.0 / ((vertices[self.source] - vertices[self.target]) ** 2).sum(axis=1)
        self.starts = np.searchsorted(self.source, np.arange(len(vertices)))
        self.diagonal = np.add.reduceat(self.weight, self.starts)
        self.degree = np.diff(np.append(self.starts, len(self.source)))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        spread = np.add.reduceat(self.weight[:, None] * x[self.target], self.starts, axis=0)
        return self.diagonal[:, None] * x - spread


def _conjugate_gradient(apply, rhs: np.ndarray, diagonal: np.ndarray, iterations: int = 2000,
                        tolerance: float = 1e-8) -> np.ndarray:
    """Solve A X = rhs column by column at once (A symmetric positive definite, Jacobi-preconditioned)."""
    x = np.zeros_like(rhs)
    residual = rhs - apply(x)
    z = residual / diagonal[:, None]
    direction = z.copy()
    rz = (residual * z).sum(axis=0)
    scale = np.maximum(np.linalg.norm(rhs, axis=0), 1e-30)
    for _ in range(iterations):
        ad = apply(direction)
        alpha = rz / np.maximum((direction * ad).sum(axis=0), 1e-300)
        x += alpha * direction
        residual -= alpha * ad
        if (np.linalg.norm(residual, axis=0) / scale).max() < tolerance:
            break
        z = residual / diagonal[:, None]
        rz_new = (residual * z).sum(axis=0)
        direction = z + (rz_new / np.maximum(rz, 1e-300)) * direction
        rz = rz_new
    return x


def skinning_weights(vertices: np.ndarray, faces: np.ndarray, parts: list[Part]) -> np.ndarray:
    """(V, 24) float64 weights, rows summing to 1, each vertex led by its own bone's joint."""
    bone, distance = nearest_visible_bone(vertices, faces, parts)
    laplacian = _EdgeLaplacian(vertices, faces)
    # The continuous -Laplacian is about 4 / degree times the edge operator; scaled back to keep symmetry.
    heat = (laplacian.degree / 4.0) / np.maximum(distance, 0.01) ** 2
    rhs = np.zeros((len(vertices), len(PARENTS)))
    rhs[np.arange(len(vertices)), bone] = heat
    weights = _conjugate_gradient(lambda x: laplacian(x) + heat[:, None] * x, rhs, laplacian.diagonal + heat)
    weights[weights < _MIN_WEIGHT] = 0.0
    return weights / weights.sum(axis=1, keepdims=True)
