"""Headless scene building, for pipelines: footage or a result file (and the SMPL model) in, a .blend out.

    blender -b --python addon/batch.py -- --input clip.mp4 --checkpoint CKPT --smpl SMPL --output shot.blend
    blender -b --python addon/batch.py -- --from-result result.npz --smpl SMPL --output shot.blend
    python addon/batch.py -- ...   (the same, where the bpy module is installed)

Runs from any working directory. The scene starts empty (factory settings; a .blend opened on Blender's
command line is discarded). Background Blender runs no timers or modal operators, so everything here is
synchronous: with --input the inference worker (`python -m inference estimate`, in the interpreter given by
--python, which must have torch) runs to the end before the scene is built. The .blend is saved under a
temporary name in the output folder and renamed only when complete, so a failure never leaves a half-written
file. Exit status: 0 done, 2 a problem with the inputs (one line on stderr, no traceback), 130 cancelled.
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
from typing import Iterator

import bpy

PACKAGE_NAME = "pare_body_estimator"
ROOT = Path(__file__).resolve().parents[1]
SMPL_ENV, CHECKPOINT_ENV, PYTHON_ENV = "PARE_BODY_SMPL", "PARE_BODY_CHECKPOINT", "PARE_BODY_PYTHON"
EXIT_USER_ERROR, EXIT_CANCELLED = 2, 130


def import_from_package(module: str):
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


def script_arguments(argv: list[str]) -> list[str]:
    """Blender passes its own options first; the script's follow `--`. Plain Python may omit the `--`."""
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def parse_arguments(arguments: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="addon/batch.py", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="photo, folder of images or video to estimate bodies from")
    source.add_argument("--from-result", type=Path, help="an existing result file (.npz, format v1)")
    parser.add_argument("--output", required=True, type=Path, help=".blend file to write")
    parser.add_argument("--smpl", default=os.environ.get(SMPL_ENV), help=f"SMPL model file (default ${SMPL_ENV})")
    parser.add_argument("--checkpoint", default=os.environ.get(CHECKPOINT_ENV),
                        help=f"PARE checkpoint, with --input (default ${CHECKPOINT_ENV})")
    parser.add_argument("--python", default=os.environ.get(PYTHON_ENV, sys.executable),
                        help=f"interpreter with torch for the worker, with --input (default ${PYTHON_ENV}, "
                             f"else this interpreter)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--keep-result", type=Path, help="with --input: also keep the result file here")
    parser.add_argument("--frame-start", type=int, default=1, help="scene frame of source frame 0 (default 1)")
    parser.add_argument("--no-pose-correctives", action="store_true",
                        help="leave out the 207 pose-corrective shape keys (lighter, less exact mesh)")
    return parser.parse_args(arguments)


def checked_output(output: Path, user_error: type[Exception]) -> Path:
    """The absolute output path, checked before any work is done."""
    output = output.expanduser().resolve()
    if output.suffix.lower() != ".blend":
        raise user_error(f"--output must end in .blend, got {output.name}")
    if not output.parent.is_dir():
        raise user_error(f"The output folder {output.parent} does not exist")
    return output


def hidden_temporary(beside: Path, suffix: str) -> Path:
    return beside.with_name(f".{beside.stem}.{secrets.token_hex(4)}.tmp{suffix}")


@contextlib.contextmanager
def removed_afterwards(path: Path) -> Iterator[Path]:
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def save_atomically(output: Path) -> None:
    """Save the open scene to `output` via a temporary .blend in the same folder, renamed when complete."""
    with removed_afterwards(hidden_temporary(output, ".blend")) as temporary:
        bpy.ops.wm.save_as_mainfile(filepath=str(temporary), copy=True, check_existing=False)
        os.replace(temporary, output)


def estimate(args: argparse.Namespace, result: Path, user_error: type[Exception]) -> None:
    """Run the inference worker to the end, writing `result`; progress goes to stderr."""
    worker = import_from_package("addon.worker")
    if not args.checkpoint:
        raise user_error(f"No PARE checkpoint given: pass --checkpoint or set ${CHECKPOINT_ENV}")
    job = worker.EstimateJob(input=str(Path(args.input).expanduser().resolve()), checkpoint=args.checkpoint,
                             smpl=args.smpl, output=str(result), device=args.device)

    def show(event: dict) -> None:
        if event["event"] == "progress":
            print(f"{event['stage']}: {event['done']}/{event['total']}", file=sys.stderr, flush=True)
    try:
        worker.run_worker(args.python, job, show)
    except worker.WorkerError as error:
        raise user_error(str(error)) from None


def build(args: argparse.Namespace, result: Path, output: Path, name: str):
    scene_build = import_from_package("addon.scene_build")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    options = scene_build.BuildOptions(frame_start=args.frame_start, pose_correctives=not args.no_pose_correctives)
    report = scene_build.import_result_file(bpy.context, result, args.smpl, options, name=name)
    save_atomically(output)
    return report


def run(arguments: list[str]) -> int:
    args = parse_arguments(arguments)
    user_error = import_from_package("inference.errors").UserError
    try:
        if not args.smpl:
            raise user_error(f"No SMPL model given: pass --smpl or set ${SMPL_ENV}")
        output = checked_output(args.output, user_error)
        if args.from_result is not None:
            report = build(args, args.from_result, output, f"PARE {args.from_result.stem}")
        else:
            with removed_afterwards(hidden_temporary(output, ".npz")) as result:
                estimate(args, result, user_error)
                report = build(args, result, output, f"PARE {Path(args.input).stem}")
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
    print(f"wrote {output} ({report.persons} person(s), {report.frames} frame(s))")
    return 0


if __name__ == "__main__":
    sys.exit(run(script_arguments(sys.argv)))
