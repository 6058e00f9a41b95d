"""Find the people in a frame with the bundled NanoDet-g COCO detector; no network access, no user weights.

Chosen over MediaPipe's BlazePose person detector and MoveNet MultiPose by recall measured on real photos
(docs/detection.md): it finds people facing away and people down to about 50 px tall, which the face-anchored
BlazePose detector misses. The weights ship in `assets/models/` (Apache-2.0, see LICENSES.md there), converted
from the published TensorFlow.js model by `tools/convert_tfjs_graph.py`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from contract.errors import UserError
from ..image_io import check_rgb_image
from ..people import nanodet
from ..people.graph_program import GraphProgram

MODEL_PATH = Path(__file__).resolve().parents[2] / "assets" / "models" / "nanodet_g_416_coco.npz"

#: Person score from which a box is reported. Chosen on the measured photos (docs/detection.md): every
#: person there scores above it, and it leaves almost no boxes on things that are not people.
DEFAULT_SCORE_THRESHOLD = 0.35
#: Longer side of the network input in pixels. NanoDet-g was trained at 416; larger finds smaller people in
#: big frames at a cost that grows with the area (docs/detection.md has the figures).
DEFAULT_INPUT_SIZE = 416


class PersonDetector:
    """Person boxes for RGB frames. Stateless between calls; one instance per worker thread is safe."""

    def __init__(self, program: GraphProgram, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
                 input_size: int = DEFAULT_INPUT_SIZE):
        if input_size % 32 or input_size < 64:
            raise ValueError(f"input_size must be a multiple of 32 and at least 64, got {input_size}")
        self.program = program
        self.score_threshold = score_threshold
        self.input_size = input_size

    @classmethod
    def load(cls, path: Path = MODEL_PATH, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
             input_size: int = DEFAULT_INPUT_SIZE) -> PersonDetector:
        """The bundled detector; raises `UserError` naming the file if it is missing or damaged."""
        return cls(GraphProgram.load(Path(path)), score_threshold, input_size)

    def detect(self, image_rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (K, 5) float32 rows [x, y, w, h, score] in the image's pixels.

        Only people, after NMS, best score first, scores >= `score_threshold`; boxes are clipped to the image.
        """
        check_rgb_image(image_rgb)
        tensor, scale, (left, top) = nanodet.network_input(image_rgb, self.input_size)
        outputs = self.program(tensor)
        boxes, scores = nanodet.person_candidates(outputs, tuple(tensor.shape[2:]), self.score_threshold)
        kept = nanodet.non_max_suppression(boxes, scores)
        return to_image_boxes(boxes[kept].numpy(), scores[kept].numpy(), scale, (left, top), image_rgb.shape[:2])


def to_image_boxes(corners: np.ndarray, scores: np.ndarray, scale: float, offset: tuple[int, int],
                   image_hw: tuple[int, int]) -> np.ndarray:
    """(K, 4) x1, y1, x2, y2 in network-input pixels -> (K, 5) x, y, w, h, score in image pixels, clipped."""
    height, width = image_hw
    corners = (corners - np.array(offset * 2, np.float32)) / scale
    corners = np.clip(corners, 0, [width, height, width, height])
    sizes = corners[:, 2:] - corners[:, :2]
    rows = np.concatenate([corners[:, :2], sizes, scores[:, None]], axis=1).astype(np.float32)
    return rows[(sizes > 0).all(axis=1)]
