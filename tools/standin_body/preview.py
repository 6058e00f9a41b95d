"""Pictures of the stand-in posed and shaped through the project's own body forward (`SMPLBody`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from inference.body_model import SMPLBody
from contract.smpl_file import read_smpl_model

from .render import VIEWS, render, turned


def axis_angle(axis, degrees: float) -> np.ndarray:
    """(3, 3) rotation by `degrees` about `axis`."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    angle = np.radians(degrees)
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


# A mid-stride pose: (joint index, axis, degrees) relative to the parent, in SMPL's rest axes.
STRIDE = ((1, (1, 0, 0), -35), (4, (1, 0, 0), 20), (2, (1, 0, 0), 20), (5, (1, 0, 0), 60),
          (7, (1, 0, 0), 10), (16, (0, 0, 1), -65), (17, (0, 0, 1), 65), (16, (0, 1, 0), 25),
          (17, (0, 1, 0), 25), (18, (0, 1, 0), 45), (19, (0, 1, 0), -60), (3, (1, 0, 0), 5),
          (15, (0, 1, 0), 15), (12, (1, 0, 0), 5), (0, (0, 1, 0), 10))


def pose_matrices(spec: tuple[tuple[int, tuple[float, float, float], float], ...] = STRIDE) -> np.ndarray:
    """(24, 3, 3) joint rotations of `spec`, turns about one joint applied in the listed order."""
    pose = np.tile(np.eye(3), (24, 1, 1))
    for joint, axis, degrees in spec:
        pose[joint] = pose[joint] @ axis_angle(axis, degrees)
    return pose


def posed(body: SMPLBody, pose: np.ndarray | None = None, betas: np.ndarray | None = None) -> np.ndarray:
    """(V, 3) vertices of the body in `pose` (24, 3, 3; default the rest pose) with `betas` (10,)."""
    pose = np.tile(np.eye(3), (24, 1, 1)) if pose is None else pose
    betas = np.zeros(body.num_betas) if betas is None else betas
    with torch.no_grad():
        out = body(torch.as_tensor(pose[None], dtype=torch.float32),
                   torch.as_tensor(betas[None], dtype=torch.float32))
    return out.vertices[0].numpy().astype(np.float64)


def _one_beta(body: SMPLBody, index: int, value: float) -> np.ndarray:
    betas = np.zeros(body.num_betas)
    betas[index] = value
    return posed(body, betas=betas)


_WHOLE_BODY = {"extent": 2.0, "center": np.array([0.0, -0.33, 0.0])}


def _load(model_path: str | Path) -> tuple[SMPLBody, np.ndarray, np.ndarray]:
    """The body of the model file, its triangles and its rest-pose vertices."""
    model = read_smpl_model(model_path)
    body = SMPLBody(model)
    return body, model.f, posed(body)


def views(model_path: str | Path, size: int = 420) -> dict[str, np.ndarray]:
    """Named RGB images: rest pose from three sides, close-ups, a posed body, and shape extremes."""
    body, faces, rest = _load(model_path)
    images = {name: render(rest, faces, VIEWS[name], size, **_WHOLE_BODY) for name in ("front", "side", "back")}
    images["head"] = render(rest, faces, turned(30), size, center=np.array([0, 0.40, 0.03]), extent=0.32)
    images["hand"] = render(rest, faces, turned(0, 75), size, center=np.array([0.78, 0.19, -0.02]), extent=0.25)
    images["foot"] = render(rest, faces, turned(35, 15), size, center=np.array([0.1, -1.12, 0.05]), extent=0.3)
    images["stride"] = render(posed(body, pose_matrices()), faces, turned(35, 5), size, **_WHOLE_BODY)
    for index, label in ((0, "stature"), (1, "mass")):
        images[label] = np.concatenate([render(_one_beta(body, index, value), faces, VIEWS["front"], size,
                                               **_WHOLE_BODY) for value in (-2.0, 2.0)], axis=1)
    return images


def preview(model_path: str | Path, size: int = 240) -> np.ndarray:
    """One strip: front and side at rest, a stride, and stature / mass at -2 and +2 standard deviations."""
    body, faces, rest = _load(model_path)
    panels = [render(rest, faces, VIEWS["front"], size, **_WHOLE_BODY),
              render(rest, faces, VIEWS["side"], size, **_WHOLE_BODY),
              render(posed(body, pose_matrices()), faces, turned(35, 5), size, **_WHOLE_BODY)]
    panels += [render(_one_beta(body, index, value), faces, VIEWS["front"], size, **_WHOLE_BODY)
               for index in (0, 1) for value in (-2.0, 2.0)]
    return np.concatenate(panels, axis=1)
