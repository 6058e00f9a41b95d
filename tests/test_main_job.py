"""The README's first command (the main job) end to end: the bundled clip -> .blend + preview, with no
licensed file, exactly as the README writes it (only the output folder moves to a temporary one)."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main_job_command() -> list[str]:
    """The batch part of the README's first command (after the install steps)."""
    first = next(line for line in (ROOT / "README.md").read_text().splitlines()
                 if line.startswith("python3.11 -m venv"))
    words = shlex.split(first.split("&&")[-1])
    assert words[0] == ".venv/bin/python" and words[1] == "addon/batch.py", words
    return [sys.executable, *words[1:]]


def test_readme_main_job_writes_a_blend_and_a_preview(tmp_path):
    command = [word.replace("out/", f"{tmp_path}/out/") for word in main_job_command()]
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PARE_BODY_CHECKPOINT": "", "PARE_BODY_SMPL": "",
           "BLENDER_USER_RESOURCES": tempfile.mkdtemp(prefix="pare-blender-user-")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    blend, preview = tmp_path / "out" / "demo.blend", tmp_path / "out" / "demo.png"
    printed = done.stdout + done.stderr
    assert str(blend) in printed and str(preview) in printed and "stand-in body" in printed
    assert "(2 person(s), 120 frame(s)" in printed  # the README's "two people over 120 frames": no ghost, no loss
    assert blend.stat().st_size > 1_000_000
    image = cv2.imread(str(preview))
    assert image.shape == (540, 960, 3)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["demo.blend", "demo.png"]
    # The footage is behind the bodies, aligned: most of the picture equals the source frame (scene frame
    # 1 + i shows source frame i), and the bodies cover a part of it, not nothing and not everything.
    scene_frame = int(re.search(r"preview .*\(frame (\d+)", printed).group(1))
    capture = cv2.VideoCapture(str(ROOT / "assets" / "samples" / "park_jumping_walking.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, scene_frame - 1)
    ok, source = capture.read()
    assert ok
    changed = np.abs(image.astype(np.int16) - source.astype(np.int16)).max(axis=2) > 40
    assert 0.005 < changed.mean() < 0.3
    assert np.median(np.abs(image.astype(np.int16) - source.astype(np.int16))) < 8
