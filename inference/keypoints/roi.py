"""The square, possibly rotated image region the landmark model looks at, and the maps in and out of it.

Coordinates are image pixels with pixel (i, j) covering [i, i + 1) x [j, j + 1) (centre at i + 0.5), as in the
rest of the project; crop coordinates are the same for the model's square input. MediaPipe's pose pipeline builds
its region of interest with `AlignmentPointsRectsCalculator` (centre on the hips' centre, half side = distance to
a point on the circle around the whole body, rotated so that point is straight above the hips) followed by
`RectTransformationCalculator` (scale 1.25 in both directions, then square on the long side). Those numbers come
from the graphs `PoseDetectionToRoi` and `PoseLandmarksToRoi` shipped in the mediapipe 0.10.14 wheel.

A rotation of theta radians maps the crop's offset r from its centre to the image offset R(theta) r with
R = [[cos, -sin], [sin, cos]] in the image's x-right, y-down axes (theta > 0 turns clockwise on screen),
the convention of MediaPipe's rects.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES, HIP_LANDMARKS, NUM_LANDMARKS, SHOULDER_LANDMARKS

#: MediaPipe's enlargement of the alignment square (`RectTransformationCalculator` scale_x = scale_y = 1.25).
ROI_SCALE = 1.25
#: A standing person's box is about this many times as tall as it is wide; a box the image's bottom edge cuts
#: off that is squatter than this holds only the upper part of a body (`completed_box`).
STANDING_ASPECT = 2.5
#: A box ending this close to the image's bottom edge (a fraction of the image height) counts as cut off by it:
#: detector boxes stop a few pixels short of the edge (3.6 px of 512 on the astronaut portrait).
CUT_OFF_MARGIN = 0.02
#: Least share of its box, in height or in width, that a body's landmarks span. A detector's box holds what it
#: sees of a person, so the whole body is never much smaller than it (0.85-1.5 on the samples and the quality
#: clips); given the head and shoulders of someone whose legs are hidden (behind a railing, a table, a car), the
#: landmark model may instead squeeze a whole small body into them (the `ascent` sample's man: 0.44).
MIN_BOX_FILL = 0.7
#: MediaPipe landmarks of the legs below the hips: knees, ankles, heels, toes (the last of the 33).
LEG_POINTS = slice(BLAZEPOSE_LANDMARK_NAMES.index("left_knee"), NUM_LANDMARKS)
#: Mean confidence of the leg landmarks below which the legs count as unseen.
SEEN_LEGS = 0.5
#: The angle at which the hips -> body-circle direction should point, 90 degrees = straight up.
_TARGET_ANGLE = np.pi / 2


@dataclass(frozen=True)
class Roi:
    """A square region: centre (cx, cy) and side in image pixels, rotation in radians (see module doc)."""

    cx: float
    cy: float
    side: float
    rotation: float = 0.0

    def rotation_matrix(self) -> np.ndarray:
        """(2, 2) R(rotation): crop-axis offsets -> image-axis offsets."""
        cos, sin = np.cos(self.rotation), np.sin(self.rotation)
        return np.array([[cos, -sin], [sin, cos]])


def roi_from_box(box_xywh: np.ndarray, scale: float = ROI_SCALE) -> Roi:
    """(4,) tight person box (x, y, w, h) -> upright square ROI of side `scale` * max(w, h) on the box centre.

    The detector-based ROI of MediaPipe is centred on the hips and spans the circle that encloses the body; a
    tight box has no hip point, so its centre and long side stand in for the circle's centre and diameter (equal
    for a standing person), and the published 1.25 enlargement is applied on top. Rotation is 0: the box tells
    nothing about which way the body leans.
    """
    x, y, w, h = (float(v) for v in np.asarray(box_xywh, dtype=np.float64))
    if not (w > 0 and h > 0):
        raise ValueError(f"box must have a positive width and height, got {box_xywh}")
    return Roi(x + w / 2.0, y + h / 2.0, scale * max(w, h))


def completed_box(box_xywh: np.ndarray, image_height: int) -> np.ndarray:
    """(4,) person box (x, y, w, h) -> the same box, or, when the image's bottom edge cuts it off and it is
    squatter than a standing body, the box extended downward to a standing body's proportions.

    The landmark model assumes a whole body in its crop: given only a waist-up view centred in the crop, it
    squeezes hips, knees and ankles into the visible torso (on the astronaut portrait the hips land at mid-chest
    and the knees over the stomach). With the box completed, the visible part sits where a whole body's upper
    part would, and the model puts the unseen joints below the frame with low presence, where the fit leaves
    them to its pose prior. A box that reaches the edge and is already as tall as a standing body is left as
    it is, and so is every box clear of the edge.
    """
    x, y, w, h = (float(v) for v in np.asarray(box_xywh, dtype=np.float64))
    if y + h < (1.0 - CUT_OFF_MARGIN) * image_height:
        return np.array([x, y, w, h])
    return standing_box(box_xywh)


def standing_box(box_xywh: np.ndarray) -> np.ndarray:
    """(4,) person box (x, y, w, h) -> the box extended downward to a standing body's proportions (as it is when
    already that tall): where a whole body would be whose upper part the box holds."""
    x, y, w, h = (float(v) for v in np.asarray(box_xywh, dtype=np.float64))
    return np.array([x, y, w, max(h, STANDING_ASPECT * w)])


def squeezed_into_box(points_xy: np.ndarray, confidence: np.ndarray, box_xywh: np.ndarray) -> bool:
    """(33, 2) a body's landmarks in image pixels, (33,) their confidence, (4,) its person box -> whether the
    body may be squeezed into what the box holds of a person: its landmarks span less than `MIN_BOX_FILL` of
    the box in both height and width, or its legs are unseen (`SEEN_LEGS`) and yet drawn inside the box. A
    detector's box holds what it sees of a person, so legs hidden behind a railing lie below it; the landmark
    model, given head and shoulders, may draw a whole small body in them instead (the `ascent` sample's man:
    its span swings between 0.4 and 0.8 of his box as the box moves by a fraction of a pixel)."""
    points = np.asarray(points_xy, dtype=np.float64)
    box = np.asarray(box_xywh, dtype=np.float64)
    if not (np.ptp(points, axis=0) >= MIN_BOX_FILL * box[2:4]).any():
        return True
    legs_unseen = float(np.mean(np.asarray(confidence)[LEG_POINTS])) < SEEN_LEGS
    return legs_unseen and bool(points[LEG_POINTS, 1].max() <= box[1] + box[3])


def torso_length(points_xy: np.ndarray) -> float:
    """(33, 2) landmarks -> pixels from the shoulders' midpoint to the hips'."""
    points = np.asarray(points_xy, dtype=np.float64)
    hips, shoulders = points[list(HIP_LANDMARKS)].mean(axis=0), points[list(SHOULDER_LANDMARKS)].mean(axis=0)
    return float(np.linalg.norm(hips - shoulders))


def roi_from_alignment_points(centre_xy: np.ndarray, circle_xy: np.ndarray, scale: float = ROI_SCALE) -> Roi:
    """Hips' centre and a point on the body's enclosing circle, (2,) image pixels each -> MediaPipe's ROI.

    Side = `scale` * 2 * |circle - centre|; rotation turns the crop so that the circle point is straight above
    the centre (MediaPipe's target angle of 90 degrees), wrapped to (-pi, pi].
    """
    centre = np.asarray(centre_xy, dtype=np.float64)
    dx, dy = np.asarray(circle_xy, dtype=np.float64) - centre
    angle = _TARGET_ANGLE - np.arctan2(-dy, dx)
    rotation = float(angle - 2 * np.pi * np.ceil((angle - np.pi) / (2 * np.pi)))
    return Roi(float(centre[0]), float(centre[1]), scale * 2.0 * float(np.hypot(dx, dy)), rotation)


def image_to_crop_affine(roi: Roi, crop_size: int) -> np.ndarray:
    """(2, 3) affine A with crop = A @ (x, y, 1): image pixels -> pixels of a `crop_size` square crop of `roi`.

    Both sides use the corner convention of the module doc; `to_pixel_centre_affine` adapts it to OpenCV.
    """
    zoom = crop_size / roi.side
    linear = zoom * roi.rotation_matrix().T
    offset = crop_size / 2.0 - linear @ np.array([roi.cx, roi.cy])
    return np.hstack([linear, offset[:, None]])


def to_pixel_centre_affine(affine_2x3: np.ndarray) -> np.ndarray:
    """A corner-convention affine -> the same map for coordinates with pixel centres on integers (OpenCV's)."""
    linear, offset = affine_2x3[:, :2], affine_2x3[:, 2]
    return np.hstack([linear, (offset + linear @ np.full(2, 0.5) - 0.5)[:, None]])


def crop_to_image(points_unit: np.ndarray, roi: Roi) -> np.ndarray:
    """(N, 2) points in the crop as fractions of its side (0..1, MediaPipe's normalised ROI coordinates)
    -> (N, 2) float64 image pixels."""
    offsets = (np.asarray(points_unit, dtype=np.float64) - 0.5) * roi.side
    return offsets @ roi.rotation_matrix().T + np.array([roi.cx, roi.cy])


def rotate_to_image_axes(points: np.ndarray, roi: Roi) -> np.ndarray:
    """(N, 3) metric points predicted in the crop's axes -> (N, 3) in the image's axes (x, y turned by R).

    MediaPipe's `WorldLandmarkProjectionCalculator`: the crop was turned, so its world x/y axes were too.
    """
    points = np.asarray(points, dtype=np.float64)
    turned = points[:, :2] @ roi.rotation_matrix().T
    return np.concatenate([turned, points[:, 2:]], axis=1)
