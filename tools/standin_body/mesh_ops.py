"""Small triangle-mesh helpers: topology checks, normals, neighbourhoods, smoothing (numpy only)."""
from __future__ import annotations

import numpy as np


def directed_edges(faces: np.ndarray) -> np.ndarray:
    """(3F, 2) the edges of every triangle in its winding order."""
    return faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)


def unique_edges(faces: np.ndarray) -> np.ndarray:
    """(E, 2) undirected edges, each once, sorted (low, high)."""
    return np.unique(np.sort(directed_edges(faces), axis=1), axis=0)


def topology(faces: np.ndarray) -> dict[str, int | bool]:
    """Whether the mesh is closed, manifold along edges and consistently oriented (every directed edge
    once, with its reverse once), plus its Euler characteristic V - E + F and component count."""
    directed = directed_edges(faces)
    n = int(faces.max()) + 1
    codes = directed[:, 0] * n + directed[:, 1]
    reverse = directed[:, 1] * n + directed[:, 0]
    once = len(np.unique(codes)) == len(codes)
    paired = once and bool(np.isin(reverse, codes).all())
    used = np.unique(faces)
    euler = len(used) - len(unique_edges(faces)) + len(faces)
    return {"closed_oriented": paired, "euler": int(euler), "components": len(components(faces))}


def components(faces: np.ndarray) -> list[np.ndarray]:
    """Face index arrays of the edge-connected components, largest first."""
    edges = unique_edges(faces)
    labels = np.arange(int(faces.max()) + 1)
    while True:  # every vertex takes the smallest label among its neighbours, with pointer jumping
        before = labels.copy()
        np.minimum.at(labels, edges[:, 0], labels[edges[:, 1]])
        np.minimum.at(labels, edges[:, 1], labels[edges[:, 0]])
        labels = labels[labels]
        if np.array_equal(before, labels):
            break
    face_labels = labels[faces[:, 0]]
    groups = [np.nonzero(face_labels == label)[0] for label in np.unique(face_labels)]
    return sorted(groups, key=len, reverse=True)


def compact(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop unreferenced vertices and renumber the faces."""
    used, inverse = np.unique(faces, return_inverse=True)
    return vertices[used], inverse.reshape(faces.shape)


def face_normals(vertices: np.ndarray, faces: np.ndarray, unit: bool = True) -> np.ndarray:
    tri = vertices[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    if unit:
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-20)
    return normals


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals."""
    weighted = face_normals(vertices, faces, unit=False)
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], weighted)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-20)


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Enclosed volume (positive for outward-facing triangles)."""
    tri = vertices[faces]
    return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0)


def neighbour_mean(values: np.ndarray, edges: np.ndarray, count: int) -> np.ndarray:
    """values (V, ...) -> the mean over each vertex's edge neighbours (the umbrella operator)."""
    total = np.zeros((count,) + values.shape[1:])
    np.add.at(total, edges[:, 0], values[edges[:, 1]])
    np.add.at(total, edges[:, 1], values[edges[:, 0]])
    degree = np.bincount(edges.ravel(), minlength=count).astype(float)
    return total / np.maximum(degree, 1.0).reshape((-1,) + (1,) * (values.ndim - 1))
