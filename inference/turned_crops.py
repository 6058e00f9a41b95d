"""PARE shown people lying down or upside down the right way up, and its answer turned back into the picture.

PARE was trained on upright people: given the upright crop of someone lying down it draws an upright body into
it. The detector finds such people in the picture turned by quarter turns (`PersonDetector.detect`, its
`turns` column; the tracker keeps it per person), so their crop is cut turned the same way about the box's
centre (`crop.crop_affine`), and the network's answer, which is in the turned crop's axes, is turned back
(`picture_axes`). A square crop turned by quarters about its centre covers the same pixels, so the crop box, and
with it the camera conversion (`camera.crop_cam_to_camera_translation`), stay as they are.

Turning the picture clockwise by a quarter takes a point at (x, y) from the crop's centre (x right, y down) to
(-y, x), and a body point X in camera axes (x right, y down, z forward) to `QUARTER_TURN @ X`.
"""
from __future__ import annotations

import numpy as np

QUARTER_TURN = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
MAPS = ("part_attention", "part_segmentation")
TURNED_OUTPUTS = ("pose_rotmat", "crop_cam", *MAPS)


def camera_turn(turns: int) -> np.ndarray:
    """(3, 3) the rotation that takes camera-axes points into the axes of the picture turned `turns` quarter
    turns clockwise."""
    return np.linalg.matrix_power(QUARTER_TURN, int(turns) % 4)


def picture_axes(outputs: dict[str, np.ndarray], turns: np.ndarray, rest_root: np.ndarray
                 ) -> dict[str, np.ndarray]:
    """A crop network's outputs for N crops, crop i turned `turns[i]` quarter turns clockwise (`crop_affine`) ->
    the same outputs in the picture's axes. `rest_root` (N, 3): each row's root joint with its betas at rest
    (every rotation the identity), in metres.

    pose_rotmat (N, 24, 3, 3): the root's rotation (row 0) turned back, G = R^T G' with R = `camera_turn`; the
    other joints are relative to their parents and stay. crop_cam (N, 3) (s, tx, ty): the body model turns about
    its root joint J0, which sits off the model's origin, and the crop camera moves the model's origin, so the
    model's points, J0 + G (X - J0), turned back are the new model's less (I - R^T) J0: (tx, ty) = R^T (tx', ty')
    - ((I - R^T) J0)_xy in the image plane (the depth and the scale stay). part_attention, part_segmentation (N,
    C, H, W): the maps turned back, pixel for pixel (about the map's centre, within half a map pixel of the
    crop's). Everything else (betas) does not depend on the turn."""
    turns = np.asarray(turns, dtype=np.int64).reshape(-1) % 4
    if not turns.any():
        return outputs
    out = {name: value.copy() if name in TURNED_OUTPUTS else value for name, value in outputs.items()}
    for turn in np.unique(turns[turns > 0]):
        rows = np.flatnonzero(turns == turn)
        back = camera_turn(turn).T
        if "pose_rotmat" in out:
            out["pose_rotmat"][rows, 0] = back.astype(np.float32) @ out["pose_rotmat"][rows, 0]
        if "crop_cam" in out:
            root = np.asarray(rest_root, np.float64)[rows]
            shift = root - root @ back.T  # (I - R^T) J0, row by row
            out["crop_cam"][rows, 1:] = out["crop_cam"][rows, 1:] @ back[:2, :2].T - shift[:, :2]
        for name in MAPS:
            if name in out:
                out[name][rows] = np.rot90(out[name][rows], k=int(turn), axes=(2, 3))
    return out
