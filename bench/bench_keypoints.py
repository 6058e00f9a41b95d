"""Frames/s of the keypoint backend end to end on CPU (no checkpoint, stand-in body), against decoding +
person detection alone measured in the same run (the floor every backend pays).

End to end = decode + detect + track + BlazePose landmarks per person + the body fit (temporal) + result
file, i.e. `python -m inference estimate` without a checkpoint, minus start-up.

    python bench/bench_keypoints.py [--input assets/samples/park_jumping_walking.mp4] [--threads 2]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.estimate_job import run_estimate  # noqa: E402
from inference.frames import open_frames  # noqa: E402
from inference.people.detector import PersonDetector  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=str(ROOT / "assets" / "samples" / "park_jumping_walking.mp4"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    detector = PersonDetector.load()
    source = open_frames(args.input)
    detector.detect(next(iter(source))[1])  # warm-up
    start = time.perf_counter()
    people = sum(len(detector.detect(image)) for _, image in source)
    floor = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        run_estimate(args.input, Path(folder) / "warm.npz", {"frame_range": "0:1"})
        start = time.perf_counter()
        meta = run_estimate(args.input, Path(folder) / "result.npz")
        full = time.perf_counter() - start
    frames = source.frame_count
    print(f"keypoint backend on {Path(args.input).name}: {frames} frames, {people / frames:.2f} detections/frame, "
          f"{len(meta['track_ids'])} people kept, {torch.get_num_threads()} threads")
    print(f"decode + detect alone: {frames / floor:6.2f} frames/s")
    print(f"end to end:            {frames / full:6.2f} frames/s  ({full / floor:.2f}x the decode + detect time)")


if __name__ == "__main__":
    main()
