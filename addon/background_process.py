"""A subprocess a UI timer can poll: its output is read by a thread, so polling never blocks Blender.

Reading a pipe line by line blocks until the child writes; Blender's timers must return at once. A daemon
thread therefore moves each output line into a queue that `lines()` drains. Cancelling is gentle first
(SIGTERM, which the inference CLI turns into a clean exit 130 that writes nothing), then forceful (kill) once
a grace period has passed, so a child stuck in native code still ends within `CANCEL_GRACE_S` plus a poll.
No bpy here: the same class runs the worker, the environment setup and the interpreter probe; `BackgroundLoop`
runs the overlay writer the same way, in a thread.
"""
from __future__ import annotations

import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

CANCEL_GRACE_S = 1.0  # SIGTERM first; kill if the child is still there after this long
_END = object()  # queued by the reader thread when the child closed its output


class BackgroundProcess:
    """One child process with stdout and stderr merged into text lines."""

    def __init__(self, command: Sequence[str], cwd: str | Path | None = None,
                 env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """Start `command`; raises OSError when it cannot be started (no such interpreter, no permission).
        `clock` times the cancel's grace period (tests pass a fake one)."""
        self.command = [str(part) for part in command]
        self._clock = clock
        self._process = subprocess.Popen(self.command, cwd=cwd, env=None if env is None else dict(env),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True, bufsize=1, errors="replace")
        self._queue: queue.Queue = queue.Queue()
        self._output_closed = False
        self._kill_at: float | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self._process.stdout as stream:
            for line in stream:
                self._queue.put(line.rstrip("\r\n"))
        self._queue.put(_END)

    def lines(self) -> list[str]:
        """The output lines that arrived since the last call; never waits."""
        drained = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _END:
                self._output_closed = True
            else:
                drained.append(item)
        self._kill_if_overdue()
        return drained

    def all_lines(self) -> Iterator[str]:
        """Every output line until the child closes its output, waiting for each (the synchronous path)."""
        while not self._output_closed and not (self._output_abandoned() and self._queue.empty()):
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                self._kill_if_overdue()
                continue
            if item is _END:
                self._output_closed = True
            else:
                yield item

    def _output_abandoned(self) -> bool:
        """The child has exited but its output pipe stays open (a grandchild it started holds it): stop waiting
        for the rest. Normally the pipe closes with the child and the reader ends at once."""
        if self._process.poll() is None:
            return False
        self._reader.join(timeout=0.2)
        return self._reader.is_alive()

    @property
    def finished(self) -> bool:
        """True once the child has exited and all its output has been handed out by `lines()`."""
        self._kill_if_overdue()
        if self._process.poll() is None:
            return False
        return self._output_closed or (self._output_abandoned() and self._queue.empty())

    @property
    def returncode(self) -> int | None:
        return self._process.poll()

    def wait(self) -> int:
        """Block until the child has exited (after `all_lines`); its exit status."""
        while self._process.poll() is None:
            self._kill_if_overdue()
            time.sleep(0.02)
        return self._process.returncode

    def request_cancel(self) -> None:
        """Ask the child to stop (SIGTERM) and arm the kill that follows after the grace period. Non-blocking:
        `lines()` / `finished` (polled by a timer) carry out the kill."""
        if self._process.poll() is None and self._kill_at is None:
            self._process.terminate()
            self._kill_at = self._clock() + CANCEL_GRACE_S

    def kill(self) -> None:
        """Stop the child at once (SIGKILL): for a run that must end now, whatever the child is doing."""
        if self._process.poll() is None:
            self._process.kill()

    def cancel(self) -> int:
        """Stop the child and wait for it: at most about CANCEL_GRACE_S. Returns its exit status."""
        self.request_cancel()
        return self.wait()

    def _kill_if_overdue(self) -> None:
        if self._kill_at is not None and self._clock() >= self._kill_at and self._process.poll() is None:
            self._process.kill()


class BackgroundLoop:
    """Runs an iterator to its end in a daemon thread (no bpy inside!): `latest` is the last item it yielded,
    `error` what it raised; `stop()` makes it end after the current item."""

    def __init__(self, iterator: Iterator) -> None:
        self.latest = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iterator,), daemon=True)
        self._thread.start()

    def _run(self, iterator: Iterator) -> None:
        try:
            for item in iterator:
                self.latest = item
                if self._stop.is_set():
                    break
        except BaseException as error:  # handed to the main thread, which reports it
            self.error = error

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()

    def wait(self) -> None:
        self._thread.join()
