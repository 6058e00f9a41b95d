"""Child processes run one after the other, polled by a timer without blocking Blender: the environment setup
(`python -m venv`, then `pip install`) is such a sequence. No bpy here."""
from __future__ import annotations

from .background_process import BackgroundProcess


class CommandSequence:
    """Child processes run one after the other; the first that fails stops the sequence."""

    def __init__(self, commands: list[list[str]]) -> None:
        self.pending = list(commands)
        self.current: BackgroundProcess | None = None
        self.last_line = ""
        self.failed: str | None = None

    def step(self) -> bool:
        """Non-blocking; True once every command succeeded or one failed (then `failed` says why)."""
        if self.current is None:
            if not self.pending:
                return True
            command = self.pending.pop(0)
            try:
                self.current = BackgroundProcess(command)
            except OSError as error:
                self.failed = f"Cannot run {command[0]}: {error.strerror}"
                return True
        for line in self.current.lines():
            self.last_line = line.strip() or self.last_line
        if not self.current.finished:
            return False
        code, self.current = self.current.returncode, None
        if code != 0:
            self.failed = self.last_line or f"exit status {code}"
            return True
        return not self.pending

    def cancel(self) -> None:
        if self.current is not None:
            self.current.cancel()
        self.pending, self.failed = [], "Cancelled."
