"""SMPL pose -> Blender bone keys and pose-corrective shape-key weights (numpy only).

Frames involved (all right-handed, metres):
  * SMPL body frame: y up, the body faces +z. The rest mesh, joints and blend shapes live here.
  * result camera frame (the result file's): x right, y down, z forward; `cam_t` and `joints3d` live here.
  * Blender world: z up. The rest body is stored rotated by WORLD_FROM_SMPL, so it stands upright and faces
    -y (Blender's front view); the camera sits at the origin with rotation CAMERA_ROTATION (looking along +y,
    +z up); Blender cameras look down their local -z with +y up, hence CAMERA_FROM_RESULT.

Why the bone keys reproduce SMPL exactly: SMPL skins with A_j = A_parent . T(J_j) R_j T(-J_j) (rest joints J,
parent-relative rotations R_j, A_root = T(cam_t) T(J_0) R_0 T(-J_0)). A Blender bone with armature-space rest
matrix M_j = T(head_j) B_j (B_j its rest axes) skins with P_j M_j^-1, where P_j = P_parent M_parent^-1 M_j
L_j and L_j = T(location) Q(quaternion) is the keyed local transform. With heads = W J (W = WORLD_FROM_SMPL)
these agree for L_j = B_j^T (W R_j W^T) B_j on every non-root bone; the root also carries the camera:
Q = B^T (C R_0 W^T) B and location = B^T (C (cam_t + J_0) - W J_0), C = WORLD_FROM_RESULT_CAMERA.
"""
from __future__ import annotations

import numpy as np


def rotation_x(degrees: float) -> np.ndarray:
    """(3, 3) rotation about +x by `degrees` (right hand)."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


WORLD_FROM_SMPL = rotation_x(90.0)
CAMERA_ROTATION = rotation_x(90.0)
CAMERA_FROM_RESULT = np.diag([1.0, -1.0, -1.0])
WORLD_FROM_RESULT_CAMERA = CAMERA_ROTATION @ CAMERA_FROM_RESULT
BODY_FORWARD = WORLD_FROM_SMPL @ np.array([0.0, 0.0, 1.0])  # where the rest body faces, in the world
BODY_UP = WORLD_FROM_SMPL @ np.array([0.0, 1.0, 0.0])


def rotmat_to_quat(rotations: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions (w, x, y, z), w >= 0.

    Shepperd's method: each matrix is read through the largest of (trace, diagonal entries), which keeps
    the divisor away from zero, so every rotation converts accurately, 180-degree turns included.
    """
    m = np.asarray(rotations, dtype=np.float64)
    diagonal = np.stack([m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], axis=-1)
    trace = diagonal.sum(axis=-1)
    skew = np.stack([m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1)
    sym = np.stack([m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1]], -1)
    # Row k is 4 q_k (w, x, y, z) for q_k the k-th of (w, x, y, z): exact, and best conditioned for the largest.
    candidates = np.stack([
        np.stack([1 + trace, skew[..., 0], skew[..., 1], skew[..., 2]], axis=-1),
        np.stack([skew[..., 0], 1 + 2 * diagonal[..., 0] - trace, sym[..., 0], sym[..., 1]], axis=-1),
        np.stack([skew[..., 1], sym[..., 0], 1 + 2 * diagonal[..., 1] - trace, sym[..., 2]], axis=-1),
        np.stack([skew[..., 2], sym[..., 1], sym[..., 2], 1 + 2 * diagonal[..., 2] - trace], axis=-1),
    ], axis=-2)
    best = np.argmax(np.concatenate([trace[..., None], diagonal], axis=-1), axis=-1)
    quat = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    quat /= np.linalg.norm(quat, axis=-1, keepdims=True)
    return np.where(quat[..., :1] < 0, -quat, quat)


def make_continuous(quats: np.ndarray) -> np.ndarray:
    """(n, ..., 4) quaternions over n frames -> the same rotations with signs chosen frame to frame so
    consecutive keys are in the same hemisphere (q and -q are one rotation; interpolating across a sign
    flip would swing the bone the long way round between frames)."""
    out = np.array(quats, dtype=np.float64)
    for frame in range(1, len(out)):
        flip = np.sum(out[frame] * out[frame - 1], axis=-1) < 0
        out[frame][flip] *= -1
    return out


def bone_rotations(pose_rotmat: np.ndarray, bone_frames: np.ndarray) -> np.ndarray:
    """pose_rotmat (n, 24, 3, 3) SMPL local rotations, bone_frames (24, 3, 3) armature-space rest axes
    (columns X, Y, Z) -> (n, 24, 4) bone quaternions (w, x, y, z), continuous over frames.

    Joint 0 also turns the body from the result camera frame into the world (see the module docstring).
    """
    rotations = np.asarray(pose_rotmat, dtype=np.float64)
    left = np.broadcast_to(WORLD_FROM_SMPL, rotations.shape).copy()
    left[:, 0] = WORLD_FROM_RESULT_CAMERA
    in_world = left @ rotations @ WORLD_FROM_SMPL.T
    frames = np.asarray(bone_frames, dtype=np.float64)
    local = np.swapaxes(frames, -1, -2) @ in_world @ frames
    return make_continuous(rotmat_to_quat(local))


def root_locations(cam_t: np.ndarray, root_joint: np.ndarray, root_frame: np.ndarray) -> np.ndarray:
    """cam_t (n, 3) result camera frame, root_joint (3,) rest pelvis in SMPL's frame, root_frame (3, 3) the
    pelvis bone's rest axes -> (n, 3) pelvis bone locations (in its rest axes) that place the body at cam_t."""
    target = (np.asarray(cam_t, np.float64) + root_joint) @ WORLD_FROM_RESULT_CAMERA.T
    offset = target - WORLD_FROM_SMPL @ root_joint
    return offset @ np.asarray(root_frame, np.float64)  # row-vector form of root_frame^T @ offset


def pose_corrective_weights(pose_rotmat: np.ndarray) -> np.ndarray:
    """pose_rotmat (n, 24, 3, 3) -> (n, 207) SMPL pose feature: R_j - I for joints 1..23, row-major.

    Value k is the weight of pose blend shape k (posedirs[:, :, k]), i.e. of pose-corrective shape key k.
    """
    rotations = np.asarray(pose_rotmat, dtype=np.float64)[:, 1:]
    return (rotations - np.eye(3)).reshape(len(rotations), -1)

