"""One CPU thread for the torch work of a helper thread while the calling thread runs the network on the CPU.

Why: on the CPU the network keeps every core busy through OpenMP. A helper thread that also runs torch ops (the
frame producer's person detector) gets an OpenMP team as large as the machine by default, so twice as many busy
threads as cores: the network's threads meet at a barrier after every layer and wait there for whichever one
the system has descheduled for the detector's. Measured with `bench/bench_pipeline.py` on 2 cores, in rounds
alternated with the code before (bench/README.md, "Speed"): fp32 overhead over the network alone 16-35 % ->
5-17 % at 640x480 and 28-50 % -> 21-33 % at 1920x1080; bf16 pipeline frames/s 18-21 -> 22-24 and 15-16 -> 16-17.
`torch.set_num_threads` cannot do this: it applies to the whole process (and would slow the network). OpenMP
keeps a team size per thread, so the producer sets its own through the OpenMP runtime that torch loaded. Where
that runtime cannot be reached (Windows, a build without OpenMP) nothing changes and the producer runs as before.
The producer keeps one thread between batches too: handing it the cores back while the network waits gained
nothing (it makes its next items just as the consumer starts a batch, so they competed again).
"""
from __future__ import annotations

import ctypes
import logging

import torch

log = logging.getLogger(__name__)


def use_one_thread_here() -> bool:
    """Make torch ops called from the current thread run on one CPU thread; other threads keep theirs.

    Returns whether it took effect (torch then reports one thread in this thread)."""
    torch.get_num_threads()  # torch sets a thread's OpenMP team size once, on its first use there: let it go first
    try:
        set_team_size = ctypes.CDLL(None).omp_set_num_threads  # the runtime torch loaded, from the process's symbols
    except (AttributeError, OSError, TypeError):  # no OpenMP symbols, or no process-wide lookup (Windows)
        log.debug("OpenMP runtime not found; the helper thread keeps torch's thread count")
        return False
    set_team_size(1)
    return torch.get_num_threads() == 1
