"""`python -m inference estimate-many`: many clips into a folder of results, one result per clip.

For a shot list or a folder of takes: each clip (a video, a photo, or a folder of images) is estimated like
`estimate` does it, with the same options, into `<output folder>/<clip name>.npz`. The job is resumable: a
clip whose result is already there (and reads as a result) is skipped, so a run stopped half-way (or killed)
picks up where it stopped; results are written atomically, so none is ever half-written. A clip that fails is
reported and skipped; the run ends with status 2 if any failed, naming them.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, Callable, Mapping

from contract.clips import add_clip_arguments, list_clips, output_names
from contract.errors import UserError
from contract.options import ESTIMATE_OPTIONS, add_arguments, values_of
from contract.result_file import read_result
from contract.worker_protocol import make_event

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `estimate-many` to the CLI's sub-commands; returns its parser."""
    sub = subparsers.add_parser("estimate-many", help="estimate many clips into a folder of results (resumable)",
                                description=__doc__.splitlines()[0])
    add_clip_arguments(sub.add_mutually_exclusive_group(required=True))
    sub.add_argument("--output-folder", required=True, help="where each clip's result goes, as <clip name>.npz")
    add_arguments(sub, ESTIMATE_OPTIONS)
    sub.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                     help="spread the clips over a Ray cluster (optional extra: pip install -e \".[ray]\"): a "
                          "cluster's address (auto, ray://HOST:10001), or none to start a local Ray runtime")
    sub.add_argument("--ray-gpus-per-clip", type=float, default=0.0,
                     help="with --ray: GPUs each clip's task asks the scheduler for (1 on a GPU cluster; "
                          "default 0: CPU tasks)")
    sub.add_argument("--progress", default="text", choices=("text", "json", "none"),
                     help="text on stderr, JSON lines on stdout, or nothing")
    return sub


def already_done(result: Path) -> bool:
    """A result left by an earlier run that reads as one (a damaged file is estimated again)."""
    if not result.is_file():
        return False
    try:
        read_result(result, include_maps=False)
    except UserError:
        return False
    return True


def estimate_one(clip: str, result: str, options: Mapping[str, Any]) -> dict:
    """One clip -> {"meta": the result's meta} or {"error": the user error}: what a clip's run (here or in a
    Ray worker) hands back; anything else that goes wrong is a bug and propagates."""
    from .estimate_job import run_estimate

    try:
        return {"meta": run_estimate(clip, result, options)}
    except UserError as error:
        return {"error": str(error)}


def run(args: argparse.Namespace, report: Callable[[dict], None]) -> None:
    """Estimate every clip that has no result yet (here, one after the other, or on a Ray cluster with --ray);
    UserError at the end if any failed."""
    clips = list_clips(args)
    folder = Path(args.output_folder)
    if not folder.is_dir():
        raise UserError(f"The output folder {folder} does not exist")
    options = values_of(args, ESTIMATE_OPTIONS)
    report(make_event("start", input=str(args.inputs or args.input_list or args.input_folder), output=str(folder)))
    jobs = []
    for clip, name in zip(clips, output_names(clips, ".npz")):
        if already_done(folder / name):
            log.info("%s: already estimated (%s), skipped", clip, name)
        else:
            jobs.append((clip, folder / name))
    if args.ray is not None:
        from .ray_clips import estimate_on_ray
        outcomes = estimate_on_ray(jobs, options, args.ray, args.ray_gpus_per_clip)
    else:
        outcomes = (estimate_one(str(clip), str(result), options) for clip, result in jobs)
    failed, metas = [], []
    for done, ((clip, _), outcome) in enumerate(zip(jobs, outcomes)):
        report(make_event("progress", stage="clips", done=done + 1, total=len(jobs)))
        if "error" in outcome:
            log.warning("%s: %s", clip, outcome["error"])
            failed.append(f"{clip.name} ({outcome['error']})")
        else:
            metas.append(outcome["meta"])
    if failed:
        raise UserError(f"{len(failed)} of {len(clips)} clip(s) failed and were skipped: {'; '.join(failed)}")
    last = metas[-1] if metas else {"model": None, "body_model": None}
    report(make_event("done", output=str(folder), frames=sum(meta["frame_count"] for meta in metas),
                      model=last["model"], body_model=last["body_model"]))
