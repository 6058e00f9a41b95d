"""The inference worker: `python -m inference estimate ... --progress json` in a separate interpreter.

Blender's own Python has no torch, so the estimator runs in a subprocess of an interpreter that has it (the
project's venv), started in the extension's folder with that folder on PYTHONPATH, so `-m inference` finds the
bundled package and its assets even where the interpreter has another copy installed. It prints one JSON
event per line (start, progress, done, error; see inference/cli.py). The panel's run (`estimate_run`) polls
a `start_worker` process from the modal operator's timer; the batch path runs it to the end with `run_worker`.
No bpy here: this module is plain Python.
"""
from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from ..contract.options import command_line
from ..contract.worker_protocol import EXIT_CANCELLED, EXIT_USER_ERROR, ProtocolError, parse_event
from .background_process import BackgroundProcess

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # holds inference/ (the repository or the extension)
LOG_TAIL_LINES = 20
START_TIMEOUT_S = 40.0  # launch to the worker's `start` event (torch imported): a hung interpreter is stopped
POLL_S = 0.05  # `Worker.events`' wait between polls


@dataclass(frozen=True)
class EstimateJob:
    """What the worker is asked to do: the footage, the result file to write, and the estimate options
    (`contract.options.ESTIMATE_OPTIONS` values by name; missing ones take the command's defaults)."""

    input: str
    output: str
    options: Mapping[str, Any] = field(default_factory=dict)


class WorkerError(Exception):
    """The worker stopped without a result; `message` is for the user, `details` (a log tail) for a report."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def worker_command(python: str, job: EstimateJob) -> list[str]:
    """`python -m inference estimate` with the job's options, in the command's own words (contract.options)."""
    return [python, "-m", "inference", "estimate", "--input", job.input, "--output", job.output,
            *command_line(job.options), "--progress", "json"]


def worker_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child interpreter: the extension folder first on PYTHONPATH, no PYTHONHOME (it
    would point a venv's interpreter at another Python's standard library), unbuffered output, and no
    bytecode caches written (they would land inside the extension's folder, which is not ours to write)."""
    env = dict(os.environ if environ is None else environ)
    env.pop("PYTHONHOME", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def start_child(command: list[str], clock: Callable[[], float] = time.monotonic) -> BackgroundProcess:
    """Start an interpreter command in the extension's folder; WorkerError when it cannot start at all."""
    try:
        return BackgroundProcess(command, cwd=PACKAGE_ROOT, env=worker_environment(), clock=clock)
    except OSError as error:
        raise WorkerError(f"Cannot start the inference interpreter {command[0]} ({error.strerror}): choose "
                          f"a Python with torch in the add-on's preferences.") from None


class Worker:
    """A running `python -m inference` command (estimate, sensitivity) with `--progress json`: poll its events,
    then ask for the outcome."""

    def __init__(self, python: str, command: list[str], clock: Callable[[], float] = time.monotonic) -> None:
        self.python = python
        self.process = start_child(command, clock)
        self.log: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.error_event: dict | None = None
        self._clock = clock
        self._start_by: float | None = clock() + START_TIMEOUT_S  # None once the `start` event came

    def _events(self, lines) -> list[dict]:
        events = []
        for line in lines:
            try:
                event = parse_event(line)
            except ProtocolError as error:
                raise WorkerError(str(error), "\n".join(self.log)) from None
            if event is None:
                self.log.append(line)
                continue
            if event["event"] == "error":
                self.error_event = event
            if event["event"] == "start":
                self._start_by = None
            events.append(event)
        return events

    def poll(self) -> list[dict]:
        """Events printed since the last poll; never waits. WorkerError (after killing it) when the worker has
        not started within START_TIMEOUT_S."""
        events = self._events(self.process.lines())
        if self._start_by is not None and self.process.returncode is None and self._clock() > self._start_by:
            self.process.kill()
            raise WorkerError(f"The inference interpreter {self.python} did not start the estimator within "
                              f"{START_TIMEOUT_S:.0f} s, so it was stopped: check that `{self.python} -m "
                              f"inference --help` works there, or choose another Python.", "\n".join(self.log))
        return events

    def events(self) -> Iterator[dict]:
        """Every event until the worker ends, waiting for each (polling, so the start timeout holds here too)."""
        while not self.finished:
            events = self.poll()
            yield from events
            if not events:
                time.sleep(POLL_S)

    @property
    def finished(self) -> bool:
        return self.process.finished

    def request_cancel(self) -> None:
        self.process.request_cancel()

    def check_outcome(self) -> None:
        """After the worker ended: return if it succeeded, else raise WorkerError in words a user can act on."""
        code = self.process.wait()
        if code != 0:
            raise worker_failure(self.python, code, self.error_event, "\n".join(self.log))


def worker_failure(python: str, code: int, error_event: dict | None, details: str) -> WorkerError:
    """The user-facing error for a worker that exited with `code`."""
    if error_event is not None and code in (EXIT_USER_ERROR, EXIT_CANCELLED):
        return WorkerError(error_event["message"], details)
    if "No module named" in details:
        missing = details.rsplit("No module named", 1)[1].splitlines()[0].strip()
        return WorkerError(f"The inference interpreter {python} lacks the module {missing}: point it at the "
                           f"Python of the environment where the project is installed (with torch).", details)
    if code < 0:
        return WorkerError(f"The inference worker was stopped (signal {-code}); nothing was written.", details)
    lines = details.splitlines()
    reason = error_event["message"] if error_event else (lines[-1] if lines else f"exit status {code}")
    return WorkerError(f"The inference worker failed: {reason}",
                       error_event.get("traceback", details) if error_event else details)


def start_worker(python: str, job: EstimateJob, clock: Callable[[], float] = time.monotonic) -> Worker:
    """Start the worker; poll it with `Worker.poll` from a timer."""
    return Worker(python, worker_command(python, job), clock)


def run_worker(python: str, job: EstimateJob, on_event: Callable[[dict], None]) -> None:
    """Run the worker to the end, handing each event to `on_event`; raise WorkerError unless it succeeded."""
    worker = start_worker(python, job)
    try:
        for event in worker.events():
            on_event(event)
    except KeyboardInterrupt:
        worker.process.cancel()
        raise
    worker.check_outcome()
