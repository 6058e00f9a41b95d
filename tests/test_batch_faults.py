"""Bad input and faults (issue 12), the batch job through real `addon/batch.py` processes: output problems
found before the work, an existing .blend left untouched by an invalid result, the kept result written with the
scene, and Ctrl+C during the preview render (exit 130, nothing written)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_files as hostile  # noqa: E402
from fake_worker import fake_python  # noqa: E402
from test_bad_input import broken_copy, set_item  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def valid(tmp_path) -> Path:
    return hostile.write_valid_result(tmp_path / "valid.npz")


def run_batch(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {key: value for key, value in os.environ.items()
               if key not in ("PARE_BODY_SMPL", "PARE_BODY_CHECKPOINT", "PARE_BODY_PYTHON")}
    environ.update(OMP_NUM_THREADS="2", **(env or {}))
    return subprocess.run([sys.executable, str(ROOT / "addon" / "batch.py"), "--", *map(str, args)], cwd=cwd,
                          env=environ, capture_output=True, text=True, timeout=120)


def assert_clean_failure(done: subprocess.CompletedProcess, *words: str, status: int = 2) -> None:
    message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    assert done.returncode == status and "Traceback" not in done.stderr, done.stderr
    assert all(word in message for word in words), done.stderr


def test_batch_output_problems_are_found_before_the_work(valid, tmp_path):
    (tmp_path / "folder.blend").mkdir()
    (tmp_path / "a_file").write_text("x")
    assert_clean_failure(run_batch("--from-result", valid, "--output", tmp_path / "folder.blend", cwd=tmp_path),
                         "is a folder")
    assert_clean_failure(run_batch("--from-result", valid, "--output", tmp_path / "a_file" / "sub" / "s.blend",
                                   cwd=tmp_path), "Cannot create the output folder")
    assert_clean_failure(run_batch("--from-result", valid, "--output", tmp_path / "s.blend", "--keep-result",
                                   tmp_path / "r.npz", cwd=tmp_path), "--keep-result", "--input")
    if os.geteuid() != 0:  # root writes into any folder, whatever its mode: the cases above still run as root
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        assert_clean_failure(run_batch("--from-result", valid, "--output", locked / "s.blend", cwd=tmp_path),
                             "Cannot write")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["valid.npz", "folder.blend", "a_file"] + (["locked"] if os.geteuid() != 0 else []))


def test_an_invalid_result_leaves_an_existing_blend_untouched(valid, tmp_path):
    existing = tmp_path / "shot.blend"
    existing.write_bytes(b"the user's scene")
    bad = broken_copy(valid, tmp_path, "pose_rotmat", set_item((1, 3), np.ones((3, 3))))
    assert_clean_failure(run_batch("--from-result", bad, "--output", existing, "--preview", tmp_path / "p.png",
                                   cwd=tmp_path), "person 0", "joint 3", "frame 1", "not a rotation")
    assert existing.read_bytes() == b"the user's scene"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["valid.npz", bad.name, "shot.blend"])


def test_keep_result_into_a_missing_folder_is_written_with_the_scene(valid, tmp_path):
    standin = hostile.archive_arrays(valid)
    result = hostile.save_arrays(tmp_path / "fake_result.npz", standin)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), np.full((480, 640, 3), 90, np.uint8))
    done = run_batch("--input", photo, "--python", fake_python(tmp_path), "--output", tmp_path / "out" / "s.blend",
                     "--keep-result", tmp_path / "kept" / "deep" / "r.npz", cwd=tmp_path,
                     env={"FAKE_WORKER_RESULT": str(result)})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "kept" / "deep" / "r.npz").read_bytes() == result.read_bytes()
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["s.blend"]


def test_ctrl_c_during_the_preview_render_exits_130_and_writes_nothing(valid, tmp_path):
    command = [sys.executable, str(ROOT / "addon" / "batch.py"), "--", "--from-result", str(valid), "--output",
               str(tmp_path / "out" / "s.blend"), "--preview", str(tmp_path / "out" / "s.png")]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "2"})
    for line in process.stdout:  # Blender prints "Saved copy as ..." just before the render starts
        if "Saved copy" in line:
            break
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in errors, errors
    assert errors.strip().splitlines()[-1] == "error: cancelled; nothing was written"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["valid.npz"]
