"""Images/s of HRNet-W32 PARE (network + SMPL body), ours against a baseline run in the same process.

Baseline: the network as the official code runs it -- eager float32 modules, batch norm as separate layers,
default memory layout, under `torch.no_grad()`, followed by the SMPL forward. Ours: the estimator's
inference path (`CropEstimator.run_tensors`: folded batch norms, channels-last, inference mode), in float32
and in reduced precision (bf16 autocast on CPU; fp16 and bf16 on a GPU) with the output drift reported.
The issue's reference figures for the official code on this class of machine (2-core CPU) are printed
beside the ratios: 206-241 ms per image at batch 1 and 1.32-1.37 s per batch of 8.

    python bench/bench_model.py [--device cpu|cuda] [--threads 2] [--batches 1 8 32] [--seconds 10]
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from inference.body_model import SMPLBody  # noqa: E402
from inference.estimate_job import CropEstimator  # noqa: E402
from inference.models import build_model  # noqa: E402
from inference.models.fusion import prepare_for_inference  # noqa: E402
from contract.smpl_file import read_smpl_model  # noqa: E402
from weight_rule import REFERENCE, rule_state_dict  # noqa: E402

OFFICIAL_CPU_SECONDS = {1: (0.206, 0.241), 8: (1.32, 1.37)}  # per batch, from the issue


def rotation_angle_deg(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Geodesic angle between rotation matrices a, b (..., 3, 3) in degrees."""
    cos = ((a.transpose(-1, -2) @ b).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    return torch.rad2deg(torch.arccos(cos.clamp(-1, 1)))


def timed(fn, batch: torch.Tensor, seconds: float) -> float:
    """Images/s: one warm-up call, then repeat until `seconds` have passed (at least 3 calls)."""
    fn(batch)
    if batch.is_cuda:
        torch.cuda.synchronize()
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        fn(batch)
        if batch.is_cuda:
            torch.cuda.synchronize()
        calls += 1
    return calls * len(batch) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=10.0, help="minimum timing per case")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    network = build_model("pare_hrnet32")
    network.load_state_dict(rule_state_dict("pare_hrnet32_state_dict.tsv"))
    network.eval().to(device)
    body = SMPLBody(read_smpl_model(REFERENCE / "synthetic_SMPL_NEUTRAL.pkl")).to(device).eval()
    ours = CropEstimator("pare_hrnet32", prepare_for_inference(copy.deepcopy(network)), body, device)

    def baseline(images: torch.Tensor) -> dict:
        with torch.no_grad():
            out = network(images)
            out["vertices"] = body(out["pred_pose"], out["pred_shape"]).vertices
            return out

    precisions = ["fp32", "bf16"] + (["fp16"] if device.type == "cuda" else [])
    golden = torch.from_numpy(np.load(REFERENCE / "pare_hrnet32_golden.npz")["input_tensor"])
    print(f"HRNet-W32 PARE + SMPL, {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'batch':>5} {'case':>14} {'img/s':>8} {'ms/img':>8} {'vs baseline':>11} {'vs official':>11}"
          f" {'pose drift deg':>14}")
    for size in args.batches:
        images = (golden + 0.1 * torch.randn(size, 3, 224, 224, generator=torch.Generator().manual_seed(size)))
        images = images.to(device)
        base_rate = timed(baseline, images, args.seconds)
        reference = baseline(images)["pred_pose"]
        rows = [("baseline fp32", base_rate, 0.0)]
        for precision in precisions:
            run = lambda x, p=precision: ours.run_tensors(x, p)  # noqa: E731
            rate = timed(run, images, args.seconds)
            drift = rotation_angle_deg(run(images)["pose_rotmat"].float(), reference).max().item()
            rows.append((f"ours {precision}", rate, drift))
        official = OFFICIAL_CPU_SECONDS.get(size) if device.type == "cpu" else None
        for name, rate, drift in rows:
            vs_official = (f"{rate * np.mean(official) / size:10.2f}x" if official else f"{'-':>11}")
            print(f"{size:>5} {name:>14} {rate:8.2f} {1000 / rate:8.1f} {rate / base_rate:10.2f}x "
                  f"{vs_official} {drift:14.4f}")


if __name__ == "__main__":
    main()
