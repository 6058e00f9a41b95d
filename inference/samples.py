"""Gaps between a person's rows counted in samples, not frames.

The job may read every k-th frame (`--stride`), so a track's rows lie k frames apart. Its smoothing
(`fitting.fit`) and its side labelling (`keypoints.side_order`) judge motion per sample, one sample being the
smallest frame step between the track's rows: then every other frame of 60 fps footage is judged as 30 fps
footage is (counted in frames, a strided track's turn limit had doubled and its smoothing halved).
"""
from __future__ import annotations

import numpy as np


def sample_gaps(frames: np.ndarray, linked: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Frame numbers (n,) -> (n - 1,) gaps between adjacent rows in samples, and the sample's length in frames:
    the smallest step of at least one frame between rows that are `linked` ((n - 1,) bool, e.g. rows of one
    person; every pair when None), or 1 where there is none."""
    gaps = np.diff(np.asarray(frames, dtype=np.float64))
    counted = gaps >= 1 if linked is None else linked & (gaps >= 1)
    step = float(gaps[counted].min()) if counted.any() else 1.0
    return gaps / step, step
