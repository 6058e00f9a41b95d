"""`python -m inference sensitivity ...`: the sub-command's options and its run, for `inference/cli.py`.

`add_parser(subparsers)` adds the sub-command; `run(args, report)` does the job and reports start, progress
and done events like estimate does, so the CLI's exit codes, error lines and JSON progress apply unchanged.
Importing this module does not import torch (the job does, when it runs). The options it shares with estimate
(files, box, device, batch size, focal length) come from `contract.options`, so they read and check exactly
as estimate's do.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from contract.errors import UserError
from contract.options import OPTIONS, add_arguments, values_of
from contract.skeleton import JOINT_NAMES, NUM_JOINTS
from contract.worker_protocol import make_event
from ..crop import CROP_SIZE
from .occluder import DEFAULT_PATCH_FRACTION

if TYPE_CHECKING:
    from .job import SensitivityRequest

SHARED_OPTIONS = tuple(OPTIONS[name] for name in ("checkpoint", "smpl", "bbox", "device", "batch_size",
                                                  "focal_length"))


def parse_joints(text: str | None) -> tuple[str, ...]:
    """`--joints`: SMPL joint names or indices, comma separated, or `all`; None or empty -> none."""
    if not text:
        return ()
    if text.strip() == "all":
        return JOINT_NAMES
    chosen = []
    for item in (part.strip() for part in text.split(",")):
        if item.isdigit() and int(item) < NUM_JOINTS:
            chosen.append(JOINT_NAMES[int(item)])
        elif item in JOINT_NAMES:
            chosen.append(item)
        else:
            raise UserError(f"--joints: {item!r} is not an SMPL joint; use names ({', '.join(JOINT_NAMES)}), "
                            f"indices 0-{NUM_JOINTS - 1} or all")
    return tuple(dict.fromkeys(chosen))


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `sensitivity` to the CLI's sub-commands; returns its parser."""
    sub = subparsers.add_parser(
        "sensitivity", help="occlusion sensitivity map and mesh of one person in one frame",
        description="Slide a grey square over one person's crop, re-estimate at each position and record how far "
                    "each pelvis-aligned joint moves (mm); writes an .npz and PNG maps beside it.")
    sub.add_argument("--input", required=True, help="image file, folder of images, or video file")
    sub.add_argument("--output", required=True, help="the .npz to write; PNGs go beside it (<name>_mean.png, ...)")
    sub.add_argument("--frame", type=int, default=0, help="source frame index of a video or folder (default: 0)")
    sub.add_argument("--person", type=int, default=None,
                     help="instead of --bbox: the track id estimate's detector gives the person (default: the "
                          "only person in the frame)")
    sub.add_argument("--patch", type=float, default=None,
                     help=f"occluder side in pixels of the {CROP_SIZE} px crop (default: "
                          f"{CROP_SIZE * DEFAULT_PATCH_FRACTION:g}, 1/7 of the crop)")
    sub.add_argument("--stride", type=float, default=None,
                     help="step between positions in crop pixels (default: half the patch)")
    sub.add_argument("--joints", default=None,
                     help="SMPL joints to map one by one, e.g. left_wrist,right_ankle, or all (default: the mean only)")
    add_arguments(sub, SHARED_OPTIONS)
    sub.add_argument("--progress", default="text", choices=("text", "json", "none"),
                     help="text on stderr, JSON lines on stdout, or nothing")
    return sub


def request_of(args: argparse.Namespace) -> SensitivityRequest:
    """Parsed arguments -> the job's request (UserError for a combination that makes no sense)."""
    from .job import SensitivityRequest  # torch comes with the job, not with the command line's parser

    shared = values_of(args, SHARED_OPTIONS)
    if shared["bbox"] is not None and args.person is not None:
        raise UserError("Give either --bbox or --person, not both: the map is made for one person")
    bbox = None if shared["bbox"] is None else np.array(shared["bbox"].split(","), dtype=np.float64)
    return SensitivityRequest(
        input_path=args.input, output=Path(args.output), frame=args.frame, bbox_xywh=bbox, person=args.person,
        patch=args.patch, stride=args.stride, checkpoint=shared["checkpoint"] or None, smpl=shared["smpl"] or None,
        device=shared["device"], batch_size=shared["batch_size"], joints=parse_joints(args.joints),
        focal_length=shared["focal_length"])


def run(args: argparse.Namespace, report: Callable[[dict], None]) -> None:
    """Do the job of parsed `args`; UserError for the user's mistakes, KeyboardInterrupt on cancel."""
    from .job import run_sensitivity

    request = request_of(args)
    report(make_event("start", input=args.input, output=args.output))
    summary = run_sensitivity(request, progress=lambda stage, done, total: report(
        make_event("progress", stage=stage, done=done, total=total)))
    report(make_event("done", output=summary["output"], frames=1, positions=summary["positions"],
                      pictures=summary["pictures"], model=summary["model"], body_model=summary["body_model"]))
