"""The extension as users get it: validated and built by Blender's own tool, installed from the zip and enabled
the way Blender's preferences do it, then importing a result through its operator, in a Blender without torch.

The installed run happens in a fresh process, where `torch` is made unimportable before the extension loads
(Blender's Python has no torch) and BLENDER_USER_RESOURCES points at a temporary folder.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from contract.result_file import PersonTrack, ResultMeta, write_result  # noqa: E402

SMPL_PATH = ROOT / "tests" / "reference" / "synthetic_SMPL_NEUTRAL.pkl"


def blender_ext_tool():
    """Blender's extension tool, shipped inside the bpy package (standard library only)."""
    import importlib.util
    bpy_dir = pathlib.Path(importlib.util.find_spec("bpy").origin).parent
    found = sorted(bpy_dir.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    assert found, f"blender_ext.py not found under {bpy_dir}"
    return found[-1]


def run_tool(*args):
    return subprocess.run([sys.executable, str(blender_ext_tool()), *map(str, args)], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def package_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    done = run_tool("build", "--source-dir", ROOT, "--output-dir", out)
    assert done.returncode == 0, done.stdout + done.stderr
    return next(out.glob("pare_body_estimator-*.zip"))


def test_manifest_validates_and_the_zip_holds_the_extension_only(package_zip):
    done = run_tool("validate", ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    names = zipfile.ZipFile(package_zip).namelist()
    assert {"blender_manifest.toml", "__init__.py", "addon/scene_build.py", "addon/operators/import_result.py",
            "contract/result_file.py", "contract/smpl_file.py", "inference/cli.py"} <= set(names)
    assert not [n for n in names if n.split("/")[0] in ("tests", "bench", ".venv", ".ci", ".git") or
                "__pycache__" in n]


INSTALLED_RUN = r"""
import json, os, sys
sys.modules["torch"] = None  # Blender's Python has no torch: any `import torch` now fails
import bpy
zip_path, result, smpl = sys.argv[1:4]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
out = {"enabled": "bl_ext.user_default.pare_body_estimator" in bpy.context.preferences.addons,
       "panel": hasattr(bpy.types, "PAREBODY_PT_body")}

def state():
    names = {c: sorted(b.name for b in getattr(bpy.data, c))
             for c in ("objects", "meshes", "armatures", "actions", "cameras", "collections", "materials")}
    scene = bpy.context.scene
    names["settings"] = [scene.frame_start, scene.frame_end, scene.render.resolution_x, scene.render.fps]
    return names

scene_build = sys.modules["bl_ext.user_default.pare_body_estimator.addon.scene_build"]
before = state()
real = scene_build.animate_person
def fail(*args):
    raise RuntimeError("simulated failure half-way")
scene_build.animate_person = fail
try:
    bpy.ops.pare_body.import_result(filepath=result, smpl_path=smpl)
except RuntimeError as error:
    out["failure"] = "simulated failure" in str(error)
out["unchanged_after_failure"] = state() == before
scene_build.animate_person = real
out["import"] = sorted(bpy.ops.pare_body.import_result(filepath=result, smpl_path=smpl))
action = bpy.data.objects["person_0"].animation_data.action  # slotted actions from Blender 4.4, else legacy
fcurves = action.layers[0].strips[0].channelbags[0].fcurves if hasattr(action, "layers") else action.fcurves
out["armature_frames"] = sorted({int(p.co[0]) for fc in fcurves if fc.data_path.startswith("pose.")
                                 for p in fc.keyframe_points})
out["hidden_from"] = [p.co[0] for fc in fcurves if fc.data_path == "hide_render" for p in fc.keyframe_points
                      if p.co[1] == 1.0]
bpy.ops.preferences.addon_disable(module="bl_ext.user_default.pare_body_estimator")
out["unregistered"] = not hasattr(bpy.types, "PAREBODY_PT_body")
print("RESULT " + json.dumps(out))
"""


def small_result(path):
    """One person over 3 frames, through the inference package's own writer."""
    n = 3
    rotmats = np.repeat(np.diag([1.0, -1.0, -1.0])[None, None], 24, axis=1).repeat(n, axis=0).astype(np.float32)
    joints = np.zeros((n, 24, 3), np.float32) + np.float32([0.0, 0.0, 5.0])
    track = PersonTrack(frame=np.arange(n, dtype=np.int64), bbox_xywh=np.zeros((n, 4), np.float32) + np.float32(100),
                        pose_rotmat=rotmats, pose_axis_angle=np.zeros((n, 72), np.float32),
                        betas=np.zeros((n, 10), np.float32), crop_cam=np.ones((n, 3), np.float32),
                        cam_t=np.zeros((n, 3), np.float32) + np.float32([0.0, 0.0, 5.0]), joints3d=joints,
                        joints2d=np.zeros((n, 24, 2), np.float32) + np.float32(100))
    meta = ResultMeta(image_width=320, image_height=240, fps=24.0, focal_length_px=400.0, frame_count=n,
                      source=str(path.parent / "missing.mp4"), model="pare_hrnet32")
    write_result(path, meta, [track])


def test_installed_extension_imports_a_result_and_rolls_back_a_failure(package_zip, tmp_path):
    result = tmp_path / "result.npz"
    small_result(result)
    env = {**os.environ, "BLENDER_USER_RESOURCES": tempfile.mkdtemp(prefix="pare-blender-user-")}
    done = subprocess.run([sys.executable, "-c", INSTALLED_RUN, str(package_zip), str(result), str(SMPL_PATH)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout + done.stderr
    out = json.loads(lines[-1][len("RESULT "):])
    assert out == {"enabled": True, "panel": True, "failure": True, "unchanged_after_failure": True,
                   "import": ["FINISHED"], "armature_frames": [1, 2, 3], "hidden_from": [4.0],
                   "unregistered": True}
