"""Paths checked before anything is opened: regular files only, and outputs that can really be written.

Opening a FIFO blocks until a writer appears and a device such as /dev/zero never ends, so a user's input, a
model file or a result's recorded `source` is `stat`ed first and refused unless it is a regular file (or, where
a folder is allowed, a folder). Output folders are tried by creating a file in them, which is the only test that
also holds for root (who passes every permission check) and for read-only mounts.
"""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from .errors import UserError


def regular_file(path: str | os.PathLike[str], what: str, folder_ok: bool = False) -> Path:
    """`path` if it names a regular file (or a folder, with `folder_ok`), after following links; UserError
    naming `what` otherwise: missing, a folder, a FIFO, a device or a socket."""
    path = Path(path).expanduser()
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UserError(f"The {what} {path} does not exist.") from None
    except OSError as error:
        raise UserError(f"Cannot read the {what} {path} ({error.strerror or error}).") from None
    if stat.S_ISREG(mode) or (folder_ok and stat.S_ISDIR(mode)):
        return path
    if stat.S_ISDIR(mode):
        raise UserError(f"The {what} {path} is a folder, not a file.")
    raise UserError(f"The {what} {path} is not a regular file (a pipe, device or socket); give a file.")


def special_file(path: str | os.PathLike[str]) -> bool:
    """Whether `path` exists and is neither a regular file nor a folder (a pipe, device or socket)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def writable_folder(folder: Path, option: str) -> None:
    """UserError unless a file can be created in `folder` (it exists): tried with a short-lived probe file."""
    probe = folder / f".pare-body-write-test-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        with open(probe, "xb"):
            pass
        os.unlink(probe)
    except OSError as error:
        raise UserError(f"Cannot write {option} into {folder} ({error.strerror or error}): choose a folder you "
                        f"can write to.") from None


def output_file(path: str | os.PathLike[str], suffix: str, option: str) -> Path:
    """The absolute path of an output file to write: its name must end in `suffix` and it must not be a folder
    or a special file (a later rename over it would fail, after all the work)."""
    path = Path(path).expanduser().resolve()
    if path.suffix.lower() != suffix:
        raise UserError(f"{option} must end in {suffix}, got {path.name}")
    if path.is_dir():
        raise UserError(f"{option} {path} is a folder: give a file name ending in {suffix}")
    if special_file(path):
        raise UserError(f"{option} {path} is a pipe or device, not a file: give another file name")
    return path
