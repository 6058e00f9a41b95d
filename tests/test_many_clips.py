"""`python -m inference estimate-many`: a folder of clips into a folder of results, resumable, a bad clip
reported and skipped, nothing half-written."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "assets" / "samples"


def run_many(*args, cwd):
    return subprocess.run([sys.executable, "-m", "inference", "estimate-many", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_a_folder_of_clips_becomes_a_folder_of_results_and_a_rerun_resumes(tmp_path):
    clips, out = tmp_path / "clips", tmp_path / "results"
    clips.mkdir()
    out.mkdir()
    shutil.copy(SAMPLES / "astronaut.jpg", clips / "a_astronaut.jpg")
    (clips / "b_broken.mp4").write_bytes(b"not a video at all")
    cv2.imwrite(str(clips / "c_still.png"), cv2.imread(str(SAMPLES / "astronaut.jpg")))
    (clips / "notes.txt").write_text("not a clip")

    done = run_many("--input-folder", clips, "--output-folder", out, "--progress", "json", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[-1]["event"] == "error" and "1 of 3 clip(s) failed" in events[-1]["message"]
    assert "b_broken.mp4" in events[-1]["message"]
    assert sorted(p.name for p in out.iterdir()) == ["a_astronaut.npz", "c_still.npz"]  # nothing else left
    first = json.loads(str(np.load(out / "a_astronaut.npz")["meta"]))
    assert first["source"].endswith("a_astronaut.jpg") and first["frame_count"] == 1

    (clips / "b_broken.mp4").unlink()
    stamp = (out / "a_astronaut.npz").stat().st_mtime_ns
    (out / "c_still.npz").write_bytes(b"damaged by a crash")  # an unreadable result is made again
    done = run_many("--input-folder", clips, "--output-folder", out, "--progress", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "a_astronaut.npz").stat().st_mtime_ns == stamp  # already done: skipped
    assert json.loads(str(np.load(out / "c_still.npz")["meta"]))["frame_count"] == 1
    assert json.loads(done.stdout.splitlines()[-1])["event"] == "done"


def test_a_clip_list_and_its_errors(tmp_path):
    listing = tmp_path / "shots.txt"
    listing.write_text(f"# tonight's shots\n{SAMPLES / 'astronaut.jpg'}\n\n")
    done = run_many("--input-list", listing, "--output-folder", tmp_path / "missing", cwd=tmp_path)
    assert done.returncode == 2 and "output folder" in done.stderr and "Traceback" not in done.stderr
    done = run_many("--input-list", tmp_path / "none.txt", "--output-folder", tmp_path, cwd=tmp_path)
    assert done.returncode == 2 and "Cannot read the clip list" in done.stderr
    done = run_many("--inputs", SAMPLES / "astronaut.jpg", SAMPLES / "astronaut.jpg", "--output-folder", tmp_path,
                    "--focal-length", "-3", cwd=tmp_path)
    assert done.returncode == 2 and "--focal-length" in done.stderr and not list(tmp_path.glob("*.npz"))


def test_the_clips_spread_over_a_local_ray_runtime_give_the_same_results(tmp_path):
    """`--ray` starts a local Ray runtime and runs one task per clip: the results equal the plain run's."""
    clips = [SAMPLES / "astronaut.jpg", SAMPLES / "cameraman.png"]
    here, there = tmp_path / "here", tmp_path / "ray"
    here.mkdir()
    there.mkdir()
    assert run_many("--inputs", *clips, "--output-folder", here, cwd=tmp_path).returncode == 0
    done = run_many("--inputs", *clips, SAMPLES / "rocket.jpg", "--output-folder", there, "--ray",
                    "--progress", "json", cwd=tmp_path)
    assert done.returncode == 2 and "rocket.jpg (Nobody was found" in done.stdout  # reported, skipped
    for name in ("astronaut.npz", "cameraman.npz"):
        np.testing.assert_allclose(np.load(there / name)["person_0/joints3d"],
                                   np.load(here / name)["person_0/joints3d"], atol=1e-4)  # Ray: 1 thread
    assert sorted(p.name for p in there.iterdir()) == ["astronaut.npz", "cameraman.npz"]
