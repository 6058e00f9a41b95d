"""Find the people in a frame with the bundled NanoDet-g COCO detector; no network access, no user weights.

Chosen over MediaPipe's BlazePose person detector and MoveNet MultiPose by recall measured on real photos
(docs/detection.md): it finds people facing away and people down to about 50 px tall, which the face-anchored
BlazePose detector misses. The weights ship in `assets/models/` (Apache-2.0, see LICENSES.md there), converted
from the published TensorFlow.js model by `tools/convert_tfjs_graph.py`. Small people in large frames get
a second, zoomed pass where it is likely to pay (`detect`; docs/detection.md, "Small people").
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..image_io import check_rgb_image
from ..people import nanodet, tiles
from ..people.graph_program import GraphProgram, native_bf16

MODEL_PATH = Path(__file__).resolve().parents[2] / "assets" / "models" / "nanodet_g_416_coco.npz"

#: Person score from which a box is reported. Chosen on the measured photos (docs/detection.md): every
#: person there scores above it, and it leaves almost no boxes on things that are not people.
DEFAULT_SCORE_THRESHOLD = 0.35
#: Longer side of the network input in pixels. NanoDet-g was trained at 416; larger finds smaller people in
#: big frames at a cost that grows with the area (docs/detection.md has the figures).
DEFAULT_INPUT_SIZE = 416
#: Longer side in pixels at which the second pass sees a whole frame (never more than the frame's own): at
#: 1440, a 60 px person of a 1920x1080 frame is 45 px tall in the network. Chosen on labelled frames of
#: small people (docs/detection.md, "Small people") for recall against cost (about 8 first passes).
DEFAULT_SECOND_SIZE = 1440
#: Person score from which a box of the second pass is reported; the zoomed network sees more small
#: things that look like people, so it asks a little more (docs/detection.md, "Small people").
DEFAULT_SECOND_THRESHOLD = 0.4
#: The full second pass runs when the first returns fewer people than this (and the frame is large).
DEFAULT_MIN_PEOPLE = 1
#: A frame is large enough for a second pass when its longer side is at least this many network inputs.
LARGE_FRAME = 2
#: Quarter turns (clockwise) of the picture the detector also looks at, for people lying down, upside down or
#: filmed sideways: trained on upright people, it misses most of them as they are (a walker turned 90 degrees:
#: no box in any frame), and finds them turned upright.
TURNS = (1, 2, 3)
#: The turns that stand a person lying on their side upright, and the least width / height of such a box: the
#: tracker's missed people get these turned looks only where their boxes are wider than tall (an upright person
#: whom something hides, the usual miss, costs nothing more; 1.25 lost a jumper filmed sideways, arms and legs
#: spread, for ten frames).
SIDEWAYS_TURNS = (1, 3)
LYING_ASPECT = 1.0
#: ... and the turn a missed person with an upright box gets: upside down (a handstand, a walker turned over), the
#: upright passes miss them as well, and a scan alone (about a second apart) cannot keep their track alive.
HALF_TURN = (2,)
#: Person score from which a box of a turned picture is reported (docs/detection.md, "Turned people").
DEFAULT_TURNED_THRESHOLD = 0.5
#: Least side in network pixels of a second-pass window around an expected person. A window is sized to its
#: person (`tiles.window_around`), not a whole network input: a 75 px person of a 1080p frame costs a 192 px
#: square input, a fifth of a 416 one; this leaves a few of the network's coarsest (32 px) cells around them.
WINDOW_MIN_INPUT = 128


class PersonDetector:
    """Person boxes for RGB frames. Stateless between calls; one instance per worker thread is safe."""

    def __init__(self, program: GraphProgram, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
                 input_size: int = DEFAULT_INPUT_SIZE, second_size: int = DEFAULT_SECOND_SIZE,
                 second_threshold: float = DEFAULT_SECOND_THRESHOLD, min_people: int = DEFAULT_MIN_PEOPLE):
        if input_size % 32 or input_size < 64:
            raise ValueError(f"input_size must be a multiple of 32 and at least 64, got {input_size}")
        self.program = program
        self.score_threshold = score_threshold
        self.input_size = input_size
        self.second_size = second_size
        self.second_threshold = max(second_threshold, score_threshold)
        self.min_people = min_people
        self.turned_threshold = max(DEFAULT_TURNED_THRESHOLD, score_threshold)

    @classmethod
    def load(cls, path: Path = MODEL_PATH, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
             input_size: int = DEFAULT_INPUT_SIZE, second_size: int = DEFAULT_SECOND_SIZE,
             second_threshold: float = DEFAULT_SECOND_THRESHOLD, min_people: int = DEFAULT_MIN_PEOPLE
             ) -> PersonDetector:
        """The bundled detector; raises `UserError` naming the file if it is missing or damaged. It runs in
        bfloat16 where the CPU does so natively (`native_bf16`): about half the time of fp32 (detection is the
        largest part of the pipeline's own cost) for boxes that move by a fraction of a pixel and the same
        recall (docs/detection.md, "Precision"); the tracker and the landmarks refine the boxes anyway."""
        return cls(GraphProgram.load(Path(path), bf16=native_bf16()), score_threshold, input_size, second_size,
                   second_threshold, min_people)

    def detect(self, image_rgb: np.ndarray, expected: np.ndarray | None = None,
               scan: bool | None = None, weak_threshold: float | None = None) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (K, 6) float32 rows [x, y, w, h, score, turns] in the image's pixels, `turns`
        the quarter turns clockwise of the picture in which the box's person stood upright (0 but for the turned
        passes below): a crop turned that way shows them upright (`inference.turned_crops`).

        Only people, one box each, best score first, scores >= `score_threshold`; boxes clipped to the image.
        A frame whose longer side is at least `LARGE_FRAME` network inputs gets a second pass at `second_size`
        (docs/detection.md, "Small people"): over the whole frame when `scan` is True, or when `scan` is None
        and the first pass found fewer than `min_people`; otherwise only around the `expected` people ((M, 4+)
        [x, y, w, h] boxes, e.g. a tracker's predictions) that the first pass did not return. `scan=False`
        and no `expected` give the first pass alone. The same calls look at the picture turned a quarter, a half
        and three quarters (`_turned`: people lying down or upside down; docs/detection.md, "Turned people"), on
        the whole frame when it is scanned or nobody was found nor expected, and around expected people whom
        every other pass missed (a quarter either way where their box lies on its side, else a half).
        `weak_threshold` (below `score_threshold`) adds the first pass's boxes scoring from it up, after the
        others: too unsure to count as people, but a tracker may take one where it expects a person it already
        follows (`OnlineTracker.update`).
        """
        check_rgb_image(image_rgb)
        if expected is not None:
            expected = np.asarray(expected, np.float64)
            if expected.ndim != 2 or expected.shape[1] < 4 or not np.isfinite(expected[:, :4]).all():
                raise ValueError(f"expected must be (M, 4+) finite [x, y, w, h] boxes, got shape {expected.shape}")
        height, width = image_rgb.shape[:2]
        floor = self.score_threshold if weak_threshold is None else min(weak_threshold, self.score_threshold)
        candidates = self._pass(image_rgb, (0, 0, width, height), self.input_size / max(height, width), floor)
        sure = candidates[:, 4] >= self.score_threshold
        first, weak = candidates[sure], candidates[~sure]
        found = self._turned(image_rgb, self._zoomed(image_rgb, first, expected, scan), expected, scan)
        return found if not len(weak) else np.concatenate([found, weak])

    def _turned(self, image_rgb: np.ndarray, found: np.ndarray, expected: np.ndarray | None,
                scan: bool | None) -> np.ndarray:
        """`found`, with the boxes of the picture turned by each of `TURNS` merged in: over the whole frame at
        the first pass's scale when `scan` is True, or is None and nobody was found nor expected; otherwise
        around each expected person still missed, turned a quarter either way where their box lies on its side
        (a person lying down whom the tracker follows), else upside down. A person the tracker expects upright
        is not looked for turned over the whole frame when missed: a cartwheel's body found lying for a frame
        gave their track a box twice their size for the frames after (the `turn` quality clip cut below the
        knees). A turned box only adds a person where no upright box is (`tiles.apart_from`): turned, an upright
        person's box can take in what stands beside them."""
        height, width = image_rgb.shape[:2]
        if scan or (scan is None and len(found) < self.min_people and (expected is None or not len(expected))):
            windows = [((0, 0, width, height), self.input_size / max(height, width), TURNS)]
        elif expected is None:
            windows = []
        else:
            second_scale = min(1.0, self.second_size / max(height, width))
            lying = expected[:, 2] > LYING_ASPECT * expected[:, 3]
            windows = [(window, window_scale, turns) for boxes, turns in ((expected[lying], SIDEWAYS_TURNS),
                                                                          (expected[~lying], HALF_TURN))
                       for window, window_scale, _ in self._windows(found, boxes, second_scale, (height, width))]
        passes = [self._pass(image_rgb, window, window_scale, self.turned_threshold, turn)
                  for window, window_scale, turns in windows for turn in turns]
        if not passes:
            return found
        return tiles.merge_passes([found, tiles.apart_from(tiles.merge_passes(passes), found)])

    def _zoomed(self, image_rgb: np.ndarray, first: np.ndarray, expected: np.ndarray | None,
                scan: bool | None) -> np.ndarray:
        """The first pass's boxes, with the second pass's merged in where `detect` says it runs."""
        height, width = image_rgb.shape[:2]
        long_side = max(height, width)
        second_scale = min(1.0, self.second_size / long_side)
        if long_side < LARGE_FRAME * self.input_size or second_scale * long_side <= self.input_size:
            return first  # too small a frame for a zoom to show more
        if scan is None:
            scan = len(first) < self.min_people
        windows = [] if scan else self._windows(first, expected, second_scale, (height, width))
        if scan or sum(cost for _, _, cost in windows) >= height * width * second_scale ** 2:
            windows = [((0, 0, width, height), second_scale, 0.0)]
        if not windows:
            return first
        return tiles.merge_passes([first, *(self._pass(image_rgb, window, scale, self.second_threshold)
                                             for window, scale, _ in windows)])

    def _windows(self, first: np.ndarray, expected: np.ndarray | None, scale: float, image_hw: tuple[int, int]
                 ) -> list[tuple[tuple[int, int, int, int], float, float]]:
        """(window, its scale, its network pixels) around each expected person the first pass missed, sized to
        the person (`tiles.window_around`) at `scale`, or at a lower scale where it is larger than one input."""
        if expected is None:
            return []
        windows = []
        for box in tiles.missed(expected, first):
            if box[2] > 0 and box[3] > 0:
                x0, y0, x1, y1 = tiles.window_around(box, self.input_size / scale, WINDOW_MIN_INPUT / scale,
                                                  image_hw)
                window_scale = min(scale, self.input_size / max(x1 - x0, y1 - y0))
                windows.append(((x0, y0, x1, y1), window_scale, (x1 - x0) * (y1 - y0) * window_scale ** 2))
        return windows

    def _pass(self, image_rgb: np.ndarray, window: tuple[int, int, int, int], scale: float,
              threshold: float, turn: int = 0) -> np.ndarray:
        """The network over `window` (x0, y0, x1, y1) of the image at `scale`, turned `turn` quarter turns
        clockwise -> (K, 6) NMSed image boxes scoring at least `threshold`, their last column `turn`; boxes
        cut by an inner edge of a window that is not the whole image are dropped."""
        x0, y0, x1, y1 = window
        crop = image_rgb[y0:y1, x0:x1]
        long_side = max(32, round(max(crop.shape[:2]) * scale))
        tensor, scale, (left, top) = nanodet.network_input(crop, long_side)
        if turn:  # the network's input turned, not the frame: a fraction of the pixels to move
            tensor = torch.rot90(tensor, -turn, dims=(2, 3)).contiguous(memory_format=torch.channels_last)
        outputs = self.program(tensor)
        boxes, scores = nanodet.person_candidates(outputs, tuple(tensor.shape[2:]), threshold)
        kept = nanodet.non_max_suppression(boxes, scores)
        corners = unturned(boxes[kept].numpy(), turn, tuple(tensor.shape[2:]))
        rows = to_image_boxes(corners, scores[kept].numpy(), scale, (left, top), crop.shape[:2])
        rows[:, :2] += np.array([x0, y0], np.float32)
        rows = np.concatenate([rows, np.full((len(rows), 1), turn, np.float32)], axis=1)
        if (x1 - x0, y1 - y0) == (image_rgb.shape[1], image_rgb.shape[0]):
            return rows
        return rows[tiles.not_cut(rows, window, image_rgb.shape[:2], scale)]


def to_image_boxes(corners: np.ndarray, scores: np.ndarray, scale: float, offset: tuple[int, int],
                   image_hw: tuple[int, int]) -> np.ndarray:
    """(K, 4) x1, y1, x2, y2 in network-input pixels -> (K, 5) x, y, w, h, score in image pixels, clipped."""
    height, width = image_hw
    corners = (corners - np.array(offset * 2, np.float32)) / scale
    corners = np.clip(corners, 0, [width, height, width, height])
    sizes = corners[:, 2:] - corners[:, :2]
    rows = np.concatenate([corners[:, :2], sizes, scores[:, None]], axis=1).astype(np.float32)
    return rows[(sizes > 0).all(axis=1)]


def unturned(corners: np.ndarray, turns: int, turned_hw: tuple[int, int]) -> np.ndarray:
    """(K, 4) boxes x1, y1, x2, y2 found in a picture turned `turns` quarter turns clockwise, whose (height,
    width) is `turned_hw` -> the same boxes in the picture as it was: each turn undone maps a point (u, v) of the
    turned picture to (v, turned width - u), so a box's sides trade places."""
    corners = np.asarray(corners, np.float32).copy()
    height, width = turned_hw
    for _ in range(turns % 4):
        x1, y1, x2, y2 = (corners[:, i].copy() for i in range(4))
        corners[:, 0], corners[:, 1], corners[:, 2], corners[:, 3] = y1, width - x2, y2, width - x1
        height, width = width, height
    return corners
