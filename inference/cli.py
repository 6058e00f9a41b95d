"""`python -m inference estimate ...`: the command line of the inference worker.

Users and the Blender add-on's worker run the same command. `--progress json` prints one JSON object per line
on stdout (start / progress / done / error) for the add-on to poll; the default prints human text on stderr.
A user error prints its message (no traceback) and exits with status 2; a cancel (Ctrl+C, SIGTERM) exits
with status 130 and writes nothing.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import traceback
from typing import Callable, Sequence

import numpy as np

from contract.errors import UserError
from contract.worker_protocol import CHECKPOINT_ENV, EXIT_CANCELLED, EXIT_USER_ERROR, SMPL_ENV
from .smoothing import OneEuroParams




def parse_bbox(text: str | None) -> np.ndarray | None:
    """`X,Y,W,H` in pixels -> array (4,); None stays None."""
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or values[2] <= 0 or values[3] <= 0:
        raise UserError(f"--bbox must be X,Y,W,H in pixels with positive width and height, got {text!r}")
    return np.asarray(values, dtype=np.float64)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    est = commands.add_parser("estimate", help="estimate SMPL bodies from a photo, image folder or video")
    est.add_argument("--input", required=True, help="image file, folder of images, or video file")
    est.add_argument("--checkpoint", default=os.environ.get(CHECKPOINT_ENV),
                     help=f"PARE .ckpt or SPIN/EFT/DSR checkpoint (default: ${CHECKPOINT_ENV}; without one, the "
                          "bundled keypoint backend fits the body to BlazePose landmarks)")
    est.add_argument("--smpl", default=os.environ.get(SMPL_ENV),
                     help=f"SMPL model file (.pkl or .npz) or its folder (default: ${SMPL_ENV}; without one, the "
                          "bundled license-free stand-in body)")
    est.add_argument("--output", required=True, help="result file to write (.npz, format v1)")
    est.add_argument("--bbox", help="one person's box X,Y,W,H in pixels, used in every frame "
                                    "(default: people are found by the bundled detector)")
    est.add_argument("--no-detect", action="store_true",
                     help="without --bbox: take the whole frame as one centred person instead of detecting")
    est.add_argument("--person", default="all",
                     help="which tracked people to keep: all, most-visible, or ids like 0,2 (default: all)")
    est.add_argument("--refine", action="store_true",
                     help="with a checkpoint: fit PARE's estimate to BlazePose landmarks (reprojection before/after "
                          "goes into the result meta)")
    est.add_argument("--no-smooth", action="store_true", help="keep the raw per-frame estimate (videos)")
    est.add_argument("--smooth-min-cutoff", type=float, default=OneEuroParams.min_cutoff,
                     help="one-euro filter minimum cutoff, per frame (lower = smoother, more lag)")
    est.add_argument("--smooth-beta", type=float, default=OneEuroParams.beta,
                     help="one-euro filter speed coefficient (higher = less lag on fast motion)")
    est.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    est.add_argument("--batch-size", type=int, default=8)
    est.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"),
                     help="fp32 reproduces the official outputs; bf16 is faster on recent CPUs, fp16 on GPUs")
    est.add_argument("--focal-length", type=float, default=None,
                     help="camera focal length in pixels (default: the image diagonal, a normal lens)")
    est.add_argument("--frame-range", default=None, help="START:END source frames, END exclusive")
    est.add_argument("--stride", type=int, default=1, help="use every N-th frame")
    est.add_argument("--progress", default="text", choices=("text", "json", "none"),
                     help="text on stderr, JSON lines on stdout (for the Blender worker), or nothing")
    return parser


def _reporter(mode: str) -> Callable[[dict], None]:
    """One event -> one line: JSON on stdout, or text on stderr."""
    def report(event: dict) -> None:
        if mode == "json":
            print(json.dumps(event), flush=True)
        elif event["event"] == "error":
            print(f"Error: {event['message']}", file=sys.stderr, flush=True)
        elif mode == "text" and event["event"] == "progress":
            print(f"{event['stage']}: {event['done']}/{event['total']}", file=sys.stderr, flush=True)
        elif mode == "text" and event["event"] == "done":
            print(f"Wrote {event['output']}", file=sys.stderr, flush=True)
    return report


def _estimate(args: argparse.Namespace, report: Callable[[dict], None]) -> None:
    from .estimate_job import run_estimate
    from .frames import FrameRange

    report({"event": "start", "input": args.input, "output": args.output})
    meta = run_estimate(
        args.input, args.checkpoint or None, args.smpl or None, args.output,
        bbox_xywh=parse_bbox(args.bbox), detect=not args.no_detect, person=args.person, refine=args.refine,
        smoothing=None if args.no_smooth else OneEuroParams(args.smooth_min_cutoff, args.smooth_beta),
        device=args.device, batch_size=args.batch_size,
        focal_length=args.focal_length, precision=args.precision,
        frame_range=FrameRange.parse(args.frame_range, args.stride),
        progress=lambda stage, done, total: report(
            {"event": "progress", "stage": stage, "done": done, "total": total}))
    report({"event": "done", "output": str(args.output), "frames": meta["frame_count"],
            "model": meta["model"], "body_model": meta["body_model"]})


def _raise_cancel(signum: int, frame: object) -> None:
    raise KeyboardInterrupt()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    report = _reporter(args.progress)
    signal.signal(signal.SIGTERM, _raise_cancel)  # the add-on's Cancel: stop cleanly, write nothing
    try:
        _estimate(args, report)
    except UserError as error:
        report({"event": "error", "message": str(error), "kind": "user"})
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        report({"event": "error", "message": "Cancelled; nothing was written.", "kind": "cancelled"})
        return EXIT_CANCELLED
    except Exception as error:  # a bug, not the user's fault: keep the traceback for the report
        report({"event": "error", "message": f"Internal error: {error!r}", "kind": "internal",
                "traceback": traceback.format_exc()})
        if args.progress != "json":
            traceback.print_exc()
        return 1
    return 0
