"""The headless batch job behind addon/batch.py: footage or a result file in, a .blend (and a preview) out.

Its estimate options are `contract.options.ESTIMATE_OPTIONS`, the very declarations `python -m inference
estimate` is built from, so every option of the command works here with the same default, and is handed to the
worker unchanged. See addon/batch.py for the command line and what it guarantees.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator

import bpy

from ..contract.clips import add_clip_arguments
from ..contract.errors import UserError
from ..contract.file_checks import output_file, regular_file, writable_folder
from ..contract.stale_files import remove_stale, temporary_path
from ..contract.options import ESTIMATE_OPTIONS, SCENE_OPTIONS, CommandLineParser, add_arguments, values_of
from ..contract.result_file import read_result
from ..contract.worker_protocol import EXIT_CANCELLED, EXIT_USER_ERROR, PYTHON_ENV, SMPL_ENV
from . import overlay_frames, preview, scene_build
from .batch_guards import interrupts_deferred, interrupts_recorded, writing
from .batch_many import run_many
from .batch_sensitivity import map_sensitivity, parse_frames
from .interpreter import InterpreterSearch, candidate_interpreters, not_found_message
from .retarget.bone_maps import check_spec
from .retarget.export import check_export_path
from .retarget.job import parse_retarget_spec, retarget_and_export
from .worker import EstimateJob, WorkerError, run_worker

def build_parser() -> CommandLineParser:
    parser = CommandLineParser(prog="addon/batch.py", description="Headless scene building: footage or a result "
                               "file in, a .blend (and a preview picture) out.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="photo, folder of images or video to estimate bodies from")
    source.add_argument("--from-result", type=Path, help="an existing result file (.npz)")
    add_clip_arguments(source)  # many clips: one .blend each in --output-folder (addon/batch_many.py)
    parser.add_argument("--output", type=Path, help=".blend file to write")
    parser.add_argument("--output-folder", type=Path,
                        help="with --inputs, --input-list or --input-folder: where each clip's .blend goes, as "
                             "<clip name>.blend (clips with one there already are skipped: a rerun resumes)")
    parser.add_argument("--preview", type=Path, help="also render the middle frame from the matched camera to "
                                                        "this .png (footage behind the bodies)")
    parser.add_argument("--python", default=os.environ.get(PYTHON_ENV),
                        help=f"interpreter with torch for the worker, with --input (default ${PYTHON_ENV}, else "
                             f"the first of the source's .venv and this interpreter where torch imports)")
    parser.add_argument("--overlays", type=lambda text: [kind for kind in text.split(",") if kind],
                        default=[], help="part-map overlays to make: attention, segmentation or both "
                                         "(comma separated); the frames go to a folder beside the .blend")
    parser.add_argument("--keep-result", type=Path, help="with --input: also keep the result file here")
    parser.add_argument("--retarget", metavar="TARGET.blend:OBJECT",
                        help="bake each person onto a copy of the armature OBJECT appended from TARGET.blend (with "
                             "one person the copy keeps the name OBJECT); see docs/retargeting.md")
    parser.add_argument("--bone-map", default="auto",
                        help="with --retarget: auto, rigify, mixamo, ue5, smpl or a MAP.json (default: auto)")
    parser.add_argument("--sensitivity", metavar="FRAME[,FRAME...]",
                        help="occlusion sensitivity of every person in these source frames (docs/sensitivity.md): "
                             "maps in <output name>_sensitivity/, shown on the bodies and over the footage")
    parser.add_argument("--export", type=Path, action="append", default=[], metavar="OUT.fbx|OUT.bvh|OUT.glb",
                        help="export each person's motion (the retargeted rig with --retarget, else the SMPL rig); "
                             "one file per person (one person: exactly this path, else OUT_person_<i>); may be "
                             "repeated")
    add_arguments(parser.add_argument_group("estimate options (with --input; as `python -m inference "
                                            "estimate`)"), ESTIMATE_OPTIONS)
    add_arguments(parser.add_argument_group("scene options"), SCENE_OPTIONS)
    return parser


@contextlib.contextmanager
def output_folders(files: list[Path]) -> Iterator[None]:
    """The folders of `files`, created when missing (`out/` on a first run), checked to be writable, and
    removed again, if still empty, when the run fails: a failed run leaves nothing behind. Temporaries of these
    files that a killed run left there are removed (`contract.stale_files`)."""
    created = []
    try:
        for folder in dict.fromkeys(file.parent for file in files):
            missing = [parent for parent in (folder, *folder.parents) if not parent.exists()]
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise UserError(f"Cannot create the output folder {folder} ({error.strerror})") from None
            created += missing
            writable_folder(folder, "the outputs")
        for file in files:
            remove_stale(file.parent, temporary_prefix(file))
        yield
    except BaseException:
        for folder in sorted(created, key=lambda path: len(path.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def temporary_prefix(beside: Path) -> str:
    return f".{beside.stem}.partial-"


def hidden_temporary(beside: Path, suffix: str) -> Path:
    """`.<stem>.partial-<pid>-<random><suffix>` beside the file it becomes."""
    return temporary_path(beside.parent, temporary_prefix(beside), suffix)


@contextlib.contextmanager
def removed_afterwards(path: Path) -> Iterator[Path]:
    """`path` (a file or a folder) is gone afterwards, unless it was moved away."""
    try:
        yield path
    finally:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def worker_python(args: argparse.Namespace) -> str:
    """The interpreter given, else the first candidate where torch and the estimator import."""
    if args.python:
        return args.python
    search = InterpreterSearch(candidate_interpreters(None))
    if search.run_to_end() is None:
        raise UserError(not_found_message(search.rejected, f"pass --python or set ${PYTHON_ENV}"))
    return search.found


def estimate(args: argparse.Namespace, result: Path) -> None:
    """Run the inference worker to the end, writing `result`; progress goes to stderr."""
    job = EstimateJob(input=str(Path(args.input).expanduser().resolve()), output=str(result),
                      options=values_of(args, ESTIMATE_OPTIONS))

    def show(event: dict) -> None:
        if event["event"] == "progress":
            print(f"{event['stage']}: {event['done']}/{event['total']}", file=sys.stderr, flush=True)
    try:
        run_worker(worker_python(args), job, show)
    except WorkerError as error:
        raise UserError(str(error)) from None


def write_overlays(args: argparse.Namespace, result: Path, folder: Path) -> tuple:
    """The requested overlay frames under `folder`; their sequences for the scene builder."""
    request = overlay_frames.OverlayRequest(tuple(args.overlays))
    loaded = read_result(result, include_maps=True)
    for done, total in overlay_frames.write_overlays(loaded, request, folder):
        print(f"overlays: {done}/{total}", file=sys.stderr, flush=True)
    return tuple(overlay_frames.overlay_sequences(loaded, request, folder))


def point_images(folders: dict[Path, Path]) -> None:
    """Every image of the file that is read from a folder of `folders` (keys) read from its counterpart instead:
    the overlay and sensitivity frames are written to hidden folders renamed only at the end, so the saved
    .blend must name the final folders and the preview, rendered before the rename, the hidden ones (named
    folders that do not exist yet, Cycles renders the missing pictures magenta over the whole frame)."""
    for image in bpy.data.images:
        for old, new in folders.items():
            image.filepath = image.filepath.replace(str(old), str(new))


def build(args: argparse.Namespace, result: Path, output: Path, name: str
          ) -> tuple[Any, float | None, list[Path]]:
    """Build the scene (retargeted when asked) and save it; render the preview; write the overlay frames to
    `<output name>_overlays/` and the exported motion files. Each is written under a temporary name first and
    all are swapped in together at the end, so a failure leaves the old files (or none). Returns the build
    report, the seconds the preview took (or None) and the motion files written."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    with contextlib.ExitStack() as stack:
        overlays = stack.enter_context(removed_afterwards(hidden_temporary(output, "_overlays")))
        motion = {path: stack.enter_context(removed_afterwards(hidden_temporary(path, "_motion")))
                  for path in args.export}
        maps = stack.enter_context(removed_afterwards(hidden_temporary(output, "_sensitivity")))
        blend = stack.enter_context(removed_afterwards(hidden_temporary(output, ".blend")))
        picture = stack.enter_context(removed_afterwards(hidden_temporary(args.preview, ".png"))) \
            if args.preview else None
        kept = stack.enter_context(removed_afterwards(hidden_temporary(args.keep_result, ".npz"))) \
            if args.keep_result else None
        with writing(f"the overlay frames beside {output}"):
            sequences = write_overlays(args, result, overlays) if args.overlays else ()
        options = scene_build.BuildOptions(**values_of(args, SCENE_OPTIONS), overlays=sequences)
        report = scene_build.import_result_file(bpy.context, result, args.smpl, options, name=name,
                                                how_to_give_smpl=f"pass --smpl or set ${SMPL_ENV}")
        for folder in motion.values():
            folder.mkdir()
        exported = retarget_and_export(bpy.context, report.collection, args.retarget, args.bone_map,
                                       [folder / path.name for path, folder in motion.items()])
        if args.sensitivity:
            report.warnings += map_sensitivity(bpy.context, report.collection, result, maps,
                                               parse_frames(args.sensitivity), worker_python(args),
                                               args.checkpoint, args.smpl)
        preview.make_renderable(bpy.context.scene)
        finals = {overlays: output.with_name(f"{output.stem}_overlays"),
                  maps: output.with_name(f"{output.stem}_sensitivity")}
        point_images(finals)  # the saved .blend's images point at the final folders
        with writing(f"the scene {output}"), interrupts_deferred():
            bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True, check_existing=False)
        point_images({final: temporary for temporary, final in finals.items()})  # not there until the end
        with writing(f"the preview {args.preview}"), interrupts_deferred():
            seconds = preview.render_preview(bpy.context.scene, picture, report.middle_frame) if picture else None
        if kept:
            with writing(f"the result {args.keep_result}"):
                shutil.copyfile(result, kept)
        os.replace(blend, output)
        if picture:
            os.replace(picture, args.preview)
        if kept:
            os.replace(kept, args.keep_result)
        for temporary, final in finals.items():
            if temporary.is_dir():
                shutil.rmtree(final, ignore_errors=True)
                os.replace(temporary, final)
        written = [path.parent.parent / path.name for path in exported]  # out of each hidden `_motion` folder
        for path, final in zip(exported, written):
            os.replace(path, final)
    return report, seconds, written


def main(arguments: list[str]) -> int:
    with interrupts_recorded():
        return run_job(arguments)


def run_job(arguments: list[str]) -> int:
    try:
        args = build_parser().parse_args(arguments)
        if args.inputs or args.input_list or args.input_folder:
            return run_many(args, run_single)
        if args.output is None or args.output_folder is not None:
            raise UserError("give --output SHOT.blend (with --input or --from-result), or --output-folder with "
                            "--inputs, --input-list or --input-folder")
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    return run_single(args)


def run_single(args: argparse.Namespace) -> int:
    """One clip or result into one .blend (and its preview, exports, maps)."""
    try:
        output = output_file(args.output, ".blend", "--output")
        if args.preview:
            args.preview = output_file(args.preview, ".png", "--preview")
        if args.keep_result and args.from_result is not None:
            raise UserError("--keep-result keeps the result of an estimate: use it with --input, not "
                            "--from-result")
        if args.keep_result:
            args.keep_result = output_file(args.keep_result, ".npz", "--keep-result")
        if args.input is not None and args.python:
            regular_file(args.python, "--python interpreter")
        args.export = [check_export_path(path) for path in args.export]
        if args.sensitivity:
            parse_frames(args.sensitivity)
        if args.retarget:
            parse_retarget_spec(args.retarget)
            check_spec(args.bone_map)
        unknown = set(args.overlays) - set(overlay_frames.KINDS)
        if unknown:
            raise UserError(f"--overlays takes attention and/or segmentation, not {', '.join(sorted(unknown))}")
        extra_outputs = [path for path in (args.preview, args.keep_result) if path]
        with output_folders([output, *args.export, *extra_outputs]):
            if args.from_result is not None:
                report, seconds, exported = build(args, args.from_result, output, f"PARE {args.from_result.stem}")
            else:
                with removed_afterwards(hidden_temporary(output, ".npz")) as result:
                    estimate(args, result)
                    report, seconds, exported = build(args, result, output, f"PARE {Path(args.input).stem}")
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("error: cancelled; nothing was written", file=sys.stderr)
        return EXIT_CANCELLED
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for line in report.quality:
        print(f"quality: {line}")
    print(f"wrote the scene {output} ({report.persons} person(s), {report.frames} frame(s), {report.body})")
    for path in exported:
        print(f"wrote the motion {path}")
    if args.preview:
        print(f"wrote the preview {args.preview} (frame {report.middle_frame}, rendered in {seconds:.1f} s)")
    return 0
