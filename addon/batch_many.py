"""batch.py over many clips: `--inputs A.mp4 B.mp4 | --input-list shots.txt | --input-folder TAKES/
--output-folder SCENES/` builds one .blend per clip, `SCENES/<clip name>.blend`, with the other options
unchanged. Resumable: a clip whose .blend is already there is skipped (a .blend is written completely or not at
all). A clip that fails is reported and skipped; the run ends with status 2 naming them, 130 on Ctrl+C.

For a render farm, the same job splits into one `batch.py --input CLIP --output SHOT.blend` task per clip
(docs/farm.md)."""
from __future__ import annotations

import argparse
import copy
import sys
from typing import Callable

from ..contract.clips import list_clips, output_names
from ..contract.errors import UserError
from ..contract.worker_protocol import EXIT_CANCELLED, EXIT_USER_ERROR

PER_CLIP_OUTPUTS = ("output", "preview", "keep_result")


def run_many(args: argparse.Namespace, run_single: Callable[[argparse.Namespace], int]) -> int:
    """Every clip `args` names through `run_single`, into `args.output_folder`."""
    given = [f"--{name.replace('_', '-')}" for name in PER_CLIP_OUTPUTS if getattr(args, name)] + \
        (["--export"] if args.export else [])
    if args.output_folder is None or given:
        raise UserError(f"many clips write one scene each into --output-folder; {', '.join(given) or 'no folder'} "
                        "cannot name one file for all of them")
    folder = args.output_folder.expanduser().resolve()
    if not folder.is_dir():
        raise UserError(f"The output folder {folder} does not exist")
    clips = list_clips(args)
    failed = []
    for clip, name in zip(clips, output_names(clips, ".blend")):
        scene = folder / name
        if scene.is_file():
            print(f"skipped {clip}: {scene} is already there")
            continue
        one = copy.copy(args)
        one.input, one.output, one.inputs, one.input_list, one.input_folder = str(clip), scene, None, None, None
        one.export = []
        print(f"clip {clip} -> {scene}", file=sys.stderr, flush=True)
        status = run_single(one)
        if status == EXIT_CANCELLED:
            return status
        if status != 0:
            failed.append(clip.name)
    if failed:
        print(f"error: {len(failed)} of {len(clips)} clip(s) failed and were skipped: {', '.join(failed)}",
              file=sys.stderr)
        return EXIT_USER_ERROR
    return 0
