"""Surface extraction from a sampled signed-distance field by marching tetrahedra.

Every grid cube is cut into the same six tetrahedra around its main diagonal (Kuhn's subdivision), which
fit together across neighbouring cubes, so the extracted surface is a closed, consistently oriented
2-manifold wherever the field changes sign, with no ambiguous cases and no lookup table to copy: the few
cases of one tetrahedron are worked out below.
"""
from __future__ import annotations

from itertools import permutations

import numpy as np

_CORNER_OFFSETS = np.array([[c & 1, (c >> 1) & 1, (c >> 2) & 1] for c in range(8)])


def _kuhn_tetrahedra() -> np.ndarray:
    """(6, 4) cube-corner indices of the six tetrahedra, each listed with positive orientation."""
    tets = []
    for order in permutations(range(3)):
        first = 1 << order[0]
        tet = [0, first, first | (1 << order[1]), 7]
        edges = _CORNER_OFFSETS[tet[1:]] - _CORNER_OFFSETS[tet[0]]
        if np.linalg.det(edges) < 0:
            tet[1], tet[2] = tet[2], tet[1]
        tets.append(tet)
    return np.array(tets)


def _case_table() -> list[list[tuple[tuple[int, int], ...]]]:
    """For each of the 16 inside/outside patterns of a positively oriented tetrahedron (bit i = vertex i
    inside): its triangles, each as three (inside vertex, outside vertex) edges, ordered so the normal
    points from inside to outside."""
    ref = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    table = []
    for mask in range(16):
        inside = [v for v in range(4) if mask >> v & 1]
        outside = [v for v in range(4) if not mask >> v & 1]
        if len(inside) in (0, 4):
            table.append([])
            continue
        if len(inside) == 1:
            polygons = [[(inside[0], o) for o in outside]]
        elif len(inside) == 3:
            polygons = [[(i, outside[0]) for i in inside]]
        else:
            (i0, i1), (o0, o1) = inside, outside
            quad = [(i0, o0), (i0, o1), (i1, o1), (i1, o0)]
            polygons = [[quad[0], quad[1], quad[2]], [quad[0], quad[2], quad[3]]]
        direction = ref[outside].mean(axis=0) - ref[inside].mean(axis=0)
        triangles = []
        for polygon in polygons:
            points = np.array([(ref[a] + ref[b]) / 2 for a, b in polygon])
            normal = np.cross(points[1] - points[0], points[2] - points[0])
            triangles.append(tuple(polygon) if normal @ direction > 0 else tuple(polygon[::-1]))
        table.append(triangles)
    return table


_TETS = _kuhn_tetrahedra()
_CASES = _case_table()


def marching_tetrahedra(values: np.ndarray, origin: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """values (nx, ny, nz) signed distances on a grid (point (i, j, k) at origin + spacing * (i, j, k)) ->
    vertices (V, 3) float64 and outward-facing triangles (F, 3) int64 of the surface values = 0.

    Grid points with value exactly 0 count as outside. Vertices lie on grid edges, linearly interpolated.
    """
    inside = values < 0
    nx, ny, nz = values.shape
    shifted = [inside[dx:nx - 1 + dx, dy:ny - 1 + dy, dz:nz - 1 + dz] for dx, dy, dz in _CORNER_OFFSETS]
    count = np.sum(shifted, axis=0, dtype=np.int8)
    cubes = np.stack(np.nonzero((count > 0) & (count < 8)), axis=1)  # (C, 3) lower corners
    strides = np.array([ny * nz, nz, 1])
    corner_ids = (cubes[:, None, :] + _CORNER_OFFSETS[None]) @ strides  # (C, 8) flat grid indices
    flat_inside = inside.ravel()
    triangles = []
    for tet in _TETS:
        ids = corner_ids[:, tet]  # (C, 4)
        bits = flat_inside[ids]
        mask = bits @ np.array([1, 2, 4, 8])
        for case, case_triangles in enumerate(_CASES):
            rows = np.nonzero(mask == case)[0]
            if not len(rows) or not case_triangles:
                continue
            for triangle in case_triangles:
                corners = [(tet[a], tet[b]) for a, b in triangle]
                triangles.append(np.stack([_edge_key(corner_ids[rows], a, b) for a, b in corners], axis=1))
    triangles = np.concatenate(triangles)
    unique_keys, faces = np.unique(triangles, return_inverse=True)
    faces = faces.reshape(-1, 3)
    vertices = _edge_points(unique_keys, values, origin, spacing)
    return vertices, faces.astype(np.int64)


def _edge_key(corner_ids: np.ndarray, a: int, b: int) -> np.ndarray:
    """A unique integer per grid edge: (flat index of its lower corner) * 8 + the corner-offset code of the
    upper one relative to it (every edge of a Kuhn tetrahedron joins corners c <= c' bitwise)."""
    low, high = (a, b) if (a & b) == a else (b, a)
    return corner_ids[:, low] * 8 + (high - low)


def _edge_points(keys: np.ndarray, values: np.ndarray, origin: np.ndarray, spacing: float) -> np.ndarray:
    """Where the field crosses zero on each keyed edge (linear interpolation between its two corners)."""
    strides = np.array([values.shape[1] * values.shape[2], values.shape[2], 1])
    low, code = keys // 8, keys % 8
    high = low + _CORNER_OFFSETS[code] @ strides
    flat = values.ravel()
    # kept off the corners, so that no two vertices coincide where the field is 0 at a grid point
    t = np.clip(flat[low] / (flat[low] - flat[high]), 0.01, 0.99)
    low_ijk = np.stack(np.unravel_index(low, values.shape), axis=1)
    return np.asarray(origin, float) + spacing * (low_ijk + t[:, None] * _CORNER_OFFSETS[code])
