"""The stand-in body performing a capture: its posed mesh and 24 joints per frame in the Blender world.

The body is the project's license-free stand-in (`assets/body/`, SMPL's layout), posed with the project's own
SMPL forward pass (`inference.body_model.SMPLBody`), so the joints are exactly the ones the estimator's
results name: joint j of the truth is joint j of a result computed on the stand-in body.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from contract.skeleton import JOINT_NAMES
from contract.smpl_file import read_body_model
from inference.body_model import SMPLBody

from .deepmimic import MotionClip
from .retarget import hip_centre_path, smpl_local_rotations

# SMPL's y-up world -> Blender's z-up world (a quarter turn about x), as the add-on stores bodies.
WORLD_FROM_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
HIPS = [JOINT_NAMES.index("left_hip"), JOINT_NAMES.index("right_hip")]
ANKLE = JOINT_NAMES.index("left_ankle")


@dataclass(frozen=True)
class PosedBody:
    vertices: np.ndarray  # (T, V, 3) metres, Blender world (z up), the lowest sole of the clip on z = 0
    joints: np.ndarray  # (T, 24, 3) the 24 SMPL joints, same frame
    faces: np.ndarray  # (F, 3) triangles
    rotations: np.ndarray  # (T, 24, 3, 3) SMPL rotations (joint 0 in the y-up world) that made them
    betas: np.ndarray  # (10,) the body's shape


def pose_body(clip: MotionClip, betas: np.ndarray, offset_xy: tuple[float, float] = (0.0, 0.0)) -> PosedBody:
    """Pose the stand-in body (shape `betas`) along `clip`, its path shifted on the floor by `offset_xy`."""
    body = SMPLBody(read_body_model(None))
    rotations = smpl_local_rotations(clip)
    frames = clip.frame_count
    with torch.no_grad():
        rest = body(torch.eye(3).repeat(1, 24, 1, 1), torch.as_tensor(betas[None], dtype=torch.float32))
        posed = body(torch.as_tensor(rotations, dtype=torch.float32),
                     torch.as_tensor(np.repeat(betas[None], frames, 0), dtype=torch.float32))
    rest_joints = rest.joints[0].numpy()
    leg_length = float(np.linalg.norm(rest_joints[HIPS[0]] - rest_joints[ANKLE]))
    vertices, joints = posed.vertices.numpy().astype(np.float64), posed.joints.numpy().astype(np.float64)
    shift = hip_centre_path(clip, leg_length) - joints[:, HIPS].mean(axis=1)
    vertices += shift[:, None]
    joints += shift[:, None]
    floor = vertices[..., 1].min()  # the lowest point of the whole clip touches the floor
    vertices[..., 1] -= floor
    joints[..., 1] -= floor
    offset = np.array([offset_xy[0], offset_xy[1], 0.0])
    return PosedBody(vertices=vertices @ WORLD_FROM_SMPL.T + offset, joints=joints @ WORLD_FROM_SMPL.T + offset,
                     faces=body.faces.numpy().astype(np.int64), rotations=rotations, betas=np.asarray(betas))
