"""`python -m inference estimate ...` (and `estimate-many ...`, `sensitivity ...`): the inference worker's
command line.

Users and the Blender add-on's worker run the same command. `--progress json` prints one JSON object per line
on stdout (start / progress / done / error) for the add-on to poll; the default prints human text on stderr.
A user error prints its message (no traceback) and exits with status 2; a cancel (Ctrl+C, SIGTERM) exits
with status 130 and writes nothing.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import traceback
from typing import Callable, Sequence

from contract.errors import UserError
from contract.file_checks import output_file, writable_folder
from contract.options import ESTIMATE_OPTIONS, CommandLineParser, add_arguments, values_of
from contract.worker_protocol import EXIT_CANCELLED, EXIT_USER_ERROR, encode_event, make_event
from .many_clips import add_parser as add_many_clips_parser, run as run_many_clips
from .sensitivity.command import add_parser as add_sensitivity_parser, run as run_sensitivity


def build_parser() -> argparse.ArgumentParser:
    """`estimate`'s options come from `contract.options`, the same declarations batch.py and the panel use."""
    parser = CommandLineParser(prog="python -m inference", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    est = commands.add_parser("estimate", help="estimate SMPL bodies from a photo, image folder or video")
    est.add_argument("--input", required=True, help="image file, folder of images, or video file")
    est.add_argument("--output", required=True, help="result file to write (.npz, see docs/result_format.md)")
    add_arguments(est, ESTIMATE_OPTIONS)
    est.add_argument("--progress", default="text", choices=("text", "json", "none"),
                     help="text on stderr, JSON lines on stdout (for the Blender worker), or nothing")
    add_many_clips_parser(commands)
    add_sensitivity_parser(commands)
    return parser


def _reporter(mode: str) -> Callable[[dict], None]:
    """One event -> one line: JSON on stdout, or text on stderr."""
    def report(event: dict) -> None:
        if mode == "json":
            print(encode_event(event), flush=True)
        elif event["event"] == "error":
            print(f"Error: {event['message']}", file=sys.stderr, flush=True)
        elif mode == "text" and event["event"] == "progress":
            print(f"{event['stage']}: {event['done']}/{event['total']}", file=sys.stderr, flush=True)
        elif mode == "text" and event["event"] == "done":
            print(f"Wrote {event['output']}", file=sys.stderr, flush=True)
    return report


def _estimate(args: argparse.Namespace, report: Callable[[dict], None]) -> None:
    output = output_file(args.output, ".npz", "--output")  # before the work: not a folder, a writable one
    if output.parent.is_dir():
        writable_folder(output.parent, "--output")
    from .estimate_job import run_estimate

    report(make_event("start", input=args.input, output=args.output))
    meta = run_estimate(args.input, args.output, values_of(args, ESTIMATE_OPTIONS),
                        progress=lambda stage, done, total: report(
                            make_event("progress", stage=stage, done=done, total=total)))
    report(make_event("done", output=str(args.output), frames=meta["frame_count"], model=meta["model"],
                      body_model=meta["body_model"]))


def resource_problem(error: OSError | MemoryError) -> str:
    """One line for a fault of the machine the job ran on."""
    if isinstance(error, MemoryError):
        return "Out of memory: try a lower --batch-size, a --frame-range or a --stride"
    where = f" ({error.filename})" if error.filename else ""
    return f"The system refused an operation: {error.strerror or error}{where}"


def _raise_cancel(signum: int, frame: object) -> None:
    raise KeyboardInterrupt()


def _progress_mode(argv: Sequence[str]) -> str:
    """--progress as given, for reporting a command line that does not parse in the caller's own format."""
    argv = list(argv)
    return argv[argv.index("--progress") + 1] if "--progress" in argv[:-1] else "text"


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    signal.signal(signal.SIGTERM, _raise_cancel)  # the add-on's Cancel: stop cleanly, write nothing
    report = _reporter(_progress_mode(argv))
    try:
        args = build_parser().parse_args(argv)
        {"estimate": _estimate, "estimate-many": run_many_clips, "sensitivity": run_sensitivity}[args.command](
            args, report)
    except UserError as error:
        report(make_event("error", message=str(error), kind="user"))
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        report(make_event("error", message="Cancelled; nothing was written.", kind="cancelled"))
        return EXIT_CANCELLED
    except (OSError, MemoryError) as error:  # the machine, not the code: a full disk, a lost mount, no memory
        report(make_event("error", message=f"{resource_problem(error)}; nothing was written.", kind="user"))
        return EXIT_USER_ERROR
    except Exception as error:  # a bug, not the user's fault: keep the traceback for the report
        report(make_event("error", message=f"Internal error: {error!r}", kind="internal",
                          traceback=traceback.format_exc()))
        if _progress_mode(argv) != "json":
            traceback.print_exc()
        return 1
    return 0
