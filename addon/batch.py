"""Headless scene building, for pipelines: footage or a result file in, a .blend (and a preview picture) out.

    python addon/batch.py -- --input clip.mp4 --output out/shot.blend --preview out/shot.png
    blender -b --python addon/batch.py -- --input clip.mp4 --checkpoint CKPT --smpl SMPL --output shot.blend
    blender -b --python addon/batch.py -- --from-result result.npz [--smpl SMPL] --output shot.blend

Runs from any working directory, where the bpy module is installed or inside Blender. Without a checkpoint the
bundled keypoint backend estimates the people, without an SMPL file the bundled stand-in body is used; a result
computed with SMPL needs --smpl to be built. The scene starts empty (factory settings; a .blend opened on
Blender's command line is discarded) and gets a sky, a sun and part-coloured bodies, so it renders as the
preview shows. Background Blender runs no timers or modal operators, so everything here is synchronous: with
--input the inference worker (`python -m inference estimate`, in the interpreter given by --python, which must
have torch, or else the first one found where torch imports) runs to the end before the scene is built; with
--overlays the part-map frames are written next; with --preview the middle frame is rendered last. The .blend,
the preview and the overlay folder are written under temporary names in their folders (created when missing)
and renamed only when everything is complete, so a failure never leaves a half-written file. Exit status:
0 done, 2 a problem with the inputs (one line on stderr, no traceback), 130 cancelled.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import secrets
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import bpy

PACKAGE_NAME = "pare_body_estimator"
ROOT = Path(__file__).resolve().parents[1]


def import_from_package(module: str) -> ModuleType:
    """`module` of the extension package. The repository root is that package (addon/ and inference/
    import each other relatively), so it is loaded under a fixed name, as Blender loads an installed
    extension under bl_ext.<repository>.<id>."""
    if PACKAGE_NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(PACKAGE_NAME, ROOT / "__init__.py",
                                                      submodule_search_locations=[str(ROOT)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE_NAME] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{PACKAGE_NAME}.{module}")


PROTOCOL = import_from_package("contract.worker_protocol")  # environment names and exit statuses
SMPL_ENV, CHECKPOINT_ENV, PYTHON_ENV = PROTOCOL.SMPL_ENV, PROTOCOL.CHECKPOINT_ENV, PROTOCOL.PYTHON_ENV
EXIT_USER_ERROR, EXIT_CANCELLED = PROTOCOL.EXIT_USER_ERROR, PROTOCOL.EXIT_CANCELLED


def script_arguments(argv: list[str]) -> list[str]:
    """Blender passes its own options first; the script's follow `--`. Plain Python may omit the `--`."""
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def parse_arguments(arguments: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="addon/batch.py", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="photo, folder of images or video to estimate bodies from")
    source.add_argument("--from-result", type=Path, help="an existing result file (.npz, format v1)")
    parser.add_argument("--output", required=True, type=Path, help=".blend file to write")
    parser.add_argument("--preview", type=Path, help="also render the middle frame from the matched camera to "
                                                        "this .png (Cycles on the CPU, footage behind the bodies)")
    parser.add_argument("--smpl", default=os.environ.get(SMPL_ENV),
                        help=f"SMPL model file (default ${SMPL_ENV}); without one, estimates use the bundled "
                             f"stand-in body, and results computed with SMPL cannot be built")
    parser.add_argument("--checkpoint", default=os.environ.get(CHECKPOINT_ENV),
                        help=f"PARE checkpoint, with --input (default ${CHECKPOINT_ENV}); without one, the bundled "
                             f"keypoint backend (BlazePose landmarks and a body fitter) estimates")
    parser.add_argument("--refine", action="store_true",
                        help="with --input and a checkpoint: fit PARE's estimate to the detected landmarks")
    parser.add_argument("--python", default=os.environ.get(PYTHON_ENV),
                        help=f"interpreter with torch for the worker, with --input (default ${PYTHON_ENV}, else "
                             f"the first of the source's .venv and this interpreter where torch imports)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--frame-range", help="with --input: START:END source frames, END exclusive")
    parser.add_argument("--stride", type=int, default=1, help="with --input: use every N-th frame")
    parser.add_argument("--person", default="all", help="with --input: all, most-visible, or track ids like 0,2")
    parser.add_argument("--bbox", help="with --input: one person's box X,Y,W,H in pixels, in every frame")
    parser.add_argument("--no-smooth", action="store_true", help="with --input: keep the raw per-frame estimate")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"),
                        help="with --input: the network's precision (fp32 reproduces the official outputs)")
    parser.add_argument("--overlays", type=lambda text: [kind for kind in text.split(",") if kind],
                        default=[], help="part-map overlays to make: attention, segmentation or both "
                                         "(comma separated); the frames go to a folder beside the .blend")
    parser.add_argument("--keep-result", type=Path, help="with --input: also keep the result file here")
    parser.add_argument("--frame-start", type=int, default=1, help="scene frame of source frame 0 (default 1)")
    parser.add_argument("--no-pose-correctives", action="store_true",
                        help="leave out the 207 pose-corrective shape keys (lighter, less exact mesh)")
    return parser.parse_args(arguments)


def checked_file(path: Path, suffix: str, option: str, user_error: type[Exception]) -> Path:
    """The absolute path of an output file, its name checked before any work is done."""
    path = path.expanduser().resolve()
    if path.suffix.lower() != suffix:
        raise user_error(f"{option} must end in {suffix}, got {path.name}")
    return path


@contextlib.contextmanager
def output_folders(files: list[Path], user_error: type[Exception]) -> Iterator[None]:
    """The folders of `files`, created when missing (`out/` on a first run) and removed again, if still
    empty, when the run fails: a failed run leaves nothing behind."""
    created = []
    for folder in dict.fromkeys(file.parent for file in files):
        missing = [parent for parent in (folder, *folder.parents) if not parent.exists()]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise user_error(f"Cannot create the output folder {folder} ({error.strerror})") from None
        created += missing
    try:
        yield
    except BaseException:
        for folder in sorted(created, key=lambda path: len(path.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def hidden_temporary(beside: Path, suffix: str) -> Path:
    return beside.with_name(f".{beside.stem}.{secrets.token_hex(4)}.tmp{suffix}")


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


def worker_python(args: argparse.Namespace, user_error: type[Exception]) -> str:
    """The interpreter given, else the first candidate where torch and the estimator import."""
    if args.python:
        return args.python
    interpreter = import_from_package("addon.interpreter")
    search = interpreter.InterpreterSearch(interpreter.candidate_interpreters(None))
    if search.run_to_end() is None:
        raise user_error(interpreter.not_found_message(search.rejected, f"pass --python or set ${PYTHON_ENV}"))
    return search.found


def estimate(args: argparse.Namespace, result: Path, user_error: type[Exception]) -> None:
    """Run the inference worker to the end, writing `result`; progress goes to stderr."""
    worker = import_from_package("addon.worker")
    job = worker.EstimateJob(input=str(Path(args.input).expanduser().resolve()), output=str(result),
                             checkpoint=args.checkpoint or None, smpl=args.smpl or None, device=args.device,
                             bbox=args.bbox, person=args.person, frame_range=args.frame_range, stride=args.stride,
                             smooth=not args.no_smooth, precision=args.precision, refine=args.refine)

    def show(event: dict) -> None:
        if event["event"] == "progress":
            print(f"{event['stage']}: {event['done']}/{event['total']}", file=sys.stderr, flush=True)
    try:
        worker.run_worker(worker_python(args, user_error), job, show)
    except worker.WorkerError as error:
        raise user_error(str(error)) from None


def write_overlays(args: argparse.Namespace, result: Path, folder: Path) -> tuple:
    """The requested overlay frames under `folder`; their sequences for the scene builder."""
    overlay_frames = import_from_package("addon.overlay_frames")
    read_result = import_from_package("contract.result_file").read_result
    request = overlay_frames.OverlayRequest(tuple(args.overlays))
    loaded = read_result(result, include_maps=True)
    for done, total in overlay_frames.write_overlays(loaded, request, folder):
        print(f"overlays: {done}/{total}", file=sys.stderr, flush=True)
    return tuple(overlay_frames.overlay_sequences(loaded, request, folder))


def build(args: argparse.Namespace, result: Path, output: Path, name: str) -> tuple[Any, float | None]:
    """Build the scene and save it; render the preview; write the overlay frames to `<output name>_overlays/`.
    Each is written under a temporary name first and all are swapped in together at the end, so a failure
    leaves the old files (or none). Returns the build report and the seconds the preview took (or None)."""
    scene_build = import_from_package("addon.scene_build")
    preview = import_from_package("addon.preview")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    with contextlib.ExitStack() as stack:
        overlays = stack.enter_context(removed_afterwards(hidden_temporary(output, "_overlays")))
        blend = stack.enter_context(removed_afterwards(hidden_temporary(output, ".blend")))
        picture = stack.enter_context(removed_afterwards(hidden_temporary(args.preview, ".png"))) \
            if args.preview else None
        sequences = write_overlays(args, result, overlays) if args.overlays else ()
        options = scene_build.BuildOptions(frame_start=args.frame_start,
                                           pose_correctives=not args.no_pose_correctives, overlays=sequences)
        report = scene_build.import_result_file(bpy.context, result, args.smpl, options, name=name,
                                                how_to_give_smpl=f"pass --smpl or set ${SMPL_ENV}")
        preview.make_renderable(bpy.context.scene)
        final_overlays = output.with_name(f"{output.stem}_overlays")
        if sequences:  # the images point at the final folder before the .blend is saved
            for image in bpy.data.images:
                image.filepath = image.filepath.replace(str(overlays), str(final_overlays))
        bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True, check_existing=False)
        seconds = preview.render_preview(bpy.context.scene, picture, report.middle_frame) if picture else None
        os.replace(blend, output)
        if picture:
            os.replace(picture, args.preview)
        if sequences:
            shutil.rmtree(final_overlays, ignore_errors=True)
            os.replace(overlays, final_overlays)
    return report, seconds


def run(arguments: list[str]) -> int:
    args = parse_arguments(arguments)
    user_error = import_from_package("contract.errors").UserError
    try:
        output = checked_file(args.output, ".blend", "--output", user_error)
        if args.preview:
            args.preview = checked_file(args.preview, ".png", "--preview", user_error)
        unknown = set(args.overlays) - set(import_from_package("addon.overlay_frames").KINDS)
        if unknown:
            raise user_error(f"--overlays takes attention and/or segmentation, not {', '.join(sorted(unknown))}")
        with output_folders([output] + ([args.preview] if args.preview else []), user_error):
            if args.from_result is not None:
                report, seconds = build(args, args.from_result, output, f"PARE {args.from_result.stem}")
            else:
                with removed_afterwards(hidden_temporary(output, ".npz")) as result:
                    estimate(args, result, user_error)
                    report, seconds = build(args, result, output, f"PARE {Path(args.input).stem}")
                    if args.keep_result:
                        shutil.copyfile(result, args.keep_result)
    except user_error as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("error: cancelled; nothing was written", file=sys.stderr)
        return EXIT_CANCELLED
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote the scene {output} ({report.persons} person(s), {report.frames} frame(s), {report.body})")
    if args.preview:
        print(f"wrote the preview {args.preview} (frame {report.middle_frame}, rendered in {seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(run(script_arguments(sys.argv)))
