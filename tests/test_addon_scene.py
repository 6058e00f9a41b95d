"""Headless batch: a result file written here (per the format, with numpy only) -> .blend -> compared with SMPL.

Two people over 10 frames (the second enters at frame 2), 640x480, focal 1000 px, synthetic SMPL. The
reference is smplx's SMPL forward; the .blend is read back and evaluated in the scene camera's frame.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from addon_harness import evaluated_vertices  # first: sets BLENDER_USER_RESOURCES before bpy loads
import bpy  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from bpy_extras.object_utils import world_to_camera_view  # noqa: E402
from smplx.lbs import batch_rodrigues, lbs  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pare_body_estimator.addon.smpl_rest import joint_parents  # noqa: E402
from contract.skeleton import JOINT_NAMES  # noqa: E402
from contract.smpl_file import read_smpl_model  # noqa: E402

SMPL_PATH = ROOT / "tests" / "reference" / "synthetic_SMPL_NEUTRAL.pkl"
WIDTH, HEIGHT, FOCAL, FRAMES = 640, 480, 1000.0, 10


def smpl_forward(model, betas, rotmats, cam_t):
    """smplx's SMPL (float64) in the result camera frame: vertices (n, 6890, 3), joints (n, 24, 3)."""
    def t(a):
        return torch.as_tensor(np.asarray(a, dtype=np.float64))
    verts, joints = lbs(t(betas), t(rotmats), t(model.v_template), t(model.shapedirs[:, :, :10]),
                        t(model.posedirs.reshape(-1, 207).T), t(model.J_regressor),
                        torch.as_tensor(joint_parents(model)), t(model.weights), pose2rot=False)
    return verts.numpy() + cam_t[:, None], joints.numpy() + cam_t[:, None]


def write_result(path, model, source, version=1):
    """A format-v1 result with random SMPL poses, written with numpy as docs/result_format.md describes."""
    rng = np.random.default_rng(7)
    arrays = {}
    for person, frames in enumerate([np.arange(FRAMES), np.arange(2, FRAMES)]):
        n = len(frames)
        rotvecs = rng.normal(0, 0.5, (n, 24, 3))
        rotvecs[:, 0] += [np.pi, 0, 0]  # upright in the image (a half turn about x), then random
        rotmats = batch_rodrigues(torch.as_tensor(rotvecs.reshape(-1, 3))).numpy().reshape(n, 24, 3, 3)
        rotmats = rotmats.astype(np.float32)
        betas = np.repeat(rng.normal(0, 1, (1, 10)), n, axis=0).astype(np.float32)
        cam_t = np.column_stack([rng.normal(person - 0.5, 0.2, n), rng.normal(0, 0.2, n),
                                 rng.uniform(7, 10, n)]).astype(np.float32)
        _, joints = smpl_forward(model, betas, rotmats, cam_t)
        arrays.update({f"person_{person}/{key}": value for key, value in {
            "frame": frames.astype(np.int64),
            "bbox_xywh": np.tile(np.float32([200, 100, 240, 240]), (n, 1)),
            "pose_rotmat": rotmats,
            "pose_axis_angle": rotvecs.reshape(n, 72).astype(np.float32),
            "betas": betas,
            "crop_cam": np.tile(np.float32([0.9, 0.0, 0.0]), (n, 1)),
            "cam_t": cam_t,
            "joints3d": joints.astype(np.float32),
            "joints2d": (FOCAL * joints[..., :2] / joints[..., 2:] + [WIDTH / 2, HEIGHT / 2]).astype(np.float32),
        }.items()})
    meta = {"format": "pare-body-result", "version": version, "image_width": WIDTH, "image_height": HEIGHT,
            "fps": 25.0, "focal_length_px": FOCAL, "frame_count": FRAMES, "source": str(source),
            "model": "pare_hrnet32", "persons": [0, 1]}
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def run_batch(result, output, cwd, smpl=SMPL_PATH):
    """`python addon/batch.py -- ...` in a fresh process, from an unrelated working directory."""
    env = {**os.environ, "BLENDER_USER_RESOURCES": tempfile.mkdtemp(prefix="pare-blender-user-")}
    command = [sys.executable, str(ROOT / "addon" / "batch.py"), "--", "--from-result", str(result),
               "--smpl", str(smpl), "--output", str(output)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def model():
    return read_smpl_model(SMPL_PATH)


@pytest.fixture(scope="module")
def built(tmp_path_factory, model):
    folder = tmp_path_factory.mktemp("scene")
    footage = folder / "frame.png"
    cv2.imwrite(str(footage), np.full((HEIGHT, WIDTH, 3), 90, np.uint8))
    write_result(folder / "result.npz", model, footage)
    done = run_batch(folder / "result.npz", folder / "scene.blend", cwd=tmp_path_factory.mktemp("elsewhere"))
    assert done.returncode == 0, done.stderr
    return folder, np.load(folder / "result.npz")


def camera_frame_points(scene, world_points):
    """(k, 3) world points -> the result's camera frame (x right, y down, z forward)."""
    camera_from_world = np.array(scene.camera.matrix_world.inverted())
    local = world_points @ camera_from_world[:3, :3].T + camera_from_world[:3, 3]
    return local * [1.0, -1.0, -1.0]  # Blender cameras look down -z with +y up


def scene_errors(result, model, persons=(0, 1)):
    """Largest joint (m), vertex (m) and reprojection (px) error over every person and frame of the open file."""
    scene = bpy.context.scene
    worst = {"joint": 0.0, "vertex": 0.0, "pixel": 0.0}
    for person in persons:
        track = {name: result[f"person_{person}/{name}"] for name in ("frame", "betas", "pose_rotmat", "cam_t",
                                                                        "joints2d")}
        verts, joints = smpl_forward(model, track["betas"], track["pose_rotmat"], track["cam_t"])
        armature, body = bpy.data.objects[f"person_{person}"], bpy.data.objects[f"person_{person}_body"]
        for index, frame in enumerate(track["frame"]):
            scene.frame_set(scene.frame_start + int(frame))
            depsgraph = bpy.context.evaluated_depsgraph_get()
            posed = armature.evaluated_get(depsgraph)
            heads = [posed.matrix_world @ posed.pose.bones[name].head for name in JOINT_NAMES]
            projected = np.array([world_to_camera_view(scene, scene.camera, head)[:2] for head in heads])
            pixels = np.column_stack([projected[:, 0] * WIDTH, (1 - projected[:, 1]) * HEIGHT])
            errors = {"joint": camera_frame_points(scene, np.array(heads)) - joints[index],
                      "vertex": camera_frame_points(scene, evaluated_vertices(body, depsgraph)) - verts[index],
                      "pixel": pixels - track["joints2d"][index]}
            worst = {name: max(worst[name], float(np.abs(errors[name]).max())) for name in worst}
    return worst


def within_tolerance(errors):
    return errors["joint"] <= 1e-4 and errors["vertex"] <= 1e-4 and errors["pixel"] <= 0.5


def test_batch_scene_reproduces_smpl_in_the_camera_frame(built, model, tmp_path):
    folder, result = built
    bpy.ops.wm.open_mainfile(filepath=str(folder / "scene.blend"))
    scene = bpy.context.scene
    errors = scene_errors(result, model)
    print("max errors:", errors)
    assert within_tolerance(errors)

    assert (scene.frame_start, scene.frame_end, scene.render.fps / scene.render.fps_base) == (1, FRAMES, 25)
    assert (scene.render.resolution_x, scene.render.resolution_y) == (WIDTH, HEIGHT)
    collection = bpy.data.collections["PARE result"]
    armature, body = bpy.data.objects["person_1"], bpy.data.objects["person_1_body"]
    assert {armature.name, body.name, scene.camera.name} <= set(collection.objects.keys())
    assert [bone.name for bone in armature.data.bones] != [] and set(armature.data.bones.keys()) == set(JOINT_NAMES)
    assert all(bone.rotation_mode == "QUATERNION" for bone in armature.pose.bones)
    keys = body.data.shape_keys.key_blocks
    assert len(keys) == 1 + 10 + 207
    assert keys["beta_03"].value == pytest.approx(result["person_1/betas"][0, 3], abs=1e-6)
    assert set(body.vertex_groups.keys()) == set(JOINT_NAMES)
    assert body.data.color_attributes.active_color.name == "smpl_parts"
    footage = [obj for obj in collection.objects if obj.type == "MESH" and obj.parent == scene.camera]
    assert len(footage) == 1 and scene.camera.data.background_images[0].image.filepath.endswith("frame.png")

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "again.blend"))  # a second save / reload round trip
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "again.blend"))
    assert within_tolerance(scene_errors(result, model, persons=(1,)))


def test_batch_refuses_bad_inputs_with_one_line_and_no_file(built, tmp_path):
    folder, _ = built
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes((folder / "result.npz").read_bytes()[:5000])
    newer = tmp_path / "newer.npz"
    write_result(newer, read_smpl_model(SMPL_PATH), folder / "frame.png", version=3)
    cases = [(corrupt, SMPL_PATH, "corrupt.npz"), (newer, SMPL_PATH, "newer"),
             (folder / "result.npz", folder / "result.npz", "SMPL")]
    for result, smpl, expected in cases:
        done = run_batch(result, tmp_path / "out.blend", cwd=tmp_path, smpl=smpl)
        assert done.returncode == 2, done.stderr
        message = done.stderr.strip()
        assert message.startswith("error: ") and "\n" not in message and expected in message, message
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corrupt.npz", "newer.npz"]
