"""Camera conversions between PARE's crop camera and the full image.

PARE predicts a weak-perspective camera (s, tx, ty) per crop: a body point X (metres, camera axes x right,
y down, z forward) lands at normalised crop position s * (X_xy + t_xy), where -1..1 spans the crop; in image
pixels that is box_centre + b/2 * s * (X_xy + t_xy) for a square box of side b. The functions here re-express
that camera for the full image as a pinhole camera with a real focal length (what a 3D scene needs), and back.
(The official demo's own weak-perspective conventions, which the product does not use, are test references
in tests/official_camera.py.) Boxes are (cx, cy, w, h) pixels; the conversions use w as the box side, as the
official demo does, which is exact only for square boxes (see `crop.square_box`). All functions take and
return float64 numpy arrays.
"""

from __future__ import annotations

import numpy as np

# PARE adds this to the scale product before dividing, so s = 0 gives a huge depth instead of a division error.
_DEPTH_EPS = 1e-9


def _unpack(crop_cam: np.ndarray, bbox_cxcywh: np.ndarray) -> tuple[np.ndarray, ...]:
    """(N, 3) cameras and (N, 4) boxes -> s, tx, ty, cx, cy, side, each (N,)."""
    cam = np.asarray(crop_cam, dtype=np.float64)
    box = np.asarray(bbox_cxcywh, dtype=np.float64)
    return cam[:, 0], cam[:, 1], cam[:, 2], box[:, 0], box[:, 1], box[:, 2]


def _depth_from_scale(scale: np.ndarray, side_px: np.ndarray | float, focal_px: float) -> np.ndarray:
    """Depth at which a pinhole camera of `focal_px` shows the crop camera's scale: 2 f / (side * s)."""
    return 2.0 * focal_px / (side_px * scale + _DEPTH_EPS)


def default_focal_length(img_w: int, img_h: int) -> float:
    """Focal length in pixels when the user gives none: the image diagonal, sqrt(W^2 + H^2).

    That is a diagonal field of view of 2*atan(1/2) = 53 degrees, a "normal" lens (focal length = sensor
    diagonal, 43 mm on full frame) that sits between telephoto and the wide (~75 degree) phone main cameras, so
    the guess is rarely far off. Only the depth (and with it the translation) scales with this guess; the body
    pose, the shape and the 2D fit to the photo do not depend on it. Pass the real focal length when known.
    """
    return float(np.hypot(img_w, img_h))


def crop_cam_to_camera_translation(crop_cam: np.ndarray, bbox_cxcywh: np.ndarray, img_w: int, img_h: int,
                                   focal_px: float) -> np.ndarray:
    """(N, 3) crop cameras + (N, 4) square boxes -> (N, 3) body translation for a full-image pinhole camera.

    Camera: x right, y down, z forward, focal `focal_px`, principal point at the image centre (W/2, H/2).
    Derivation: in the crop, a body point X lands at pixel u_w = cx + (b s / 2) (X_x + tx). A pinhole camera
    with the body at translation T gives u_p = W/2 + f (X_x + T_x) / (X_z + T_z). Asking both to agree for every
    point of the plane X_z = 0 (the body's depth centre) fixes the magnification f / T_z = b s / 2 and the
    offset W/2 + f T_x / T_z = cx + (b s / 2) tx, hence

        T_z = 2 f / (b s),   T_x = tx + 2 (cx - W/2) / (b s),   T_y = ty + 2 (cy - H/2) / (b s).

    Off that plane the two differ by a factor T_z / (T_z + X_z) about the principal point:
    u_p - W/2 = (u_w - W/2) T_z / (T_z + X_z), a relative error of |X_z| / T_z (a few percent for a body a few
    metres away) - the usual weak-perspective approximation, not an error of this conversion.
    """
    s, tx, ty, cx, cy, side = _unpack(crop_cam, bbox_cxcywh)
    pixels_per_unit = side * s / 2.0  # b s / 2: crop magnification in pixels per metre at the body
    return np.stack([tx + (cx - img_w / 2.0) / pixels_per_unit,
                     ty + (cy - img_h / 2.0) / pixels_per_unit,
                     _depth_from_scale(s, side, focal_px)], axis=-1)


def camera_translation_to_crop_cam(cam_t: np.ndarray, bbox_cxcywh: np.ndarray, img_w: int, img_h: int,
                                   focal_px: float) -> np.ndarray:
    """(N, 3) full-image translations + (N, 4) square boxes -> (N, 3) crop cameras (s, tx, ty): the inverse of
    `crop_cam_to_camera_translation`, for estimates that did not come from a crop network (the landmark fit)."""
    cam_t = np.asarray(cam_t, dtype=np.float64)
    boxes = np.asarray(bbox_cxcywh, dtype=np.float64)
    side = boxes[..., 2]
    s = 2.0 * focal_px / (side * cam_t[..., 2])
    pixels_per_unit = side * s / 2.0
    return np.stack([s, cam_t[..., 0] - (boxes[..., 0] - img_w / 2.0) / pixels_per_unit,
                     cam_t[..., 1] - (boxes[..., 1] - img_h / 2.0) / pixels_per_unit], axis=-1)


def project_points(points_cam: np.ndarray, focal_px: float, img_w: int, img_h: int) -> np.ndarray:
    """(..., K, 3) points in the camera frame (z > 0 in front) -> (..., K, 2) image pixels.

    u = f x / z + W/2, v = f y / z + H/2: pinhole with the principal point at the image centre, pixel
    coordinates with (0, 0) at the top-left image corner, x right, y down.
    """
    points = np.asarray(points_cam, dtype=np.float64)
    centre = np.array([img_w / 2.0, img_h / 2.0])
    return focal_px * points[..., :2] / points[..., 2:3] + centre
