"""batch.py --input: the inference worker runs synchronously in a subprocess, then the scene is built.

The checkpoint is the synthetic HRNet PARE of the reference weight rule; what matters here is the plumbing
(worker command, JSON events, errors, temporary files), the numbers are checked by test_addon_scene.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

if "bpy" not in sys.modules:  # before bpy loads: never touch the real user configuration
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="pare-blender-user-")

import bpy  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from weight_rule import REFERENCE, write_lightning_checkpoint  # noqa: E402

SMPL_PATH = REFERENCE / "synthetic_SMPL_NEUTRAL.pkl"
PHOTO = ROOT / "assets" / "samples" / "astronaut.jpg"  # a real person, so the detector finds one


def run_batch(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "2",
           "BLENDER_USER_RESOURCES": tempfile.mkdtemp(prefix="pare-blender-user-")}
    return subprocess.run([sys.executable, str(ROOT / "addon" / "batch.py"), "--", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "pare_w_3dpw_checkpoint.ckpt"
    write_lightning_checkpoint(path, "pare_hrnet32_state_dict.tsv")
    return path


def test_batch_estimates_then_builds_the_scene(checkpoint, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    done = run_batch("--input", PHOTO, "--checkpoint", checkpoint, "--smpl", SMPL_PATH, "--device", "cpu",
                     "--output", out / "shot.blend", "--keep-result", out / "shot.npz", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "estimate: 1/1" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["shot.blend", "shot.npz"]  # no temporary left
    result = np.load(out / "shot.npz")
    bpy.ops.wm.open_mainfile(filepath=str(out / "shot.blend"))
    scene = bpy.context.scene
    assert "person_0" in bpy.data.objects and "PARE astronaut" in bpy.data.collections
    assert (scene.render.resolution_x, scene.render.resolution_y) == (512, 512)
    lens_px = scene.camera.data.lens * 512 / scene.camera.data.sensor_width
    assert lens_px == pytest.approx(json.loads(str(result["meta"]))["focal_length_px"], rel=1e-6)


def test_batch_reports_worker_problems_in_one_line(checkpoint, tmp_path):
    cases = [(("--checkpoint", tmp_path / "missing.ckpt"), "missing.ckpt"),
             (("--checkpoint", checkpoint, "--python", tmp_path / "no-python"), "no-python")]
    for extra, expected in cases:
        done = run_batch("--input", PHOTO, "--smpl", SMPL_PATH, "--output", tmp_path / "shot.blend", *extra,
                         cwd=tmp_path)
        message = done.stderr.strip().splitlines()[-1]
        assert done.returncode == 2 and message.startswith("error: ") and expected in message, done.stderr
    assert list(tmp_path.iterdir()) == []
