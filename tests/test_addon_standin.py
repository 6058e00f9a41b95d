"""Results made with the bundled stand-in body (no SMPL file anywhere), through batch.py and the panel.

A stand-in result (one person, 5 frames, small random rotations; joints from the stand-in SMPLBody) is built
without --smpl and compared with the stand-in's own forward, with the helpers of test_addon_scene; the
estimate paths run the fake worker (tests/fake_worker.py) with neither a checkpoint nor an SMPL file, and
batch renders a preview; an SMPL result without --smpl is refused in one line, leaving nothing behind.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import test_addon_scene as scene_checks  # noqa: E402  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import addon_harness  # noqa: E402
import bpy  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from fake_worker import fake_python  # noqa: E402
from smplx.lbs import batch_rodrigues  # noqa: E402

from pare_body_estimator.addon.rig_math import WORLD_FROM_SMPL  # noqa: E402
from contract.skeleton import JOINT_NAMES  # noqa: E402
from inference.body_model import SMPLBody  # noqa: E402
from contract.smpl_file import read_body_model, read_smpl_model  # noqa: E402

WIDTH, HEIGHT, FOCAL = scene_checks.WIDTH, scene_checks.HEIGHT, scene_checks.FOCAL  # the helpers' camera
FRAMES = 5
FOOTAGE_GREY = 90
CAM_T = np.float32([0.1, 0.1, 5.0])  # the whole body in view, about centred: 1.7 m tall is 340 px at 5 m


def write_standin_result(path, source):
    """A format-v1 result of the stand-in body, written with numpy as docs/result_format.md describes."""
    rng = np.random.default_rng(11)
    rotvecs = rng.normal(0, 0.15, (FRAMES, 24, 3))
    rotvecs[:, 0] = [np.pi, 0, 0] + rng.normal(0, 0.1, (FRAMES, 3))  # upright, facing the camera
    rotmats = batch_rodrigues(torch.as_tensor(rotvecs.reshape(-1, 3))).numpy().reshape(FRAMES, 24, 3, 3)
    betas = np.repeat(rng.normal(0, 0.8, (1, 10)), FRAMES, axis=0)
    cam_t = np.tile(CAM_T, (FRAMES, 1)) + rng.normal(0, 0.02, (FRAMES, 3)).astype(np.float32)
    with torch.no_grad():
        body = SMPLBody(read_body_model(None))(torch.as_tensor(rotmats, dtype=torch.float32),
                                               torch.as_tensor(betas, dtype=torch.float32))
    joints = body.joints.numpy() + cam_t[:, None]
    arrays = {f"person_0/{key}": value for key, value in {
        "frame": np.arange(FRAMES, dtype=np.int64),
        "bbox_xywh": np.tile(np.float32([220, 60, 200, 200]), (FRAMES, 1)),
        "pose_rotmat": rotmats.astype(np.float32),
        "pose_axis_angle": rotvecs.reshape(FRAMES, 72).astype(np.float32),
        "betas": betas.astype(np.float32),
        "crop_cam": np.tile(np.float32([1.0, 0.0, 0.0]), (FRAMES, 1)),
        "cam_t": cam_t,
        "joints3d": joints.astype(np.float32),
        "joints2d": (FOCAL * joints[..., :2] / joints[..., 2:] + [WIDTH / 2, HEIGHT / 2]).astype(np.float32),
    }.items()}
    meta = {"format": "pare-body-result", "version": 1, "image_width": WIDTH, "image_height": HEIGHT,
            "fps": 30.0, "focal_length_px": FOCAL, "frame_count": FRAMES, "source": str(source),
            "model": "blazepose-fit", "body_model": "stand-in", "persons": [0]}
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def run_batch(*args, cwd):
    """`python addon/batch.py -- ...` in a fresh process, with no SMPL file or checkpoint in its environment."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PARE_BODY_SMPL", "PARE_BODY_CHECKPOINT", "PARE_BODY_PYTHON")}
    env.update(OMP_NUM_THREADS="2", BLENDER_USER_RESOURCES=tempfile.mkdtemp(prefix="pare-blender-user-"))
    return subprocess.run([sys.executable, str(scene_checks.ROOT / "addon" / "batch.py"), "--", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def standin_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("standin")
    cv2.imwrite(str(folder / "clip.png"), np.full((HEIGHT, WIDTH, 3), FOOTAGE_GREY, np.uint8))
    write_standin_result(folder / "result.npz", folder / "clip.png")
    return folder


def test_a_standin_result_builds_without_smpl_and_matches_the_standin_body(standin_result, tmp_path):
    done = run_batch("--from-result", standin_result / "result.npz", "--output", tmp_path / "scene.blend",
                     cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "stand-in body" in done.stdout and str(tmp_path / "scene.blend") in done.stdout
    result = np.load(standin_result / "result.npz")
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "scene.blend"))
    errors = scene_checks.scene_errors(result, read_body_model(None), persons=(0,))
    print("max errors against the stand-in forward:", errors)
    assert scene_checks.within_tolerance(errors)

    scene = bpy.context.scene  # the armature's joints are the stand-in SMPLBody's joints of the result too
    scene.frame_set(scene.frame_start + 2)
    posed = bpy.data.objects["person_0"].evaluated_get(bpy.context.evaluated_depsgraph_get())
    heads = np.array([posed.matrix_world @ posed.pose.bones[name].head for name in JOINT_NAMES])
    assert np.abs(scene_checks.camera_frame_points(scene, heads) - result["person_0/joints3d"][2]).max() < 1e-4

    keys = bpy.data.objects["person_0_body"].data.shape_keys.key_blocks
    assert len(keys) == 1 + 10 and not [key for key in keys.keys() if key.startswith("pose_")]
    assert bpy.data.collections["PARE result"]["pare_body_model"] == "stand-in body"


def test_estimating_without_checkpoint_or_smpl_renders_a_preview(standin_result, tmp_path, monkeypatch):
    """The worker is told neither file; --refine passes through; out/ is created; the preview shows the body
    where its joints project, and the footage's own grey away from it."""
    monkeypatch.setenv("FAKE_WORKER_RESULT", str(standin_result / "result.npz"))
    out = tmp_path / "out"
    done = run_batch("--input", standin_result / "clip.png", "--python", fake_python(tmp_path), "--refine",
                     "--output", out / "shot.blend", "--preview", out / "shot.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    args = json.loads((tmp_path / "args.json").read_text())
    assert "--checkpoint" not in args and "--smpl" not in args and "--refine" in args
    assert sorted(path.name for path in out.iterdir()) == ["shot.blend", "shot.png"]
    lines = done.stdout.strip().splitlines()[-2:]
    assert str(out / "shot.blend") in lines[0] and str(out / "shot.png") in lines[1] and "frame 3" in lines[1]

    picture = cv2.imread(str(out / "shot.png"))
    assert picture.shape == (HEIGHT, WIDTH, 3)
    joints2d = np.load(standin_result / "result.npz")["person_0/joints2d"][2]  # the middle frame, scene frame 3
    torso = [JOINT_NAMES.index(name) for name in ("pelvis", "spine1", "spine2", "spine3")]
    on_body = picture[np.round(joints2d[torso, 1]).astype(int), np.round(joints2d[torso, 0]).astype(int)]
    print("preview pixels on the torso:", on_body.tolist())
    assert np.all(np.abs(on_body.astype(int) - FOOTAGE_GREY).max(axis=1) > 10)
    corners = picture[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert np.all(np.abs(corners.astype(int) - FOOTAGE_GREY) <= 5), corners.tolist()  # dithered 8-bit
    assert np.mean(np.abs(picture.astype(int) - FOOTAGE_GREY).max(axis=2) > 10) > 0.02  # a body-sized area


def test_an_smpl_result_without_smpl_is_refused_and_leaves_nothing(tmp_path):
    write_path = tmp_path / "smpl_result.npz"
    scene_checks.write_result(write_path, read_smpl_model(scene_checks.SMPL_PATH), tmp_path / "none.png")
    done = run_batch("--from-result", write_path, "--output", tmp_path / "new" / "folder" / "scene.blend",
                     "--preview", tmp_path / "new" / "scene.png", cwd=tmp_path)
    message = done.stderr.strip()
    assert done.returncode == 2 and message.startswith("error: ") and "\n" not in message, done.stderr
    assert "computed with the SMPL body model" in message and "--smpl" in message and "smpl.is.tue.mpg.de" in message
    assert sorted(path.name for path in tmp_path.iterdir()) == ["smpl_result.npz"]


def test_batch_passes_refine_and_the_checkpoint_through(standin_result, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER_RESULT", str(standin_result / "result.npz"))
    done = run_batch("--input", standin_result / "clip.png", "--python", fake_python(tmp_path), "--refine",
                     "--checkpoint", tmp_path / "pare.ckpt", "--output", tmp_path / "shot.blend", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    args = json.loads((tmp_path / "args.json").read_text())
    assert "--refine" in args and args[args.index("--checkpoint") + 1] == str(tmp_path / "pare.ckpt")
    assert "--smpl" not in args


@pytest.fixture()
def panel(standin_result, tmp_path, monkeypatch):
    """The extension enabled, an empty scene, the fake worker returning the stand-in result, no files set."""
    addon_harness.enable_extension()
    bpy.ops.wm.read_homefile(use_empty=True)  # keeps the preferences
    for name in ("PARE_BODY_SMPL", "PARE_BODY_CHECKPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAKE_WORKER_RESULT", str(standin_result / "result.npz"))
    prefs = bpy.context.preferences.addons[addon_harness.PACKAGE].preferences
    prefs.python, prefs.smpl_neutral, prefs.checkpoint, prefs.device = str(fake_python(tmp_path)), "", "", "cpu"
    settings = bpy.context.scene.pare_body
    settings.input_path, settings.refine = str(standin_result / "clip.png"), True
    return prefs


def test_the_panel_estimates_without_files_and_says_which_body(panel, standin_result, tmp_path):
    summary = addon_harness.extension_module("addon.panel").estimator_summary
    assert summary(bpy.context) == (["Estimator: keypoints (no PARE checkpoint)", "Body: stand-in (no SMPL file)"],
                                    False)
    assert bpy.ops.pare_body.estimate_body() == {"FINISHED"}
    args = json.loads((tmp_path / "args.json").read_text())
    assert not {"--checkpoint", "--smpl", "--refine"} & set(args)  # refining needs PARE: not asked for
    assert "stand-in body" in bpy.context.window_manager.pare_body_job.message
    assert bpy.data.collections["PARE clip"]["pare_body_model"] == "stand-in body"
    assert len(bpy.data.objects["person_0_body"].data.shape_keys.key_blocks) == 1 + 10

    panel.smpl_neutral, panel.checkpoint = str(scene_checks.SMPL_PATH), str(scene_checks.SMPL_PATH)
    assert summary(bpy.context) == (["Estimator: PARE", "Body: SMPL neutral"], True)
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.scene.pare_body.input_path = str(standin_result / "clip.png")
    bpy.context.scene.pare_body.refine = True
    assert bpy.ops.pare_body.estimate_body() == {"FINISHED"}
    args = json.loads((tmp_path / "args.json").read_text())
    assert {"--checkpoint", "--smpl", "--refine"} <= set(args)
    # The result is a stand-in one, so the stand-in body is built although SMPL is configured.
    body = bpy.data.objects["person_0_body"].data
    rest = np.empty(len(body.vertices) * 3, np.float32)
    body.shape_keys.key_blocks["Basis"].data.foreach_get("co", rest)
    template = read_body_model(None).v_template @ WORLD_FROM_SMPL.T
    assert np.abs(rest.reshape(-1, 3) - template).max() < 1e-6
