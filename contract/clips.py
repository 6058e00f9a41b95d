"""What counts as a clip, and the clips a many-clips job names: shared by `python -m inference estimate-many`
(one result per clip) and `addon/batch.py --inputs/--input-list/--input-folder` (one .blend per clip).

A clip is what `estimate --input` takes: a video, a photo, or a folder of images.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .errors import UserError

IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Camcorders write AVCHD (.mts / .m2ts, MPEG transport streams) and DV; old phones 3GP; each is read here and
# shown by Blender (bpy.path.extensions_movie), checked in tests/test_frames.py.
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".mts",
                                   ".m2ts", ".ts", ".3gp", ".dv")


def add_clip_arguments(clips: argparse._MutuallyExclusiveGroup) -> None:
    """The three ways to name clips, into a mutually exclusive group of the caller's."""
    clips.add_argument("--inputs", nargs="+", help="the clips: videos, photos or folders of images")
    clips.add_argument("--input-list", help="a text file naming one clip per line (# starts a comment)")
    clips.add_argument("--input-folder", help="a folder whose videos, photos and image folders are the clips")


def is_clip(path: Path) -> bool:
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


def output_names(clips: list[Path], suffix: str) -> list[str]:
    """One output file name per clip: `<stem><suffix>`, with `_2`, `_3`... where two clips share a stem."""
    names, seen = [], set()
    for clip in clips:
        stem, number = clip.stem or clip.name, 1
        name = f"{stem}{suffix}"
        while name in seen:
            number += 1
            name = f"{stem}_{number}{suffix}"
        seen.add(name)
        names.append(name)
    return names
