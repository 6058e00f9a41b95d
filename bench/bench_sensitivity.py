"""Positions/s of the occlusion sensitivity map, batched through the network against one position per network
call (batch 1: what re-running estimate per position would at best reach, without its start-up), measured in
the same run; and positions/s of the landmark-fit backend (one fit per position, as estimate fits a still).

PARE is HRNet-W32 with the reference's rule-filled weights and the synthetic SMPL model (the speed does not
depend on the weights' values); the image is the bundled astronaut with its box; model loading is not timed.

    python bench/bench_sensitivity.py [--device cpu|cuda] [--threads 2] [--batches 1 8 32] [--stride 32]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from inference.camera import default_focal_length  # noqa: E402
from inference.crop import square_box  # noqa: E402
from inference.crop_estimator import CropEstimator  # noqa: E402
from inference.finalize import Geometry  # noqa: E402
from inference.image_io import read_image_rgb  # noqa: E402
from inference.sensitivity.occluded_estimates import PersonBox, estimate_positions  # noqa: E402
from inference.sensitivity.occluder import occluder_grid  # noqa: E402
from weight_rule import REFERENCE, write_lightning_checkpoint  # noqa: E402

IMAGE = ROOT / "assets" / "samples" / "astronaut.jpg"
BOX = np.array([100.0, 20.0, 350.0, 490.0])


def positions_per_second(estimator: CropEstimator, image: np.ndarray, person: PersonBox, stride: float,
                         batch_size: int) -> tuple[float, int]:
    """(positions/s, positions) of one whole map, after a warm-up batch."""
    height, width = image.shape[:2]
    geometry = Geometry(width, height, default_focal_length(width, height))
    grid = occluder_grid(person.square_cxcywh, (width, height), None, stride)
    if estimator.network is not None:
        estimator.run(np.zeros((batch_size, 224, 224, 3), np.uint8))
    start = time.perf_counter()
    estimate_positions(estimator, image, person, grid, geometry, batch_size)
    if estimator.device.type == "cuda":
        torch.cuda.synchronize()
    return (len(grid) + 1) / (time.perf_counter() - start), len(grid) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--stride", type=float, default=32.0, help="crop pixels between positions (32: 7 x 7)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    image = read_image_rgb(IMAGE)
    person = PersonBox(BOX, square_box(BOX))
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / "pare_w_3dpw_checkpoint.ckpt"
        write_lightning_checkpoint(checkpoint, "pare_hrnet32_state_dict.tsv")
        pare = CropEstimator.load(checkpoint, REFERENCE / "synthetic_SMPL_NEUTRAL.pkl", device)
    print(f"occlusion sensitivity, {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'estimator':>14} {'batch':>5} {'positions':>9} {'pos/s':>8} {'vs batch 1':>10}")
    baseline = None
    for batch in args.batches:
        rate, count = positions_per_second(pare, image, person, args.stride, batch)
        baseline = baseline or (rate if batch == 1 else None)
        ratio = f"{rate / baseline:.2f}x" if baseline else "-"
        print(f"{'pare_hrnet32':>14} {batch:>5} {count:>9} {rate:>8.2f} {ratio:>10}")
    fit = CropEstimator.load(None, None, device)
    rate, count = positions_per_second(fit, image, person, args.stride, 1)
    print(f"{'blazepose-fit':>14} {'-':>5} {count:>9} {rate:>8.2f} {'-':>10}")


if __name__ == "__main__":
    main()
