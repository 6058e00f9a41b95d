"""MediaPipe's BlazePose landmark model (full): 33 body landmarks in the image and in metres, per person box.

The bundled `pose_landmark_full.tflite` (Apache-2.0, assets/models/LICENSES.md) runs on LiteRT (`ai-edge-litert`)
with its XNNPACK CPU kernels: about 7 ms per person on two idle cores (14 ms on one). Running the same graph
converted to eager torch was measured side by side: about ten times slower on this CPU (174 ms against 15 ms
on a busy machine; its depthwise convolutions are slow there), and the project's torch is the CPU build.

Pipeline for one person, as MediaPipe's `PoseLandmarkByRoiCpu` graph: square region around the box
(`roi.roi_from_box`), bilinear crop to 256 x 256 with the edge pixels repeated outside the image (the graph's
default border mode), RGB scaled to 0..1, the network, `decode.decode`, then crop -> image positions and the
world points turned by the region's rotation.

Landmark order is MediaPipe's (`inference.fitting.landmarks.BLAZEPOSE_LANDMARK_NAMES`; "left" = the person's
left). World axes, checked on the sample photos: x towards the image's right, y down, z away from the camera
(a person facing the camera has the nose at negative z), origin at the hips' centre, metres.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from contract.errors import UserError
from ..image_io import check_rgb_image
from . import decode
from .roi import (ROI_SCALE, Roi, crop_to_image, image_to_crop_affine, roi_from_alignment_points, roi_from_box,
                  rotate_to_image_axes, to_pixel_centre_affine)

MODEL_PATH = Path(__file__).resolve().parents[2] / "assets" / "models" / "pose_landmark_full.tflite"
#: The network's input side in pixels.
INPUT_SIZE = 256
#: Pose presence below which a crop is reported as holding nobody: MediaPipe's `ThresholdingCalculator` value.
DEFAULT_MIN_SCORE = 0.5
#: CPU threads for the network: the project's target machine has two cores (one thread takes twice as long).
DEFAULT_THREADS = 2
#: Region sizes (times the usual one) tried in turn when the model is unsure of a box's region. Only smaller:
#: a larger region also brought "people" out of empty scenery (the rocket sample's whole frame, 0.56).
RETRY_SCALES = (0.8,)


@dataclass(frozen=True)
class Landmarks:
    """One person's 33 landmarks (MediaPipe's order)."""

    image: np.ndarray  # (33, 2) float64 pixels of the full image, pixel (i, j) centred on (i + 0.5, j + 0.5)
    visibility: np.ndarray  # (33,) 0..1 the point is in view, not hidden by the body or something else
    presence: np.ndarray  # (33,) 0..1 the point lies inside the crop at all
    world: np.ndarray  # (33, 3) metres, origin at the hips' centre, x right, y down, z away from the camera
    score: float  # 0..1 pose presence: that the crop holds a person
    roi: Roi  # the region the network saw
    next_roi: Roi  # where the body is now, from its hips' centre and enclosing circle: the next frame's region

    @property
    def confidence(self) -> np.ndarray:
        """(33,) visibility x presence: how much to trust each point's position, e.g. as a fitting weight."""
        return self.visibility * self.presence


class LandmarkModel:
    """Landmarks for person boxes. Holds one LiteRT interpreter: use one instance per thread.

    One network call per person: batching crops was measured to save nothing per person with LiteRT's CPU
    kernels, and changing the batch size re-plans the graph (7-17 ms).
    """

    def __init__(self, interpreter, min_score: float = DEFAULT_MIN_SCORE):
        self.interpreter = interpreter
        self.min_score = min_score
        self._input = interpreter.get_input_details()[0]["index"]
        # Output order of the graph: landmarks (195), pose flag (1), segmentation, heatmap (64x64x39), world (117).
        outputs = [detail["index"] for detail in interpreter.get_output_details()]
        self._landmarks, self._flag, self._segmentation, self._heatmap, self._world = outputs

    @classmethod
    def load(cls, path: Path = MODEL_PATH, min_score: float = DEFAULT_MIN_SCORE,
             threads: int = DEFAULT_THREADS) -> LandmarkModel:
        """The bundled model; raises `UserError` naming the file if it is missing or damaged, or LiteRT is absent."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"The bundled landmark model {path} is missing. Reinstall the project (the file ships "
                            f"in assets/models/).")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as error:
            raise UserError("The keypoint backend needs the package ai-edge-litert. Reinstall the project's "
                            "Python environment (pip install -e .).") from error
        try:
            interpreter = Interpreter(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as error:
            raise UserError(f"The bundled landmark model {path} is damaged ({error}). Reinstall the project.") \
                from error
        return cls(interpreter, min_score)

    def landmarks(self, image_rgb: np.ndarray, box_xywh: np.ndarray, min_score: float | None = None
                  ) -> Landmarks | None:
        """(H, W, 3) uint8 RGB image + (4,) tight person box (x, y, w, h) pixels -> landmarks, or None when the
        model's pose presence stays below `min_score` (nobody, or too little of a person, in the box).

        The box's region first; where the model is unsure there, the region a little smaller (`RETRY_SCALES`;
        each with its mirror image, see `landmarks_in_roi`): on back and occluded
        views the pose presence swings between near 0 and near 1 with a few pixels' change of the region
        (the person on the stairs of the `ascent` sample: 0.31 to 1.0 for boxes 1 px apart), so one region
        alone loses people the model does see. A person seen clearly costs one network call, as before.
        `min_score` replaces the model's own floor, e.g. 0 where a person is known to be in the box."""
        for scale in (1.0,) + RETRY_SCALES:
            found = self.landmarks_in_roi(image_rgb, roi_from_box(box_xywh, ROI_SCALE * scale), min_score)
            if found is not None:
                return found
        return None

    def landmarks_in_roi(self, image_rgb: np.ndarray, roi: Roi, min_score: float | None = None
                         ) -> Landmarks | None:
        """Landmarks for an explicit region, e.g. MediaPipe's tracking region (`roi.roi_from_alignment_points`
        on the previous frame's hips' centre and body-circle point). Where the model is unsure of the region,
        its mirror image is tried too and the surer of the two kept (`decode.mirrored` says why)."""
        check_rgb_image(image_rgb)
        crop = crop_roi(image_rgb, roi, INPUT_SIZE)
        floor = self.min_score if min_score is None else min_score
        raw = self._run(crop)
        if raw.score < floor:
            raw = max(raw, decode.mirrored(self._run(np.ascontiguousarray(crop[:, ::-1]))), key=lambda r: r.score)
        if raw.score < floor:
            return None
        body = slice(0, decode.BODY_POINTS)
        centre, circle = crop_to_image(raw.unit_xy[[decode.HIP_CENTRE_POINT, decode.BODY_CIRCLE_POINT]], roi)
        return Landmarks(image=crop_to_image(raw.unit_xy[body], roi), visibility=raw.visibility[body],
                         presence=raw.presence[body], world=rotate_to_image_axes(raw.world[body], roi),
                         score=raw.score, roi=roi, next_roi=roi_from_alignment_points(centre, circle))

    def person_mask(self, image_rgb: np.ndarray, roi: Roi) -> np.ndarray:
        """(H, W) bool: the pixels of the person the model sees in `roi` (its segmentation output, carried back
        into the picture), e.g. the region of landmarks it found; False outside the region."""
        self._run(crop_roi(image_rgb, roi, INPUT_SIZE))
        logits = self.interpreter.get_tensor(self._segmentation)[0, :, :, 0]
        affine = to_pixel_centre_affine(image_to_crop_affine(roi, logits.shape[0]))
        inside = cv2.warpAffine((logits > 0).astype(np.uint8), affine, (image_rgb.shape[1], image_rgb.shape[0]),
                                flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
        return inside > 0

    def _run(self, crop: np.ndarray) -> decode.CropLandmarks:
        """(S, S, 3) uint8 crop -> decoded network output."""
        self.interpreter.set_tensor(self._input, (crop.astype(np.float32) * np.float32(1 / 255))[None])
        self.interpreter.invoke()
        get = self.interpreter.get_tensor
        return decode.decode(get(self._landmarks), get(self._flag), get(self._heatmap), get(self._world), INPUT_SIZE)


def crop_roi(image_rgb: np.ndarray, roi: Roi, size: int) -> np.ndarray:
    """(H, W, 3) uint8 image -> (size, size, 3) uint8 bilinear crop of `roi`, edge pixels repeated outside."""
    affine = to_pixel_centre_affine(image_to_crop_affine(roi, size))
    return cv2.warpAffine(image_rgb, affine, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


