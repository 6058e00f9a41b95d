"""One Estimate Body run as a plain state machine: steps a timer can take without ever blocking Blender long.

    find -> estimate -> overlays -> build -> done       (any step may end in failed; cancel ends in cancelled)

find: an interpreter with torch (when none is chosen); estimate: the inference worker writes the result;
overlays: the part-map frames are written (in a thread); build: the scene is built by the `build` callable the
operator hands in (on the main thread, all or nothing). Everything the run writes goes into its own run folder;
a failed or cancelled run removes that folder, and the scene is never touched before `build`.

No bpy here, so the transitions are tested with a fake clock and a real worker process
(tests/test_estimate_run.py). The modal operator calls `step()` from its timer and `cancel()` on ESC;
`run_to_end()` is the same run for scripts and background Blender, where timers never fire; `stop_now()` is
for Blender loading another file or quitting.
"""
from __future__ import annotations

import contextlib
import shutil
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from ..contract.errors import UserError
from ..contract.result_file import read_result
from .background_process import CANCEL_GRACE_S, BackgroundLoop
from .interpreter import InterpreterSearch, not_found_message
from .overlay_frames import OverlayRequest, OverlaySequence, overlay_sequences, write_overlays
from .worker import EstimateJob, Worker, WorkerError, start_worker

RESULT_NAME = "result.npz"
# Share of the progress bar per stage: finding the interpreter, estimating, overlays, building.
STAGE_SPANS = {"find": (0.0, 0.05), "estimate": (0.05, 0.8), "overlays": (0.8, 0.95), "build": (0.95, 1.0)}
DONE, FAILED, CANCELLED = "done", "failed", "cancelled"
Build = Callable[[Path, tuple[OverlaySequence, ...]], Any]
"""build(result file, overlay sequences) -> a report with `warnings`: makes the scene; raises UserError."""


@dataclass(frozen=True)
class RunPlan:
    """Everything a run needs, fixed when it starts. `job.output` is ignored: the result goes to the run
    folder."""

    job: EstimateJob
    python: str | None  # the interpreter to use; None: search `candidates`
    candidates: tuple[str, ...]
    run_folder: Path
    overlays: OverlayRequest | None = None


class EstimateRun:
    def __init__(self, plan: RunPlan, build: Build, clock: Callable[[], float] = time.monotonic) -> None:
        self.plan = plan
        self.result_path = plan.run_folder / RESULT_NAME
        plan.run_folder.mkdir(parents=True, exist_ok=False)
        self.state = "find" if plan.python is None else "estimate"
        self.python = plan.python
        self.progress, self.stage_text = 0.0, "Starting"
        self.error: str | None = None
        self.details = ""
        self.warnings: list[str] = []
        self.report: Any = None
        self._build = build
        self._clock = clock
        self._cancel_requested = False
        self._search = InterpreterSearch(list(plan.candidates)) if plan.python is None else None
        self._worker: Worker | None = None
        self._overlays: BackgroundLoop | None = None
        self._overlay_sequences: tuple[OverlaySequence, ...] = ()  # set once every overlay frame is written

    @property
    def over(self) -> bool:
        return self.state in (DONE, FAILED, CANCELLED)

    @property
    def worker(self) -> Worker | None:
        return self._worker

    def _advance(self, stage: str, fraction: float, text: str) -> None:
        low, high = STAGE_SPANS[stage]
        self.progress = low + (high - low) * min(max(fraction, 0.0), 1.0)
        self.stage_text = text

    def step(self) -> bool:
        """Do a little work; True once the run is over (see `state`, `error`, `report`)."""
        if self.over:
            return True
        try:
            if self._cancel_requested:
                self._step_cancel()
            else:
                getattr(self, f"_step_{self.state}")()
        except (UserError, WorkerError) as error:
            self._fail(str(error), getattr(error, "details", ""))
        except Exception as error:  # a bug: say so, keep the traceback for the console and bug reports
            traceback.print_exc()
            self._fail(f"Internal error in the add-on: {error!r}", traceback.format_exc())
        return self.over

    def run_to_end(self, poll_s: float = 0.05) -> None:
        while not self.step():
            time.sleep(poll_s)

    def cancel(self) -> None:
        """Ask the run to stop; the next `step` stops the worker or the overlay thread and cleans up."""
        if not self.over:
            self._cancel_requested = True
            self.stage_text = "Cancelling"

    def _step_find(self) -> None:
        self._advance("find", 0.0, "Finding the inference Python")
        if not self._search.step():
            return
        if self._search.found is None:
            raise UserError(not_found_message(self._search.rejected))
        self.python = self._search.found
        self.state = "estimate"

    def _step_estimate(self) -> None:
        if self._worker is None:
            job = replace(self.plan.job, output=str(self.result_path))
            self._worker = start_worker(self.python, job, self._clock)
            self._advance("estimate", 0.0, "Starting the estimator")
        for event in self._worker.poll():
            if event["event"] == "progress" and event.get("total"):
                self._advance("estimate", event["done"] / event["total"],
                              f"{event['stage'].capitalize()} {event['done']}/{event['total']}")
        if not self._worker.finished:
            return
        self._worker.check_outcome()
        self.state = "overlays" if self.plan.overlays else "build"

    def _overlay_frames(self) -> Iterator[tuple[int, int]]:
        """Runs in the overlay thread: writes the frames, then records their sequences for the scene."""
        result = read_result(self.result_path, include_maps=True)
        yield from write_overlays(result, self.plan.overlays, self.plan.run_folder)
        self._overlay_sequences = tuple(overlay_sequences(result, self.plan.overlays, self.plan.run_folder))

    def _step_overlays(self) -> None:
        if self._overlays is None:
            self._overlays = BackgroundLoop(self._overlay_frames())
            self._advance("overlays", 0.0, "Overlays")
        if self._overlays.latest is not None:
            done, total = self._overlays.latest
            self._advance("overlays", done / total, f"Overlays {done}/{total}")
        if not self._overlays.finished:
            return
        if isinstance(self._overlays.error, UserError):  # no maps in this result: the bodies still come
            self.warnings.append(str(self._overlays.error))
        elif self._overlays.error is not None:
            raise self._overlays.error
        self.state = "build"

    def _step_build(self) -> None:
        self._advance("build", 0.0, "Building the scene")
        self.report = self._build(self.result_path, self._overlay_sequences)
        self.warnings += self.report.warnings
        self._advance("build", 1.0, "Done")
        self.state = DONE

    def _step_cancel(self) -> None:
        """Stop whatever runs, without waiting: called again until it has stopped."""
        if self._search is not None:
            self._search.cancel()
        if self._worker is not None:
            self._worker.poll()  # drain its output, so it can be seen to finish
            if not self._worker.finished:
                self._worker.request_cancel()
                return
        if self._overlays is not None and not self._overlays.finished:
            self._overlays.stop()
            return
        self._clean_up()
        self.state, self.stage_text = CANCELLED, "Cancelled"

    def _fail(self, message: str, details: str = "") -> None:
        if self._worker is not None and not self._worker.finished:
            self._worker.process.cancel()
        if self._overlays is not None:
            self._overlays.stop()
            self._overlays.wait()
        self._clean_up()
        self.error, self.details = message, details
        self.state, self.stage_text = FAILED, "Failed"

    def _clean_up(self) -> None:
        """Remove the run folder, and its parent (`<blend>_pare/`, `runs/`) when nothing else is left in it."""
        shutil.rmtree(self.plan.run_folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.plan.run_folder.parent.rmdir()

    def stop_now(self) -> None:
        """Cancel and wait for it, at most about CANCEL_GRACE_S plus a second of real time whatever the run's
        clock says (Blender is loading another file or quitting); a worker still there then is killed."""
        self.cancel()
        deadline = time.monotonic() + CANCEL_GRACE_S + 1.0
        while not self.step():
            if time.monotonic() > deadline:
                if self._worker is not None:
                    self._worker.process.kill()
                if time.monotonic() > deadline + 1.0:  # something will not stop: give up waiting for it
                    self._clean_up()
                    self.state, self.stage_text = CANCELLED, "Cancelled"
            time.sleep(0.02)
