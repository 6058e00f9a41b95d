"""The official PARE demo's camera conventions, as references for the tests.

The product needs only a pinhole camera for the full image (`inference.camera`). The official demo also
re-expresses PARE's crop camera (s, tx, ty) in two other ways, and the crop golden (tests/reference,
`crop_golden.npz`) records their outputs: a weak-perspective camera for the full image (its renderer's
camera), PARE's own long-lens crop translation (`pred_cam_t`), and crop keypoints in image pixels. They live
here so the goldens can check that this project reads PARE's camera as the official code does, and so the
tests can check the production conversions against them. Boxes are (cx, cy, w, h) pixels with w used as the
side for both axes, as the demo does; arrays are float64 numpy.
"""
from __future__ import annotations

import numpy as np

# PARE adds this to the scale product before dividing, so s = 0 gives a huge depth instead of a division error.
_DEPTH_EPS = 1e-9


def crop_cam_to_orig_cam(crop_cam: np.ndarray, bbox_cxcywh: np.ndarray, img_w: int, img_h: int) -> np.ndarray:
    """(N, 3) crop cameras (s, tx, ty) + (N, 4) boxes -> (N, 4) full-image weak-perspective (sx, sy, tx, ty).

    In the full image normalised to -1..1 per axis: x_norm = sx * (X + tx), y_norm = sy * (Y + ty). This is the
    official demo's rendering camera: sx = s*b/W, sy = s*b/H, tx' = (cx - W/2) / (W/2) / sx + tx, same for y.
    """
    cam = np.asarray(crop_cam, dtype=np.float64)
    box = np.asarray(bbox_cxcywh, dtype=np.float64)
    s, tx, ty, cx, cy, side = cam[:, 0], cam[:, 1], cam[:, 2], box[:, 0], box[:, 1], box[:, 2]
    sx, sy = s * side / img_w, s * side / img_h
    return np.stack([sx, sy,
                     (cx - img_w / 2.0) / (img_w / 2.0) / sx + tx,
                     (cy - img_h / 2.0) / (img_h / 2.0) / sy + ty], axis=-1)


def crop_cam_to_crop_translation(crop_cam: np.ndarray, focal: float = 5000.0, crop_res: int = 224) -> np.ndarray:
    """(N, 3) crop cameras -> (N, 3) translation (tx, ty, 2 f / (crop_res * s)) of PARE's own crop camera.

    This is PARE's `pred_cam_t`: a long lens (5000 px on a 224 px crop) that approximates the weak perspective.
    """
    cam = np.asarray(crop_cam, dtype=np.float64)
    depth = 2.0 * focal / (crop_res * cam[:, 0] + _DEPTH_EPS)
    return np.stack([cam[:, 1], cam[:, 2], depth], axis=-1)


def crop_keypoints_to_image(kp_norm: np.ndarray, bbox_cxcywh: np.ndarray) -> np.ndarray:
    """(N, K, 2) keypoints in normalised crop coordinates (-1..1) -> (N, K, 2) image pixels.

    pixel = centre + k * b / 2 per axis, with b = the box width for both axes (as the official demo).
    """
    box = np.asarray(bbox_cxcywh, dtype=np.float64)
    centre, half_side = box[:, None, :2], box[:, None, 2:3] / 2.0
    return centre + np.asarray(kp_norm, dtype=np.float64) * half_side
