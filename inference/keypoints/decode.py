"""Turn the BlazePose landmark network's raw output tensors into landmarks in its input crop.

The numbers follow the `TensorsToPoseLandmarksAndSegmentation` graph of the mediapipe 0.10.14 wheel:
`TensorsToLandmarksCalculator` with 39 landmarks on a 256 x 256 input and sigmoid activations for visibility and
presence; `RefineLandmarksFromHeatmapCalculator` with a 7 x 7 kernel (and its default minimum confidence of 0.5);
`ThresholdingCalculator` at 0.5 on the pose flag, which the network already passes through a sigmoid. World
landmarks are the same 39 points in metres and carry no visibility of their own (MediaPipe copies it over).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES

#: Points the network predicts: the 33 body landmarks, then the hips' centre and a point on the circle around
#: the body (MediaPipe's "auxiliary" landmarks, used to place the next crop), then 4 unused ones.
MODEL_POINTS = 39
BODY_POINTS = 33
HIP_CENTRE_POINT, BODY_CIRCLE_POINT = 33, 34
#: Values per point in the landmark tensor: x, y (input pixels), z, visibility logit, presence logit.
_VALUES_PER_POINT = 5
#: Side of the window of heatmap cells averaged around each landmark, and the confidence it must reach.
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class CropLandmarks:
    """One person's decoded network output; every array covers all 39 points."""

    unit_xy: np.ndarray  # (39, 2) position in the crop as fractions of its side (0..1, x right, y down)
    visibility: np.ndarray  # (39,) 0..1: the point is in view (not occluded)
    presence: np.ndarray  # (39,) 0..1: the point lies inside the crop
    world: np.ndarray  # (39, 3) metres, origin at the hips' centre, in the crop's axes
    score: float  # 0..1 pose presence: a whole person is in the crop


def _mirror_order() -> np.ndarray:
    """(39,) index of each point's mirror partner: a left landmark and its right twin swap, the rest stay."""
    names = BLAZEPOSE_LANDMARK_NAMES
    order = np.arange(MODEL_POINTS)
    for index, name in enumerate(names):
        twin = name.replace("left", "@").replace("right", "left").replace("@", "right")
        order[index] = names.index(twin)
    return order


MIRROR_ORDER = _mirror_order()


def mirrored(crop: CropLandmarks) -> CropLandmarks:
    """The landmarks of a mirrored crop, read back for the crop itself: x flipped in the crop and in the world,
    and each left point swapped with its right twin (the mirror image of a person's left side is their right).
    Why: the network's pose presence swings on some back and occluded views between an image and its mirror
    image (measured on the `ascent` sample: 0.24 against 0.99 for the same box)."""
    order = MIRROR_ORDER
    unit_xy = crop.unit_xy[order] * [-1.0, 1.0] + [1.0, 0.0]
    return CropLandmarks(unit_xy=unit_xy, visibility=crop.visibility[order], presence=crop.presence[order],
                         world=crop.world[order] * [-1.0, 1.0, 1.0], score=crop.score)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def decode(landmark_tensor: np.ndarray, pose_flag: np.ndarray, heatmap: np.ndarray, world_tensor: np.ndarray,
           input_size: int) -> CropLandmarks:
    """The network's outputs for one crop -> `CropLandmarks`.

    landmark_tensor (195,) or (1, 195); pose_flag (1,) or (1, 1), already a probability; heatmap (H, W, 39) or
    (1, H, W, 39) logits; world_tensor (117,) or (1, 117) metres; input_size = the crop side in pixels (256).
    """
    points = np.asarray(landmark_tensor, dtype=np.float64).reshape(MODEL_POINTS, _VALUES_PER_POINT)
    unit_xy = refine_with_heatmap(points[:, :2] / input_size, np.asarray(heatmap).reshape(heatmap.shape[-3:]))
    return CropLandmarks(unit_xy=unit_xy, visibility=sigmoid(points[:, 3]), presence=sigmoid(points[:, 4]),
                         world=np.asarray(world_tensor, dtype=np.float64).reshape(MODEL_POINTS, 3),
                         score=float(np.asarray(pose_flag).reshape(-1)[0]))


def refine_with_heatmap(unit_xy: np.ndarray, heatmap_logits: np.ndarray, kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = HEATMAP_MIN_CONFIDENCE) -> np.ndarray:
    """(K, 2) regressed positions (0..1) + (H, W, K) heatmap logits -> (K, 2) refined positions.

    For each point, the sigmoid confidences in the `kernel` x `kernel` cells around its cell (clipped at the
    map's edge) are averaged as weights over the cells' indices; where the best of them reaches
    `min_confidence`, that weighted index divided by the map size replaces the regressed position (the heatmap is
    sharper than the regression on fine joints). Index i stands for position i / size, not (i + 0.5) / size:
    that is the reading under which the refined points agree with the regressed ones on average (measured on the
    sample photos); the other would shift every refined point by half a cell.
    """
    height, width, count = heatmap_logits.shape
    half = kernel // 2
    centre_col = np.clip((unit_xy[:, 0] * width).astype(np.int64), 0, width - 1)
    centre_row = np.clip((unit_xy[:, 1] * height).astype(np.int64), 0, height - 1)
    steps = np.arange(-half, half + 1)
    rows = centre_row[:, None, None] + steps[None, :, None]  # (K, kernel, 1)
    cols = centre_col[:, None, None] + steps[None, None, :]  # (K, 1, kernel)
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)  # (K, kernel, kernel)
    which = np.arange(count)[:, None, None]
    logits = heatmap_logits[np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1), which]
    confidence = np.where(inside, sigmoid(logits.astype(np.float64)), 0.0)
    total = confidence.sum(axis=(1, 2))
    refine = confidence.max(axis=(1, 2)) >= min_confidence
    refined = unit_xy.copy()
    refined[refine, 0] = (confidence * cols).sum(axis=(1, 2))[refine] / total[refine] / width
    refined[refine, 1] = (confidence * rows).sum(axis=(1, 2))[refine] / total[refine] / height
    return refined
