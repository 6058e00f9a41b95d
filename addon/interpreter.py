"""Which Python runs the inference worker, and how the extension sets one up.

Blender's Python has no torch. The worker needs an interpreter where `import torch, inference.estimate_job` works
(with the extension folder on the path, as the worker runs). Candidates, in order: the one the user chose,
$PARE_BODY_PYTHON, a `.venv` beside the extension's source (a developer's checkout), the environment the
"Set up inference environment" button made in the extension's user folder, and the running interpreter
(where Blender is the `bpy` module inside the project's venv, that one has torch). Probing a candidate starts
it, which takes seconds (torch is big), so the panel does it through `InterpreterSearch`, polled by a timer;
batch.py runs the same search to the end.
No bpy here.
"""
from __future__ import annotations

import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Callable

from ..contract.worker_protocol import PYTHON_ENV
from .background_process import BackgroundProcess
from .worker import PACKAGE_ROOT, WorkerError, start_child

PROBE_CODE = "import torch, inference.estimate_job"
PROBE_TIMEOUT_S = 40.0  # importing torch from a cold disk takes seconds; a probe that hangs is stopped
VENV_FOLDER = "venv"  # inside the extension's user folder


def venv_python(venv: Path) -> Path:
    """The interpreter of a virtual environment folder."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def candidate_interpreters(user_folder: Path | None, environ: dict[str, str] | None = None,
                           package_root: Path = PACKAGE_ROOT, current: str = sys.executable) -> list[str]:
    """Existing interpreters worth probing, most specific first, without repeats."""
    environ = os.environ if environ is None else environ
    found = [environ.get(PYTHON_ENV, ""), str(venv_python(package_root / ".venv")),
             str(venv_python(user_folder / VENV_FOLDER)) if user_folder else "", current or ""]
    unique = []
    for path in found:
        if path and Path(path).is_file() and path not in unique:
            unique.append(path)
    return unique


def probe_command(python: str) -> list[str]:
    return [python, "-c", PROBE_CODE]


class InterpreterSearch:
    """Probe candidates one after the other without blocking: call `step()` until it returns True, then read
    `found` (an interpreter path or None) and `rejected` (path -> reason). A probe still running after
    PROBE_TIMEOUT_S (by `clock`) is killed and its interpreter rejected."""

    def __init__(self, candidates: list[str], clock: Callable[[], float] = time.monotonic) -> None:
        self.pending = list(candidates)
        self.found: str | None = None
        self.rejected: dict[str, str] = {}
        self._current: tuple[str, BackgroundProcess] | None = None
        self._output: list[str] = []
        self._clock = clock
        self._give_up_at = 0.0

    def step(self) -> bool:
        if self._current is None:
            if self.found or not self.pending:
                return True
            python = self.pending.pop(0)
            try:
                self._current = (python, start_child(probe_command(python)))
            except WorkerError as error:
                self.rejected[python] = str(error)
            self._output = []
            self._give_up_at = self._clock() + PROBE_TIMEOUT_S
            return False
        python, process = self._current
        self._output += process.lines()
        if not process.finished and self._clock() > self._give_up_at:
            process.kill()
            self._current = None
            self.rejected[python] = f"it did not answer within {PROBE_TIMEOUT_S:.0f} s (stopped)"
            return False
        if not process.finished:
            return False
        self._current = None
        if process.returncode == 0:
            self.found = python
            return True
        self.rejected[python] = self._output[-1] if self._output else "it exited with an error"
        return False

    def run_to_end(self) -> str | None:
        """The synchronous path (batch): probe until found or out of candidates."""
        while not self.step():
            time.sleep(0.05)
        return self.found

    def cancel(self) -> None:
        if self._current is not None:
            self._current[1].cancel()
            self._current = None
        self.pending = []


PANEL_HINT = ("in Edit > Preferences > Add-ons > PARE Body Estimator, choose the Python of an environment where "
              "the project is installed, or click 'Set Up Inference Environment'")


def not_found_message(rejected: dict[str, str], hint: str = PANEL_HINT) -> str:
    tried = "; ".join(f"{path}: {reason}" for path, reason in rejected.items()) or "none found"
    return f"No Python with torch was found to run the estimator (tried {tried}): {hint}."


def project_requirements(pyproject: Path = PACKAGE_ROOT / "pyproject.toml") -> list[str]:
    """The project's runtime dependencies (pyproject.toml's [project] dependencies), as pip arguments."""
    with open(pyproject, "rb") as stream:
        return list(tomllib.load(stream)["project"]["dependencies"])


def setup_commands(base_python: str, venv: Path, requirements: list[str]) -> list[list[str]]:
    """Create the environment `venv` with `base_python` and install `requirements` into it."""
    python = str(venv_python(venv))
    return [[base_python, "-m", "venv", str(venv)],
            [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
             *requirements]]
