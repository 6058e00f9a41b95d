"""Mesh simplification by quadric-error edge collapses (Garland & Heckbert's idea, written from scratch).

Each vertex carries the summed squared distance to the planes of its original triangles; the edge whose
merged vertex would move the surface least goes first. A collapse is refused where it would change the
topology (the link condition), fold a triangle over or make a sliver, so a closed genus-0 input stays a
closed genus-0 surface, whose face count is then fixed by its vertex count: F = 2 V - 4.
"""
from __future__ import annotations

import heapq

import numpy as np

from .mesh_ops import face_normals, unique_edges

_MIN_NORMAL_COS = 0.3  # a collapse may turn no surviving triangle by more than about 72 degrees
_MIN_QUALITY = 0.12  # nor leave one thinner than this (1 = equilateral)


def _plane_quadrics(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 4, 4) per vertex: sum over its triangles of area * p p^T for the plane p = (n, -n.x)."""
    normals = face_normals(vertices, faces, unit=False)
    area = np.linalg.norm(normals, axis=1) / 2
    unit = normals / np.maximum(2 * area, 1e-20)[:, None]
    plane = np.concatenate([unit, -np.einsum("ij,ij->i", unit, vertices[faces[:, 0]])[:, None]], axis=1)
    per_face = area[:, None, None] * plane[:, :, None] * plane[:, None, :]
    quadrics = np.zeros((len(vertices), 4, 4))
    for corner in range(3):
        np.add.at(quadrics, faces[:, corner], per_face)
    # A weak pull toward each original position keeps the 3x3 systems solvable on flat regions.
    weight = 1e-3 * area.mean()
    point = np.zeros((len(vertices), 4, 4))
    point[:, :3, :3] = np.eye(3)
    point[:, :3, 3] = point[:, 3, :3] = -vertices
    point[:, 3, 3] = np.einsum("ij,ij->i", vertices, vertices)
    return quadrics + weight * point


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (n, 3) arrays (np.cross is slow on many tiny calls)."""
    return np.stack([a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1], a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
                     a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], axis=1)


def _normals_and_quality(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """points (n, 3, 3) -> unit normals (n, 3) and 4 sqrt(3) area / sum of squared edge lengths (n,),
    which is 1 for an equilateral triangle and 0 for a degenerate one."""
    e0, e1, e2 = points[:, 1] - points[:, 0], points[:, 2] - points[:, 1], points[:, 0] - points[:, 2]
    normal = _cross(e0, -e2)
    twice_area = np.sqrt((normal * normal).sum(axis=1))
    squares = (e0 * e0).sum(axis=1) + (e1 * e1).sum(axis=1) + (e2 * e2).sum(axis=1)
    unit = normal / np.maximum(twice_area, 1e-30)[:, None]
    return unit, 2 * np.sqrt(3) * twice_area / np.maximum(squares, 1e-30)


class _Collapser:
    def __init__(self, vertices: np.ndarray, faces: np.ndarray, length_weight: float,
                 importance: np.ndarray | None) -> None:
        self.pos = vertices.astype(np.float64).copy()
        self.faces = faces.astype(np.int64).copy()
        self.face_alive = np.ones(len(faces), bool)
        self.quadric = _plane_quadrics(self.pos, self.faces)
        if importance is not None:
            self.quadric *= np.asarray(importance, np.float64)[:, None, None]
        self.vertex_faces: list[set[int]] = [set() for _ in range(len(vertices))]
        for index, face in enumerate(self.faces.tolist()):
            for vertex in face:
                self.vertex_faces[vertex].add(index)
        self.stamp = [0] * len(vertices)
        self.alive_count = len(vertices)
        area = np.linalg.norm(face_normals(self.pos, self.faces, unit=False), axis=1).mean() / 2
        self.length_weight = length_weight * area  # prefers short edges: keeps triangles even
        edges = unique_edges(self.faces)
        costs, targets = self._costs(edges[:, 0], edges[:, 1])
        self.target = {}
        self.heap = []
        for (u, v), cost, target in zip(edges.tolist(), costs.tolist(), targets):
            self.heap.append((cost, u, v, 0, 0))
            self.target[(u, v)] = target
        heapq.heapify(self.heap)

    def _costs(self, us: np.ndarray, vs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cost and best merged position for each edge (u, v)."""
        q = self.quadric[us] + self.quadric[vs]
        target = np.linalg.solve(q[:, :3, :3], -q[:, :3, 3][..., None])[..., 0]
        mid = (self.pos[us] + self.pos[vs]) / 2
        length2 = ((self.pos[us] - self.pos[vs]) ** 2).sum(axis=1)
        far = ((target - mid) ** 2).sum(axis=1) > length2  # an unstable optimum: stay on the edge
        target[far] = mid[far]
        homogeneous = np.concatenate([target, np.ones((len(target), 1))], axis=1)
        cost = np.einsum("ni,nij,nj->n", homogeneous, q, homogeneous)
        return cost + self.length_weight * length2, target

    def _neighbours(self, vertex: int) -> set[int]:
        around = {v for f in self.vertex_faces[vertex] for v in self.faces[f].tolist()}
        around.discard(vertex)
        return around

    def _acceptable(self, u: int, v: int, candidates: list[np.ndarray]) -> np.ndarray | None:
        """The first candidate position for the merged vertex that keeps the mesh valid, or None."""
        shared = self.vertex_faces[u] & self.vertex_faces[v]
        if len(shared) != 2:
            return None
        opposite = {w for f in shared for w in self.faces[f].tolist()} - {u, v}
        if self._neighbours(u) & self._neighbours(v) != opposite:
            return None  # the link condition: collapsing would pinch the surface
        moved = sorted((self.vertex_faces[u] | self.vertex_faces[v]) - shared)
        corners = self.faces[moved]
        before = self.pos[corners]
        old_normal, old_quality = _normals_and_quality(before)
        floor = min(_MIN_QUALITY, float(old_quality.min()))
        merged = (corners == u) | (corners == v)
        degenerate = old_quality < 1e-6  # no direction to keep: any new one will do
        for target in candidates:
            after = before.copy()
            after[merged] = target
            normal, quality = _normals_and_quality(after)
            turn = (normal * old_normal).sum(axis=1)
            if (degenerate | (turn >= _MIN_NORMAL_COS)).all() and quality.min() >= floor:
                return target
        return None

    def _collapse(self, u: int, v: int, target: np.ndarray) -> None:
        shared = self.vertex_faces[u] & self.vertex_faces[v]
        for f in shared:
            self.face_alive[f] = False
            for w in self.faces[f].tolist():
                self.vertex_faces[w].discard(f)
        for f in self.vertex_faces[v]:
            row = self.faces[f]
            row[row == v] = u
        self.vertex_faces[u] |= self.vertex_faces[v]
        self.vertex_faces[v] = set()
        self.pos[u] = target
        self.quadric[u] += self.quadric[v]
        self.stamp[u] += 1
        self.stamp[v] = -1
        self.alive_count -= 1
        around = np.array(sorted(self._neighbours(u)))
        low, high = np.minimum(around, u), np.maximum(around, u)
        costs, targets = self._costs(low, high)
        for a, b, cost, point in zip(low.tolist(), high.tolist(), costs.tolist(), targets):
            self.target[(a, b)] = point
            heapq.heappush(self.heap, (cost, a, b, self.stamp[a], self.stamp[b]))

    def run(self, target_vertices: int) -> None:
        """Collapse the cheapest acceptable edges; edges refused now are retried once the queue runs dry
        (their neighbourhood has changed since), until the target is met or nothing more can go."""
        refused: list[tuple] = []
        while self.alive_count > target_vertices:
            if not self.heap:
                if not refused:
                    return
                self.heap, refused = refused, []
                heapq.heapify(self.heap)
                before = self.alive_count
                self._drain(target_vertices, refused)
                if self.alive_count == before:
                    return
                continue
            self._drain(target_vertices, refused)

    def _drain(self, target_vertices: int, refused: list[tuple]) -> None:
        while self.alive_count > target_vertices and self.heap:
            entry = heapq.heappop(self.heap)
            _, u, v, stamp_u, stamp_v = entry
            if stamp_u != self.stamp[u] or stamp_v != self.stamp[v]:
                continue  # stale: an endpoint changed since this entry was pushed
            optimum = self.target[(u, v)]
            candidates = [optimum, (self.pos[u] + self.pos[v]) / 2, self.pos[u], self.pos[v]]
            target = self._acceptable(u, v, candidates)
            if target is None:
                refused.append(entry)
            else:
                self._collapse(u, v, target)


def decimate(vertices: np.ndarray, faces: np.ndarray, target_vertices: int, length_weight: float = 0.05,
             importance: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A closed manifold mesh -> (vertices (target, 3), faces) by edge collapses, keeping its topology.

    `importance` (V,) scales each vertex's surface error: regions with more of it keep more vertices.
    Raises RuntimeError if no valid collapse is left before the target is reached.
    """
    collapser = _Collapser(vertices, faces, length_weight, importance)
    collapser.run(target_vertices)
    if collapser.alive_count != target_vertices:
        raise RuntimeError(f"simplification stopped at {collapser.alive_count} vertices")
    kept = collapser.faces[collapser.face_alive]
    used, inverse = np.unique(kept, return_inverse=True)
    return collapser.pos[used], inverse.reshape(kept.shape)
