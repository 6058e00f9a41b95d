"""The inference worker: `python -m inference estimate ... --progress json` in a separate interpreter.

Blender's own Python has no torch, so the estimator runs in a subprocess of an interpreter that has it (the
project's venv), started in the extension's folder so `-m inference` finds the bundled package. It prints one
JSON event per line (start, progress, done, error; see inference/cli.py). The batch path runs it to the end
with `run_worker`; the panel's modal operator is meant to poll the same `start_worker` process from a timer.
No bpy here: this module is plain Python.
"""
from __future__ import annotations

import json
import subprocess
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # holds inference/ (the repository or the extension)
EXIT_USER_ERROR, EXIT_CANCELLED = 2, 130
LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class EstimateJob:
    """What the worker is asked to do; paths as the user gave them."""

    input: str
    checkpoint: str
    smpl: str
    output: str
    device: str = "auto"


class WorkerError(Exception):
    """The worker stopped without a result; `message` is for the user, `details` (a log tail) for a report."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def worker_command(python: str, job: EstimateJob) -> list[str]:
    return [python, "-m", "inference", "estimate", "--input", job.input, "--checkpoint", job.checkpoint,
            "--smpl", job.smpl, "--output", job.output, "--device", job.device, "--progress", "json"]


def start_worker(python: str, job: EstimateJob) -> subprocess.Popen:
    """Start the worker; its stderr (logging) is merged into stdout, where non-JSON lines are log text."""
    try:
        return subprocess.Popen(worker_command(python, job), cwd=PACKAGE_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
    except OSError as error:
        raise WorkerError(f"Cannot start the inference interpreter {python} ({error.strerror}).") from None


def parse_event(line: str) -> dict | None:
    """One stdout line -> its event, or None for log text."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "event" in event else None


def run_worker(python: str, job: EstimateJob, on_event: Callable[[dict], None]) -> None:
    """Run the worker to the end, handing each event to `on_event`; raise WorkerError unless it succeeded."""
    process = start_worker(python, job)
    log: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    error_event = None
    for line in process.stdout:
        event = parse_event(line)
        if event is None:
            log.append(line.rstrip())
            continue
        if event["event"] == "error":
            error_event = event
        on_event(event)
    code = process.wait()
    if code == 0:
        return
    details = "\n".join(log)
    if error_event is not None and code in (EXIT_USER_ERROR, EXIT_CANCELLED):
        raise WorkerError(error_event["message"], details)
    if "No module named" in details:
        missing = details.rsplit("No module named", 1)[1].splitlines()[0].strip()
        raise WorkerError(f"The inference interpreter {python} lacks the module {missing}: point it at the "
                          f"Python of the environment where the project is installed (with torch).", details)
    reason = error_event["message"] if error_event else (log[-1] if log else f"exit status {code}")
    raise WorkerError(f"The inference worker failed: {reason}",
                      error_event.get("traceback", details) if error_event else details)
