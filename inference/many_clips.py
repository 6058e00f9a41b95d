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
from typing import Callable

from contract.errors import UserError
from contract.options import ESTIMATE_OPTIONS, add_arguments, values_of
from contract.result_file import read_result
from contract.worker_protocol import make_event
from .frames import VIDEO_SUFFIXES
from .image_io import IMAGE_SUFFIXES

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `estimate-many` to the CLI's sub-commands; returns its parser."""
    sub = subparsers.add_parser("estimate-many", help="estimate many clips into a folder of results (resumable)",
                                description=__doc__.splitlines()[0])
    clips = sub.add_mutually_exclusive_group(required=True)
    clips.add_argument("--inputs", nargs="+", help="the clips: videos, photos or folders of images")
    clips.add_argument("--input-list", help="a text file naming one clip per line (# starts a comment)")
    clips.add_argument("--input-folder", help="a folder whose videos, photos and image folders are the clips")
    sub.add_argument("--output-folder", required=True, help="where each clip's result goes, as <clip name>.npz")
    add_arguments(sub, ESTIMATE_OPTIONS)
    sub.add_argument("--progress", default="text", choices=("text", "json", "none"),
                     help="text on stderr, JSON lines on stdout, or nothing")
    return sub


def is_clip(path: Path) -> bool:
    """A video, a photo, or a folder (of images): what `estimate --input` takes."""
    return path.is_dir() or path.suffix.lower() in VIDEO_SUFFIXES + IMAGE_SUFFIXES


def list_clips(args: argparse.Namespace) -> list[Path]:
    """The clips the command line names, in order; UserError when there are none or the list cannot be read."""
    if args.inputs:
        clips = [Path(text) for text in args.inputs]
    elif args.input_list:
        try:
            lines = Path(args.input_list).read_text().splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"Cannot read the clip list {args.input_list} ({error})") from None
        base = Path(args.input_list).parent
        clips = [base / line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    else:
        folder = Path(args.input_folder)
        if not folder.is_dir():
            raise UserError(f"The input folder {folder} does not exist")
        clips = sorted((path for path in folder.iterdir() if not path.name.startswith(".") and is_clip(path)),
                       key=lambda path: path.name)
    if not clips:
        raise UserError("No clips to estimate: name videos, photos or image folders")
    return clips


def result_names(clips: list[Path]) -> list[str]:
    """One result file name per clip: `<stem>.npz`, with `_2`, `_3`... where two clips share a stem."""
    names, seen = [], set()
    for clip in clips:
        stem, number = clip.stem or clip.name, 1
        name = f"{stem}.npz"
        while name in seen:
            number += 1
            name = f"{stem}_{number}.npz"
        seen.add(name)
        names.append(name)
    return names


def already_done(result: Path) -> bool:
    """A result left by an earlier run that reads as one (a damaged file is estimated again)."""
    if not result.is_file():
        return False
    try:
        read_result(result, include_maps=False)
    except UserError:
        return False
    return True


def run(args: argparse.Namespace, report: Callable[[dict], None]) -> None:
    """Estimate every clip that has no result yet; UserError at the end if any failed."""
    from .estimate_job import run_estimate

    clips = list_clips(args)
    folder = Path(args.output_folder)
    if not folder.is_dir():
        raise UserError(f"The output folder {folder} does not exist")
    options = values_of(args, ESTIMATE_OPTIONS)
    report(make_event("start", input=str(args.inputs or args.input_list or args.input_folder), output=str(folder)))
    failed, metas = [], []
    for done, (clip, name) in enumerate(zip(clips, result_names(clips))):
        report(make_event("progress", stage="clips", done=done, total=len(clips)))
        result = folder / name
        if already_done(result):
            log.info("%s: already estimated (%s), skipped", clip, result.name)
            continue
        try:
            metas.append(run_estimate(clip, result, options, progress=lambda stage, step, total: report(
                make_event("progress", stage=f"{clip.name}: {stage}", done=step, total=total))))
        except UserError as error:
            log.warning("%s: %s", clip, error)
            failed.append(f"{clip.name} ({error})")
    report(make_event("progress", stage="clips", done=len(clips), total=len(clips)))
    if failed:
        raise UserError(f"{len(failed)} of {len(clips)} clip(s) failed and were skipped: {'; '.join(failed)}")
    last = metas[-1] if metas else {"model": None, "body_model": None}
    report(make_event("done", output=str(folder), frames=sum(meta["frame_count"] for meta in metas),
                      model=last["model"], body_model=last["body_model"]))
