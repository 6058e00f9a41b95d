"""Small people: the detector's recall by person height and its cost per frame, for each configuration.

Frames come from `bench/small_people.py` (1920x1080, six pasted people 40-250 px tall each, known boxes;
made on the fly, nothing written). A person is found when a box has IoU >= 0.5 with theirs (each box used
once); `false` counts boxes that match nobody. Times (ms per frame) depend on the machine's load: the last
column, the median over frames of the time over the first pass's on the same frame, is the one to compare.
Configurations: the first pass alone; the full second pass (`scan=True`) at each `--second-sizes` and
`--second-thresholds`; the default policy (a second pass only when the first finds nobody); the default
policy told where everyone is (`expected` = the true boxes moved by up to a fifth of their size, as a
tracker's predictions), or where the smallest person is (the cost of one window). Then the boxes on frames
with nobody in them (the backgrounds alone) and on the sample photos (assets/samples, 1, 1, 2 and 0 people)
at half the height of a 1920x1080 frame, first pass alone / with `scan=True`.

    OMP_NUM_THREADS=2 python bench/bench_detection.py [--frames 40] [--second-sizes 1024,1440,1920]
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from inference.image_io import read_image_rgb  # noqa: E402
from inference.people.detector import MODEL_PATH, PersonDetector  # noqa: E402
from inference.people.graph_program import GraphProgram  # noqa: E402
from inference.people.tiles import overlap_matrix  # noqa: E402
from small_people import BUCKETS, FRAME_WH, FrameMaker  # noqa: E402

SAMPLES = ROOT / "assets" / "samples"
FOUND_IOU = 0.5


def matches(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Greedy one-to-one matching by IoU -> (N,) bool: whether each true box was found."""
    hit = np.zeros(len(truth), bool)
    if len(found) == 0 or len(truth) == 0:
        return hit
    iou = overlap_matrix(truth, found)[0]
    for t, f in sorted(np.argwhere(iou >= FOUND_IOU), key=lambda tf: -iou[tf[0], tf[1]]):
        if not hit[t] and np.isfinite(iou[:, f]).all():
            hit[t], iou[:, f] = True, np.nan
    return hit


def bucket_of(heights: np.ndarray) -> np.ndarray:
    return np.searchsorted([high for _, high in BUCKETS[:-1]], heights, side="right")


def tracker_guess(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The true boxes moved and resized by up to a fifth of their size, like a tracker's predictions."""
    jitter = rng.uniform(-0.2, 0.2, truth.shape) * truth[:, [2, 3, 2, 3]]
    return truth + jitter * np.array([1, 1, 0.5, 0.5])


@dataclass
class Tally:
    """Found and present people per height bucket, false boxes, and ms per frame of one configuration."""
    found: np.ndarray = field(default_factory=lambda: np.zeros(len(BUCKETS), int))
    total: np.ndarray = field(default_factory=lambda: np.zeros(len(BUCKETS), int))
    false: int = 0
    ms: list[float] = field(default_factory=list)

    def add(self, boxes: np.ndarray, truth: np.ndarray, ms: float) -> None:
        hit = matches(boxes, truth)
        np.add.at(self.total, bucket_of(truth[:, 3]), 1)
        np.add.at(self.found, bucket_of(truth[hit, 3]), 1)
        self.false += len(boxes) - int(hit.sum())
        self.ms.append(ms)

    def row(self, name: str, baseline: list[float]) -> str:
        cells = [f"{f}/{t} ({100 * f / max(t, 1):.0f}%)" for f, t in zip(self.found, self.total)]
        ratio = np.median(np.array(self.ms) / np.array(baseline))
        return f"| {name} | " + " | ".join(cells) + f" | {self.false} | {np.median(self.ms):.0f} | {ratio:.1f} |"


def measure(configs: dict, frames) -> dict[str, Tally]:
    """Every configuration on every frame, the configurations of one frame timed back to back (so a busy
    machine slows them alike)."""
    tallies = {name: Tally() for name in configs}
    for detect in configs.values():  # warm up: the first call at an input size sets up its kernels
        detect(frames[0][0], frames[0][1], np.random.default_rng(0))
    for index, (image, truth, _) in enumerate(frames):
        for name, detect in configs.items():
            started = time.perf_counter()
            boxes = detect(image, truth, np.random.default_rng(index))
            tallies[name].add(boxes, truth, 1000 * (time.perf_counter() - started))
    return tallies


def sample_frames() -> dict[str, np.ndarray]:
    """Each sample photo (assets/samples: 1, 1, 2 and 0 people) at half the height of a flat 1920x1080 frame."""
    frames = {}
    for name in ("astronaut.jpg", "cameraman.png", "ascent.png", "rocket.jpg"):
        photo = read_image_rgb(SAMPLES / name)
        scale = FRAME_WH[1] / 2 / photo.shape[0]
        small = cv2.resize(photo, (round(photo.shape[1] * scale), FRAME_WH[1] // 2), interpolation=cv2.INTER_AREA)
        frame = np.full((FRAME_WH[1], FRAME_WH[0], 3), (96, 120, 80), np.uint8)
        frame[300:300 + small.shape[0], 700:700 + small.shape[1]] = small
        frames[name] = frame
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--second-sizes", default="1024,1440,1920")
    parser.add_argument("--second-thresholds", default="0.35,0.4,0.45", help="tried at the default size")
    parser.add_argument("--precision", choices=("fp32", "bf16"), help="the detector's (default: as it loads, "
                        "bf16 where the CPU has it natively); the labelled frames are always made in fp32")
    args = parser.parse_args()
    detector = PersonDetector.load()
    if args.precision is not None:
        detector.program.bf16 = args.precision == "bf16"
    maker = FrameMaker(PersonDetector(GraphProgram.load(MODEL_PATH)).detect)
    frames = [maker.frame(i) for i in range(args.frames)]
    configs = {"first pass 416 alone": lambda image, truth, rng: detector.detect(image, scan=False)}
    tried = [(int(size), detector.second_threshold) for size in args.second_sizes.split(",")]
    tried += [(detector.second_size, float(t)) for t in args.second_thresholds.split(",")]
    for size, threshold in dict.fromkeys(tried):
        zoomed = PersonDetector(detector.program, second_size=size, second_threshold=threshold)
        configs[f"416 + full second pass {size} @ {threshold}"] = \
            lambda image, truth, rng, zoomed=zoomed: zoomed.detect(image, scan=True)
    configs["default policy, no tracker"] = lambda image, truth, rng: detector.detect(image)
    configs["default policy + all expected"] = lambda image, truth, rng: detector.detect(
        image, expected=tracker_guess(truth, rng))
    configs["default policy + the smallest expected"] = lambda image, truth, rng: detector.detect(
        image, expected=tracker_guess(truth[np.argsort(truth[:, 3])[:1]], rng))
    buckets = " | ".join(f"{low}-{high} px" for low, high in BUCKETS)
    print(f"{len(frames)} frames, {sum(len(t) for _, t, _ in frames)} people, detector in "
          f"{'bf16' if detector.program.bf16 else 'fp32'}\n")
    print(f"| configuration | {buckets} | false | ms median | time / first pass's |\n|"
          + " --- |" * (len(BUCKETS) + 4))
    tallies = measure(configs, frames)
    for name, tally in tallies.items():
        print(tally.row(name, tallies["first pass 416 alone"].ms))
    print("\nboxes on frames with nobody (backgrounds) and on the sample photos in 1080p (first pass / scan=True):")
    for name, frame in [*((f"background {i}", b) for i, b in enumerate(maker.backgrounds)), *sample_frames().items()]:
        print(f"  {name}: {len(detector.detect(frame, scan=False))} / {len(detector.detect(frame, scan=True))}")


if __name__ == "__main__":
    main()
