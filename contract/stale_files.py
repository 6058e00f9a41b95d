"""Temporary files and folders that a killed job cannot remove itself, named so that the next job can.

A job that is SIGKILLed (or loses power) runs no cleanup, so its temporary result, its spilled part maps or its
half-saved .blend would stay for good. Every such temporary is named `<prefix><pid>-<random><suffix>`, in the
folder a user looks at anyway (beside the output). Before making its own, a job removes the ones with its prefix
whose process is gone and that are older than `STALE_AFTER_S`: both conditions, so a live job on another
machine sharing the folder, or a pid reused since, keeps its files.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from pathlib import Path

STALE_AFTER_S = 3600.0


def temporary_path(folder: Path, prefix: str, suffix: str = "") -> Path:
    """A new name in `folder` that `remove_stale(folder, prefix)` recognises as this process's; `suffix` must
    start with '.' or '_' (or be empty)."""
    return folder / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (here; signal 0 checks without sending anything)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists but is not ours to signal (or the platform cannot tell): keep its files
    return True


def stale_pattern(prefix: str, suffix: str = r"([._].*)?") -> re.Pattern:
    """Names `temporary_path(folder, <a prefix matching prefix>, ...)` makes, the pid as group 1; `prefix` and
    `suffix` are regular expressions (default suffix: any)."""
    return re.compile(rf"{prefix}(\d+)-[0-9a-f]{{8}}{suffix}")


def remove_stale(folder: Path, prefix: str | re.Pattern, older_than_s: float = STALE_AFTER_S,
                 now: float | None = None) -> list[Path]:
    """Remove the temporaries in `folder` named with `prefix` (any suffix; or matching a `stale_pattern`) that
    processes which are gone left, older than `older_than_s`; returns what was removed. Never raises: cleaning
    up is a courtesy, not part of the job."""
    pattern = stale_pattern(re.escape(prefix)) if isinstance(prefix, str) else prefix
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or process_alive(int(match.group(1))):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < older_than_s:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed
