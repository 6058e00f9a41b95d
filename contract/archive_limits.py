"""How much memory reading an `.npz` may take, decided from its headers before any array is loaded.

Each `.npy` member starts with a small header giving its dtype and shape; numpy allocates the whole array from
that header before reading the data, so a hostile file of a few bytes can claim terabytes (or a zip member can
inflate to gigabytes of zeros). `check_archive_sizes` reads only the headers of the members that will be loaded
and refuses the file when one claims more than its zip entry holds or when all together exceed a budget tied to
the machine's memory.
"""
from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path
from typing import Iterable

from numpy.lib import format as npy_format

from .errors import UserError

MAX_HEADER_BYTES = 10_000  # numpy's own default limit for a trusted .npy header
FALLBACK_BUDGET_BYTES = 8 << 30  # where the physical memory cannot be asked (Windows)


def memory_budget() -> int:
    """Bytes one result may take in memory: half the machine's physical memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (AttributeError, ValueError, OSError):
        return FALLBACK_BUDGET_BYTES


def claimed_bytes(member: zipfile.ZipExtFile) -> int:
    """Bytes of the array an `.npy` stream declares in its header (read from `member`, nothing else)."""
    version = npy_format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = npy_format.read_array_header_1_0(member, max_header_size=MAX_HEADER_BYTES)
    elif version == (2, 0):
        shape, _, dtype = npy_format.read_array_header_2_0(member, max_header_size=MAX_HEADER_BYTES)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if dtype.hasobject:
        raise ValueError("it holds Python objects, which are never unpickled")
    if dtype.itemsize < 0 or any(int(n) < 0 for n in shape):  # numpy's own size arithmetic overflowed
        raise ValueError(f"an array header claims an impossible size ({dtype.str}, {shape})")
    return math.prod(int(n) for n in shape) * dtype.itemsize


def check_archive_sizes(source: Path, keys: Iterable[str], what: str = "result",
                        budget: int | None = None) -> None:
    """UserError unless the arrays `keys` of the `.npz` at `source` (the user's `what`) fit their zip entries
    and, together, `budget` bytes (default `memory_budget()`). Damaged headers raise ValueError / zipfile errors
    for the caller."""
    budget = memory_budget() if budget is None else budget
    total = 0
    with zipfile.ZipFile(source) as archive:
        entries = {info.filename: info for info in archive.infolist()}
        for key in keys:
            info = entries.get(f"{key}.npy")
            if info is None:
                continue
            with archive.open(info) as member:
                size = claimed_bytes(member)
            if size > info.file_size:
                raise UserError(f"The {what} {source} is invalid: {key} claims {size:,} bytes but its entry holds "
                                f"only {info.file_size:,}; the file is damaged or forged.")
            total += info.file_size
            if total > budget:
                raise UserError(f"The {what} {source} needs more than {budget / 2**30:.1f} GiB of memory to load "
                                f"(its entries unpack to at least {total / 2**30:.1f} GiB); it is damaged or not "
                                f"a {what}.")
