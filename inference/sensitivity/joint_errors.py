"""Per-joint change of the estimate under occlusion: pelvis-aligned distances in millimetres (no Procrustes),
as the PARE paper measures its occlusion sensitivity (MPJPE of each position against the unoccluded estimate)."""
from __future__ import annotations

import numpy as np

from contract.skeleton import JOINT_NAMES

PELVIS = JOINT_NAMES.index("pelvis")
MM_PER_M = 1000.0


def pelvis_aligned(joints3d: np.ndarray) -> np.ndarray:
    """(..., 24, 3) joints -> the same joints minus their pelvis, float64 (the camera translation drops out)."""
    joints = np.asarray(joints3d, dtype=np.float64)
    return joints - joints[..., PELVIS:PELVIS + 1, :]


def joint_errors_mm(joints3d: np.ndarray, reference_joints3d: np.ndarray) -> np.ndarray:
    """(P, 24, 3) joints per position and (24, 3) unoccluded joints, metres -> (P, 24) distances in mm of
    each pelvis-aligned joint to the unoccluded one (0 for the pelvis itself; NaN rows stay NaN)."""
    offsets = pelvis_aligned(joints3d) - pelvis_aligned(reference_joints3d)[None]
    return np.linalg.norm(offsets, axis=-1) * MM_PER_M
