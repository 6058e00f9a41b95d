"""The stand-in body's arrays in the SMPL file layout, from its mesh."""
from __future__ import annotations

import numpy as np

from .landmarks import joint_regressor, keypoint_vertices
from .mesh_ops import vertex_normals
from .proportions import PARENTS
from .sdf import Part
from .shape_space import shape_blend_shapes
from .skinning import skinning_weights

BODY_NAME = "stand-in"
NUM_POSE_BASIS = 207
ROOT_PARENT = 4294967295  # SMPL files store the root's missing parent as uint32 -1


def rig(vertices: np.ndarray, faces: np.ndarray, parts: list[Part]) -> dict[str, np.ndarray]:
    """Template (V, 3) and triangles -> the arrays of an SMPL model file, plus the stand-in's extras
    (`body_name`, `keypoint_vertex_ids`, `shape_direction_names`). Pose blend shapes are all zero: the
    stand-in has no pose-dependent corrections."""
    vertices = np.asarray(vertices, np.float64)
    weights = skinning_weights(vertices, faces, parts)
    shapedirs, joint_shifts, names = shape_blend_shapes(vertices, vertex_normals(vertices, faces), weights)
    regressor = joint_regressor(vertices, shapedirs, joint_shifts)
    kintree = np.array([[ROOT_PARENT if p < 0 else p for p in PARENTS], list(range(len(PARENTS)))], np.int64)
    names = names + [""] * (shapedirs.shape[2] - len(names))
    return {
        "v_template": vertices.astype(np.float32),
        "shapedirs": shapedirs.astype(np.float32),
        "posedirs": np.zeros((len(vertices), 3, NUM_POSE_BASIS), np.float32),
        "J_regressor": regressor.astype(np.float32),
        "weights": weights.astype(np.float32),
        "kintree_table": kintree,
        "f": np.asarray(faces, np.int64),
        "body_name": np.array(BODY_NAME),
        "keypoint_vertex_ids": keypoint_vertices(vertices),
        "shape_direction_names": np.array(names),
    }
