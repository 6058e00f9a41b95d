"""End-to-end frames/s of the estimate pipeline against the network alone, measured in the same run.

A clip is generated (a license-free sample person pasted at a drifting position on a textured background,
written as MJPG) at 640x480 and 1920x1080. "Network alone" runs the network on the same number of
already-normalised crops in the same batches; "pipeline" is decode + detect + track + crop (in the background
thread) + network + smoothing + camera + joints; each is the best of `--repeat` rounds, run in turn, so that a
busy spell of a shared machine hits both alike. The issue's aim: the rest of the pipeline adds at
most 15 % to the network's time. On a GPU (`--device cuda`) the same two figures show where the CPU side (decoding,
detection, cropping) becomes the limit: the pipeline's frames/s against the network's alone.

    python bench/bench_pipeline.py [--frames 48] [--threads 2] [--batch-size 8] [--precision fp32|bf16|fp16]
                                   [--device cpu|cuda] [--sizes 640x480,1920x1080] [--repeat 2] [--fps 30]

`--fps 60` writes the clips at 60 frames a second (the same drift over the same number of frames), as a phone
films: the detector's zoomed scan for small people then keeps its duration, not its frame count
(`DetectedPeople.for_footage`).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from inference.body_model import SMPLBody  # noqa: E402
from inference.estimate_job import estimate_people, raw_track  # noqa: E402
from inference.crop_estimator import CropEstimator  # noqa: E402
from inference.finalize import Geometry, pare_track  # noqa: E402
from inference.frames import open_frames  # noqa: E402
from inference.models import build_model  # noqa: E402
from inference.models.fusion import prepare_for_inference  # noqa: E402
from inference.people.boxes import DetectedPeople  # noqa: E402
from inference.people.measures import PersonMeasures  # noqa: E402
from inference.smoothing import OneEuroParams  # noqa: E402
from contract.smpl_file import read_smpl_model  # noqa: E402
from inference.track_store import TrackStore  # noqa: E402
from weight_rule import REFERENCE, rule_state_dict  # noqa: E402

PERSON = ROOT / "assets" / "samples" / "astronaut.jpg"


def write_clip(path: Path, width: int, height: int, frames: int, fps: float = 30.0) -> None:
    """A person (the sample photo, scaled to 60 % of the frame height) drifting over a textured background."""
    person = cv2.imread(str(PERSON))
    side = int(0.6 * height)
    person = cv2.resize(person, (side, side), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), (0, 0), 8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for i in range(frames):
        frame = background.copy()
        x = int((width - side) * (0.2 + 0.6 * i / max(frames - 1, 1)))
        y = (height - side) // 2
        frame[y:y + side, x:x + side] = person
        writer.write(frame)
    writer.release()


def network_alone(estimator: CropEstimator, crops: int, batch_size: int) -> float:
    """Seconds for the network + body on `crops` ready-made inputs in batches, as the pipeline batches them."""
    images = torch.randn(batch_size, 3, 224, 224, device=estimator.device)
    synchronize(estimator.device)
    start = time.perf_counter()
    for first in range(0, crops, batch_size):
        estimator.run_tensors(images[:min(batch_size, crops - first)])
    synchronize(estimator.device)
    return time.perf_counter() - start


def pipeline_run(estimator: CropEstimator, clip: Path, batch_size: int) -> tuple[float, int, int]:
    """The pipeline on the clip: seconds, frames read and person-crops estimated."""
    source = open_frames(clip)
    start = time.perf_counter()
    with TrackStore() as store:
        people = DetectedPeople.for_footage(source.fps)
        measures = PersonMeasures(crops=True, landmarks=False)
        frames_read, _ = estimate_people(estimator, source, people, measures, store, batch_size)
        geometry = Geometry(source.width, source.height, 1000.0)
        for track in people.chosen_tracks("all"):
            pare_track(raw_track(store, track), estimator, geometry, OneEuroParams(), False, True)
        crops = sum(len(store.frames(t)) for t in store.track_ids())
    return time.perf_counter() - start, frames_read, crops


def synchronize(device: torch.device) -> None:
    """Wait for the GPU's queued work, so that a clock reading counts it (nothing to wait for on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def frame_size(text: str) -> tuple[int, int]:
    """'1920x1080' -> (1920, 1080)."""
    width, height = text.lower().split("x")
    return int(width), int(height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--sizes", default="640x480,1920x1080", help="comma-separated WIDTHxHEIGHT clip sizes")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of both, in turn; the best of each counts")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate the clips are written at")
    args = parser.parse_args()
    if args.precision == "fp16" and args.device == "cpu":
        parser.error("fp16 is for GPUs; on the CPU use bf16 (or fp32)")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    network = build_model("pare_hrnet32")
    network.load_state_dict(rule_state_dict("pare_hrnet32_state_dict.tsv"))
    body = SMPLBody(read_smpl_model(REFERENCE / "synthetic_SMPL_NEUTRAL.pkl")).to(device).eval()
    estimator = CropEstimator("pare_hrnet32", prepare_for_inference(network.to(device)), body, device,
                              args.precision)
    print(f"HRNet-W32 PARE pipeline, {args.frames} frames at {args.fps:g} fps, batch {args.batch_size}, "
          f"{args.precision}, {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'size':>10} {'people/frame':>12} {'network fps':>11} {'pipeline fps':>12} {'overhead':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for width, height in map(frame_size, args.sizes.split(",")):
            clip = Path(folder) / f"clip_{width}.avi"
            write_clip(clip, width, height, args.frames, args.fps)
            estimator.run(np.zeros((args.batch_size, 224, 224, 3), np.uint8))  # warm-up
            pipeline, alone = float("inf"), float("inf")
            for _ in range(args.repeat):  # in turn, so that a busy spell of a shared machine hits both alike
                seconds, frames_read, crops = pipeline_run(estimator, clip, args.batch_size)
                pipeline = min(pipeline, seconds)
                alone = min(alone, network_alone(estimator, crops, args.batch_size))
            print(f"{width}x{height:<5} {crops / frames_read:12.2f} {frames_read / alone:11.2f} "
                  f"{frames_read / pipeline:12.2f} {pipeline / alone - 1:8.1%}")


if __name__ == "__main__":
    main()
