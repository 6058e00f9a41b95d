"""The landmark fit's motion is one-euro filtered after its temporal term (finalize.FIT_SMOOTHING), and
`--no-smooth` leaves the fit as it came."""
import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from inference.finalize import FIT_SMOOTHING

ROOT = Path(__file__).resolve().parents[1]
WALK = ROOT / "bench" / "quality_data" / "walk.mp4"  # the stand-in body walking past a still camera


def estimate(out: Path, *extra: str) -> tuple[dict, np.ndarray]:
    done = subprocess.run([sys.executable, "-m", "inference", "estimate", "--input", str(WALK), "--output", str(out),
                           "--frame-range", "0:30", "--progress", "none", *extra], cwd=ROOT, text=True,
                          capture_output=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "2", "PARE_BODY_CHECKPOINT": "", "PARE_BODY_SMPL": ""})
    assert done.returncode == 0, done.stderr
    with np.load(out) as result:
        meta = json.loads(str(result["meta"]))
        joints = result["person_0/joints3d"] - result["person_0/joints3d"][:, :1]  # pelvis-relative
    return meta, joints


def jerk_mm(joints: np.ndarray) -> float:
    """Mean size of the third difference of (n, 24, 3) joints over consecutive frames, mm per frame^3."""
    return float(np.linalg.norm(np.diff(joints, n=3, axis=0), axis=-1).mean() * 1000)


def test_the_fit_is_smoothed_lightly_and_no_smooth_keeps_it_raw(tmp_path):
    meta, smoothed = estimate(tmp_path / "smoothed.npz")
    raw_meta, raw = estimate(tmp_path / "raw.npz", "--no-smooth")
    assert meta["smoothing"] == asdict(FIT_SMOOTHING) and raw_meta["smoothing"] is None
    assert smoothed.shape == raw.shape
    # Jerk 26 -> 10 mm/frame^3 on these frames.
    assert jerk_mm(smoothed) < 0.6 * jerk_mm(raw), (jerk_mm(smoothed), jerk_mm(raw))
    # The shake goes, the motion stays: joints move by under 2 cm on average.
    assert np.linalg.norm(smoothed - raw, axis=-1).mean() < 0.02
