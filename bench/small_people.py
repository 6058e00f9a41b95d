"""Labelled 1920x1080 frames with several people 40-250 px tall, for measuring the detector on small people.

Made on the fly from material the project already ships (nothing is downloaded or written): people are
(a) the clothed stand-in body cut out with its exact mask from the rendered motion-quality clips
(`bench/quality_data/`, `tools/make_quality_clips.py`), and (b) the two real people of the license-free sample
`assets/samples/park_jumping_walking.mp4`, cut as rectangles with some of their lawn and trees around them
(no mask exists for them; their boxes are the detector's own at the clip's full size, 200-230 px tall, checked
by eye). Backgrounds: the quality clips' room with the person painted out, the `rocket` sample photo, and
smooth coloured noise with straight edges, all scaled up to 1920x1080. Each person is scaled to a height
drawn in turn from `BUCKETS` and pasted where it overlaps nobody; the frame gets mild sensor noise.

Caveats: a pasted person has sharp, unnatural edges and no shadow, and a real person's rectangle is a visible
patch of another scene; both can make people easier or harder to find than in real footage. The real people's
boxes come from the same detector that is measured (at a larger scale), which favours it a little on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.frames import FrameRange, open_frames

ROOT = Path(__file__).resolve().parents[1]
QUALITY = ROOT / "bench" / "quality_data"
PARK = ROOT / "assets" / "samples" / "park_jumping_walking.mp4"
ROCKET = ROOT / "assets" / "samples" / "rocket.jpg"
FRAME_WH = (1920, 1080)
#: Person heights in pixels, one bucket per pasted person in turn.
BUCKETS = ((40, 60), (60, 80), (80, 100), (100, 150), (150, 250))
#: Park-clip frames whose two people the detector finds with score >= 0.5 at the clip's own size.
PARK_FRAMES = range(40, 100, 6)
MARGIN = 0.15  # context kept around a real person's box, as a fraction of its size on each side


@dataclass
class Cutout:
    """A person to paste: RGB pixels, where they are opaque, and the person's box [x, y, w, h] in them."""
    rgb: np.ndarray
    alpha: np.ndarray
    box: np.ndarray
    kind: str


def read_frames(path: Path, indices: range) -> dict[int, np.ndarray]:
    """The RGB frames of a video at `indices`, read as the estimate job reads them."""
    return dict(open_frames(path, FrameRange(indices.start, indices.stop, indices.step)))


def rendered_people(step: int = 9) -> tuple[list[Cutout], list[np.ndarray]]:
    """Stand-in body cutouts from every `step`-th frame of each quality clip, and the rooms painted empty."""
    cutouts, rooms = [], []
    for truth_path in sorted(QUALITY.glob("*_truth.npz")):
        masks = np.unpackbits(np.load(truth_path)["mask_bits"], axis=-1).astype(bool)
        frames = read_frames(truth_path.with_name(truth_path.name.replace("_truth.npz", ".mp4")),
                             range(0, len(masks), step))
        for index, rgb in frames.items():
            mask = masks[index][:rgb.shape[0], :rgb.shape[1]]
            ys, xs = np.nonzero(mask)
            if len(ys) == 0 or ys.min() == 0 or ys.max() == mask.shape[0] - 1:
                continue  # cut by the frame edge: not a whole person
            top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            cutouts.append(Cutout(rgb[top:bottom, left:right], mask[top:bottom, left:right].astype(np.float32),
                                  np.array([0, 0, right - left, bottom - top], np.float32), "rendered"))
        first = min(frames)
        hole = cv2.dilate(masks[first].astype(np.uint8), np.ones((9, 9), np.uint8))
        rooms.append(cv2.inpaint(frames[first], hole, 5, cv2.INPAINT_TELEA))
    return cutouts, rooms


def real_people(detect) -> list[Cutout]:
    """Rectangles around the park clip's two people in each frame of `PARK_FRAMES` where `detect` (a
    PersonDetector's) finds both with score >= 0.5, with their boxes."""
    cutouts = []
    for rgb in read_frames(PARK, PARK_FRAMES).values():
        found = detect(rgb)
        if len(found) != 2 or found[:, 4].min() < 0.5:
            continue
        height, width = rgb.shape[:2]
        for x, y, w, h in found[:, :4]:
            left, top = int(max(0, x - MARGIN * w)), int(max(0, y - MARGIN * h))
            right, bottom = int(min(width, x + w * (1 + MARGIN))), int(min(height, y + h * (1 + MARGIN)))
            patch = rgb[top:bottom, left:right]
            cutouts.append(Cutout(patch, np.ones(patch.shape[:2], np.float32),
                                  np.array([x - left, y - top, w, h], np.float32), "real"))
    return cutouts


def noise_background(rng: np.random.Generator) -> np.ndarray:
    """Smooth coloured noise with a few straight-edged blocks, like a blurred facade or street."""
    coarse = rng.uniform(40, 220, (9, 16, 3)).astype(np.float32)
    image = cv2.resize(coarse, FRAME_WH, interpolation=cv2.INTER_CUBIC)
    for _ in range(12):
        x, y = int(rng.integers(0, FRAME_WH[0])), int(rng.integers(0, FRAME_WH[1]))
        w, h = int(rng.integers(40, 600)), int(rng.integers(20, 300))
        image[y:y + h, x:x + w] = image[y:y + h, x:x + w] * 0.5 + rng.uniform(30, 230, 3) * 0.5
    return np.clip(image, 0, 255).astype(np.uint8)


def cover(image: np.ndarray) -> np.ndarray:
    """`image` scaled to cover the frame size and centre-cropped to it."""
    scale = max(FRAME_WH[0] / image.shape[1], FRAME_WH[1] / image.shape[0])
    big = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                     interpolation=cv2.INTER_CUBIC)
    top, left = (big.shape[0] - FRAME_WH[1]) // 2, (big.shape[1] - FRAME_WH[0]) // 2
    return big[top:top + FRAME_WH[1], left:left + FRAME_WH[0]]


def paste(frame: np.ndarray, person: Cutout, height: float, at: tuple[int, int]) -> np.ndarray:
    """Blend `person` scaled so their box is `height` px tall with its top-left at `at`; their box, in frame."""
    scale = height / person.box[3]
    size = (max(1, round(person.rgb.shape[1] * scale)), max(1, round(person.rgb.shape[0] * scale)))
    rgb = cv2.resize(person.rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.resize(person.alpha, size, interpolation=cv2.INTER_AREA)[..., None]
    left, top = round(at[0] - person.box[0] * scale), round(at[1] - person.box[1] * scale)
    region = frame[top:top + size[1], left:left + size[0]]
    region[:] = (region * (1 - alpha) + rgb * alpha).astype(np.uint8)
    return np.array([left + person.box[0] * scale, top + person.box[1] * scale, person.box[2] * scale,
                     height], np.float32)


def overlaps(box: np.ndarray, placed: list[np.ndarray], gap: float = 0.3) -> bool:
    """Whether `box`, grown by `gap` of its size, meets any placed box."""
    x, y, w, h = box
    x, y, w, h = x - gap * w, y - gap * h, w * (1 + 2 * gap), h * (1 + 2 * gap)
    return any(x < px + pw and px < x + w and y < py + ph and py < y + h for px, py, pw, ph in placed)


class FrameMaker:
    """Deterministic labelled frames: `frame(i)` -> (1080, 1920, 3) uint8 RGB, (N, 4) boxes, N kinds."""

    def __init__(self, detect, people_per_frame: int = 6, seed: int = 0):
        """`detect`: a PersonDetector's `detect`, which boxes the park clip's real people (`real_people`)."""
        self.rendered, self.rooms = rendered_people()
        self.real = real_people(detect)
        self.backgrounds = [cover(room) for room in self.rooms] + [cover(cv2.imread(str(ROCKET))[:, :, ::-1])]
        self.people_per_frame = people_per_frame
        self.seed = seed

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        rng = np.random.default_rng((self.seed, index))
        choice = index % (len(self.backgrounds) + 1)
        frame = noise_background(rng) if choice == len(self.backgrounds) else self.backgrounds[choice].copy()
        boxes, kinds = [], []
        for slot in range(self.people_per_frame):
            low, high = BUCKETS[(index * self.people_per_frame + slot) % len(BUCKETS)]
            pool = self.real if slot % 2 else self.rendered
            person = pool[int(rng.integers(len(pool)))]
            height = float(rng.uniform(low, high))
            width = height * person.box[2] / person.box[3]
            for _ in range(50):  # the margin keeps a real person's patch inside the frame
                at = (int(rng.uniform(0.3 * width + 4, FRAME_WH[0] - 1.3 * width - 4)),
                      int(rng.uniform(0.2 * height + 4, FRAME_WH[1] - 1.2 * height - 4)))
                if not overlaps(np.array([*at, width, height]), boxes):
                    boxes.append(paste(frame, person, height, at))
                    kinds.append(person.kind)
                    break
        noisy = frame.astype(np.float32) + rng.normal(0, 3, frame.shape)
        return np.clip(noisy, 0, 255).astype(np.uint8), np.array(boxes, np.float32).reshape(-1, 4), kinds
