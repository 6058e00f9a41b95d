"""What keeps the headless batch job's promise when something goes wrong: Ctrl+C is never lost, and a failure
while writing is a message, not a traceback.

Blender swallows a KeyboardInterrupt raised while it renders (Python's SIGINT handler then runs inside the render
engine's Python callback, whose exception Blender prints as a traceback and drops, and the files are written
anyway). So the job's signal handler records every interrupt; inside `interrupts_deferred` (around Blender calls
such as the render) it only records, elsewhere it also raises KeyboardInterrupt at once. `raise_if_interrupted`
runs after the render and before the outputs are swapped in: a Ctrl+C at any moment ends with exit 130 and
nothing written. No bpy here.
"""
from __future__ import annotations

import contextlib
import signal
from typing import Iterator

from ..contract.errors import UserError

_INTERRUPTED: list[int] = []  # the signals received while `interrupts_recorded` is active
_DEFERRING: list[bool] = []  # non-empty inside `interrupts_deferred`


def _record(signum: int, frame: object) -> None:
    _INTERRUPTED.append(signum)
    if not _DEFERRING:
        raise KeyboardInterrupt()


@contextlib.contextmanager
def interrupts_recorded() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt, and are remembered for `raise_if_interrupted`."""
    _INTERRUPTED.clear()
    previous = {signum: signal.signal(signum, _record) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Inside: an interrupt is only recorded (Blender would swallow the exception); raised on leaving."""
    _DEFERRING.append(True)
    try:
        yield
    finally:
        _DEFERRING.pop()
    raise_if_interrupted()


def raise_if_interrupted() -> None:
    """KeyboardInterrupt if a SIGINT / SIGTERM arrived, even one something in between swallowed."""
    if _INTERRUPTED:
        raise KeyboardInterrupt()


@contextlib.contextmanager
def writing(what: str) -> Iterator[None]:
    """A failure to write `what` (disk full, permissions, Blender cannot save or render) as a UserError."""
    try:
        yield
    except (OSError, RuntimeError) as error:
        reason = getattr(error, "strerror", None) or " ".join(str(error).split())[:200] or type(error).__name__
        raise UserError(f"Cannot write {what} ({reason}); nothing was written.") from None
