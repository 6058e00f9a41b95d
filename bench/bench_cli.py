"""The estimate command end to end against the same command on pre-cropped people, in the same run.

What a user waits for: `python -m inference estimate` on the first 48 frames of the sample clip with a
(rule-filled) PARE checkpoint, against the same command on as many ready-made 224-pixel person crops as the
first run estimated, written as a clip and read with a fixed `--bbox` (no detection, no tracking, crops that
are the frame). Start-up (imports, checkpoint load) is removed from both: a run's time counts from its
"load done" progress event to its exit. The ratio is what the pipeline around the network costs; the
issue's aim is at most 1.15. `--tile 2` runs a crowd instead: the clip tiled 2x2 into one 1920x1080 picture
(about eight people, 100-250 px tall), the issue's street-footage case (aim: at most 1.3). `--device cuda`
runs both on a GPU (`--batch-size` crops per network call, fp16 allowed there).

    python bench/bench_cli.py [--frames 48] [--threads 2] [--precision fp32|bf16|fp16] [--repeat 2] [--tile 1]
                              [--device cpu|cuda] [--batch-size 8]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from contract.result_file import read_result  # noqa: E402
from inference.crop import crop_person  # noqa: E402
from weight_rule import REFERENCE, write_lightning_checkpoint  # noqa: E402

CLIP = ROOT / "assets" / "samples" / "park_jumping_walking.mp4"
CROP = 224


def timed_estimate(input_path: Path, output: Path, common: list[str], extra: list[str], threads: int) -> float:
    """Seconds from the run's "load done" event to its exit (start-up removed)."""
    command = [sys.executable, "-m", "inference", "estimate", "--input", str(input_path), "--output",
               str(output), "--progress", "json", *common, *extra]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    loaded = None
    for line in process.stdout:
        event = json.loads(line)
        if event.get("event") == "progress" and event.get("stage") == "load" and event.get("done") == 1:
            loaded = time.perf_counter()
        if event.get("event") == "error":
            raise SystemExit(f"estimate failed: {event}")
    if process.wait() != 0 or loaded is None:
        raise SystemExit(f"estimate failed with exit code {process.returncode}")
    return time.perf_counter() - loaded


def write_tiled(clip: Path, frames: int, tile: int, target: Path) -> None:
    """The first `frames` frames of `clip`, each repeated `tile` x `tile` times in one picture (MJPG)."""
    capture = cv2.VideoCapture(str(clip))
    writer = None
    for _ in range(frames):
        ok, frame = capture.read()
        if not ok:
            break
        picture = np.concatenate([np.concatenate([frame] * tile, axis=1)] * tile, axis=0)
        if writer is None:
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), 30.0,
                                     (picture.shape[1], picture.shape[0]))
        writer.write(picture)
    writer.release()


def write_crops(result_path: Path, clip: Path, target: Path) -> int:
    """Every person-crop the first run estimated, cut as the pipeline cut it (`crop_person` on the result's
    square box), as one 224-pixel frame each (MJPG); returns their count."""
    result = read_result(result_path, include_maps=False)
    capture = cv2.VideoCapture(str(clip))
    frames = []
    while len(frames) < result.meta.frame_count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (CROP, CROP))
    count = 0
    for person in result.persons:
        for index, (x, y, w, h) in zip(person.frame, person.bbox_xywh):  # the square box the network saw
            writer.write(crop_person(frames[int(index)], np.array([x + w / 2, y + h / 2, w, h]), CROP))
            count += 1
    writer.release()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch-size", type=int, default=8, help="person crops per network call")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best counts")
    parser.add_argument("--tile", type=int, default=1, help="the clip tiled N x N: a crowd")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        clip = CLIP
        if args.tile > 1:
            clip = work / "crowd.avi"
            write_tiled(CLIP, args.frames, args.tile, clip)
        checkpoint = work / "pare_checkpoint.ckpt"
        write_lightning_checkpoint(checkpoint, "pare_hrnet32_state_dict.tsv")
        common = ["--checkpoint", str(checkpoint), "--smpl", str(REFERENCE / "synthetic_SMPL_NEUTRAL.pkl"),
                  "--device", args.device, "--precision", args.precision, "--batch-size", str(args.batch_size)]
        clip_args = ["--frame-range", f"0:{args.frames}"]
        full = min(timed_estimate(clip, work / "clip.npz", common, clip_args, args.threads)
                   for _ in range(args.repeat))
        crops = write_crops(work / "clip.npz", clip, work / "crops.avi")
        cropped_args = ["--bbox", f"0,0,{CROP},{CROP}"]
        alone = min(timed_estimate(work / "crops.avi", work / "crops.npz", common, cropped_args, args.threads)
                    for _ in range(args.repeat))
    scene = CLIP.name if args.tile == 1 else f"{CLIP.name} tiled {args.tile}x{args.tile}"
    print(f"estimate CLI, {args.frames} frames of {scene}, {args.device}, {args.precision}, batch {args.batch_size}, "
          f"{args.threads} threads, start-up removed, best of {args.repeat}")
    print(f"  sample clip:        {full:6.2f} s ({crops} person-crops)")
    print(f"  pre-cropped people: {alone:6.2f} s ({crops} frames, --bbox 0,0,{CROP},{CROP})")
    print(f"  ratio: {full / alone:.2f} (aim <= {1.15 if args.tile == 1 else 1.3})")


if __name__ == "__main__":
    main()
