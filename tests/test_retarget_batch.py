"""`addon/batch.py --from-result R --retarget TARGETS.blend:NAME --export X.fbx --export X.bvh`: the headless
retarget-and-export path as a pipeline runs it, in a separate process."""
import os
import pathlib
import subprocess
import sys
import tempfile

import addon_harness  # noqa: F401  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import bpy
import numpy as np

from test_retarget import FRAMES, MEASURED, action_fcurves, mixamo_rig, reimported_joints, write_result

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_batch(*args, cwd):
    env = {**os.environ, "BLENDER_USER_RESOURCES": tempfile.mkdtemp(prefix="pare-blender-user-")}
    return subprocess.run([sys.executable, str(ROOT / "addon" / "batch.py"), "--", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def test_batch_retargets_onto_an_appended_rig_and_exports_each_format(tmp_path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    mixamo_rig(np.random.default_rng(3))
    targets = tmp_path / "TARGETS.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(targets), copy=True)
    write_result(tmp_path / "take.npz")
    out = tmp_path / "out"
    done = run_batch("--from-result", tmp_path / "take.npz", "--output", out / "shot.blend", "--retarget",
                     f"{targets}:Mixamo", "--bone-map", "mixamo", "--export", out / "X.fbx", "--export",
                     out / "X.bvh", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["X.bvh", "X.fbx", "shot.blend"]  # no temporary left
    assert f"wrote the motion {out / 'X.fbx'}" in done.stdout and f"wrote the motion {out / 'X.bvh'}" in done.stdout

    bpy.ops.wm.open_mainfile(filepath=str(out / "shot.blend"))
    rig = bpy.data.objects["Mixamo"]  # one person: the copy keeps the name
    paths = {fcurve.data_path for fcurve in action_fcurves(rig.animation_data.action, rig)}
    assert any(path.startswith('pose.bones["mixamorig:LeftArm"]') for path in paths)
    assert not [c for bone in rig.pose.bones for c in bone.constraints]
    bones = list(MEASURED["Mixamo"].values())
    for name in ("X.fbx", "X.bvh"):
        joints = reimported_joints(out / name, bones, FRAMES)
        assert joints.shape == (FRAMES, len(bones), 3) and np.isfinite(joints).all()
        assert np.ptp(joints[:, 0], axis=0).max() > 0.1  # the hips travel across the view


def test_bad_retarget_or_export_arguments_write_nothing(tmp_path):
    write_result(tmp_path / "take.npz")
    out = tmp_path / "out"
    for extra, message in ((["--export", out / "X.obj"], "X.obj"),
                           (["--retarget", tmp_path / "missing.blend:Rig"], "missing.blend"),
                           (["--retarget", "no-object-given.blend"], "TARGET.blend:OBJECT"),
                           (["--retarget", f"{tmp_path / 'm.blend'}:Rig", "--bone-map", "maya"], "maya")):
        if "m.blend" in str(extra[1]):
            bpy.ops.wm.read_factory_settings(use_empty=True)
            bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "m.blend"), copy=True)
        done = run_batch("--from-result", tmp_path / "take.npz", "--output", out / "shot.blend", *extra,
                         cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert not out.exists()

