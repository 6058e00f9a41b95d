"""`addon/batch.py --input-folder TAKES --output-folder SCENES`: one .blend per clip, resumable, a failed clip
reported and skipped."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_batch(*args, cwd):
    env = {**os.environ, "BLENDER_USER_RESOURCES": tempfile.mkdtemp(prefix="pare-blender-user-")}
    return subprocess.run([sys.executable, str(ROOT / "addon" / "batch.py"), "--", *map(str, args), "--python",
                           sys.executable], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_a_folder_of_clips_becomes_a_folder_of_scenes_and_a_rerun_resumes(tmp_path):
    takes, scenes = tmp_path / "takes", tmp_path / "scenes"
    takes.mkdir()
    scenes.mkdir()
    shutil.copy(ROOT / "assets" / "samples" / "astronaut.jpg", takes / "astronaut.jpg")
    (takes / "broken.mp4").write_bytes(b"not a video")
    done = run_batch("--input-folder", takes, "--output-folder", scenes, cwd=tmp_path)
    assert done.returncode == 2 and "1 of 2 clip(s) failed and were skipped: broken.mp4" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in scenes.iterdir()) == ["astronaut.blend"]  # nothing half-written
    stamp = (scenes / "astronaut.blend").stat().st_mtime_ns

    (takes / "broken.mp4").unlink()
    done = run_batch("--input-folder", takes, "--output-folder", scenes, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "skipped" in done.stdout and (scenes / "astronaut.blend").stat().st_mtime_ns == stamp


def test_per_clip_outputs_are_refused_with_many_clips(tmp_path):
    done = run_batch("--inputs", ROOT / "assets" / "samples" / "astronaut.jpg", "--output-folder", tmp_path,
                     "--preview", tmp_path / "p.png", cwd=tmp_path)
    assert done.returncode == 2 and "--preview" in done.stderr and not list(tmp_path.glob("*.blend"))
    done = run_batch("--inputs", ROOT / "assets" / "samples" / "astronaut.jpg", cwd=tmp_path)
    assert done.returncode == 2 and "--output-folder" in done.stderr
