"""Estimate Body without a network: a fake inference worker (tests/fake_worker.py) behind the add-on's worker
plumbing, the extension enabled in this process (tests/addon_harness.py).

Background Blender runs no modal operators, so the operator runs its `execute` path (the same run, stepped to
the end); cancelling is tested on the run and the worker themselves, which is what the modal timer drives.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import addon_harness  # noqa: E402  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import bpy  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from fake_worker import USER_ERROR, fake_python  # noqa: E402

from contract.result_file import PersonTrack, ResultMeta, write_result  # noqa: E402
from inference.cli import build_parser  # noqa: E402

SMPL_PATH = addon_harness.ROOT / "tests" / "reference" / "synthetic_SMPL_NEUTRAL.pkl"
WIDTH, HEIGHT, FRAMES = 160, 120, 3
BOXES = {0: [10.0, 20.0, 56.0, 56.0], 1: [90.0, 30.0, 60.0, 60.0]}


def result_with_maps(path, footage, size=(WIDTH, HEIGHT), boxes=BOXES):
    """Two people over 3 frames (the second from frame 1), with part maps: each attends to its box's
    top-left quarter with part 3 and is segmented as part 5 on the box's left half."""
    tracks = []
    for person, frames in ((0, np.arange(FRAMES)), (1, np.arange(1, FRAMES))):
        n = len(frames)
        attention = np.full((n, 24, 56, 56), 1e-6, np.float32)
        attention[:, 3, :28, :28] = 1.0
        attention /= attention.sum(axis=(2, 3), keepdims=True)
        segmentation = np.zeros((n, 25, 56, 56), np.float32)
        segmentation[:, 0] = 1.0
        segmentation[:, 6, :, :28] = 4.0
        rot = np.repeat(np.diag([1.0, -1.0, -1.0])[None, None], 24, axis=1).repeat(n, axis=0)
        cam_t = np.tile(np.float32([person - 0.5, 0.0, 6.0 + person]), (n, 1))
        tracks.append(PersonTrack(
            frame=frames.astype(np.int64), bbox_xywh=np.tile(np.float32(boxes[person]), (n, 1)),
            pose_rotmat=rot.astype(np.float32), pose_axis_angle=np.zeros((n, 72), np.float32),
            betas=np.zeros((n, 10), np.float32), crop_cam=np.ones((n, 3), np.float32), cam_t=cam_t,
            joints3d=np.zeros((n, 24, 3), np.float32) + cam_t[:, None], joints2d=np.zeros((n, 24, 2), np.float32),
            part_attention=attention.astype(np.float16), part_segmentation=segmentation.astype(np.float16)))
    meta = ResultMeta(image_width=size[0], image_height=size[1], fps=25.0, focal_length_px=200.0,
                      frame_count=FRAMES, source=str(footage), model="pare_hrnet32")
    write_result(path, meta, tracks)


@pytest.fixture()
def extension():
    """Enabled again for each test: another test file's factory reset disables it."""
    return addon_harness.enable_extension()


@pytest.fixture()
def setup(extension, tmp_path, monkeypatch):
    """A fresh empty scene, preferences pointing at the fake worker, a footage image and a result to return."""
    bpy.ops.wm.read_homefile(use_empty=True)  # keeps the preferences, unlike read_factory_settings
    footage = tmp_path / "clip.png"
    cv2.imwrite(str(footage), np.full((HEIGHT, WIDTH, 3), 80, np.uint8))
    result_with_maps(tmp_path / "prepared.npz", footage)
    monkeypatch.setenv("FAKE_WORKER_RESULT", str(tmp_path / "prepared.npz"))
    prefs = bpy.context.preferences.addons[addon_harness.PACKAGE].preferences
    prefs.python, prefs.smpl_neutral, prefs.checkpoint = str(fake_python(tmp_path)), str(SMPL_PATH), str(SMPL_PATH)
    prefs.device = "cpu"
    settings = bpy.context.scene.pare_body
    settings.input_path = str(footage)
    return tmp_path


def scene_state():
    names = {c: sorted(b.name for b in getattr(bpy.data, c))
             for c in ("objects", "meshes", "armatures", "actions", "cameras", "collections", "images", "materials")}
    scene = bpy.context.scene
    names["settings"] = [scene.frame_start, scene.frame_end, scene.render.resolution_x, scene.camera]
    return names


def runs_folder(extension):
    return pathlib.Path(bpy.utils.extension_path_user(addon_harness.PACKAGE, path="runs", create=True))


def test_estimate_passes_the_panel_options_and_builds_bodies_with_overlay_planes(setup, extension):
    settings = bpy.context.scene.pare_body
    settings.use_frame_range, settings.first_frame, settings.last_frame, settings.stride = True, 1, 2, 2
    settings.person_choice, settings.smooth, settings.precision = "most-visible", False, "bf16"
    settings.focal_length, settings.batch_size = 1234.5, 3
    settings.overlay_attention = settings.overlay_segmentation = True
    assert bpy.ops.pare_body.estimate_body() == {"FINISHED"}

    args = json.loads((setup / "args.json").read_text())
    assert args[:3] == ["-m", "inference", "estimate"]
    parsed = vars(build_parser().parse_args(args[2:]))  # read by the worker's own command line
    assert {k: parsed[k] for k in ("frame_range", "stride", "person", "precision", "device", "progress", "smooth",
                                   "detect", "focal_length", "batch_size")} == {
        "frame_range": "1:3", "stride": 2, "person": "most-visible", "precision": "bf16", "device": "cpu",
        "progress": "json", "smooth": False, "detect": True, "focal_length": 1234.5, "batch_size": 3}
    assert {"person_0", "person_1", "person_1_body"} <= set(bpy.data.objects.keys())
    assert "PARE clip" in bpy.data.collections
    planes = {obj["pare_overlay"]: obj for obj in bpy.data.objects if obj.get("pare_overlay")}
    footage = bpy.data.objects["PARE clip footage"]
    assert set(planes) == {"attention", "segmentation"}
    camera = bpy.context.scene.camera
    for plane in planes.values():  # nearer than the footage, filling the camera's view (width = depth W / f)
        depth = -plane.location.z
        assert plane.parent == camera and 0 < -footage.location.z - depth <= 0.03
        assert plane.dimensions.x == pytest.approx(depth * WIDTH / 200.0, rel=1e-5)
        image = plane.active_material.node_tree.nodes["Image Texture"].image
        assert image.source == "SEQUENCE" and image.filepath.endswith("_000000.png")

    folder = pathlib.Path(bpy.path.abspath(planes["segmentation"].active_material.node_tree
                                           .nodes["Image Texture"].image.filepath)).parent
    assert sorted(p.name for p in folder.iterdir()) == [f"segmentation_{i:06d}.png" for i in range(FRAMES)]
    first = cv2.imread(str(folder / "segmentation_000000.png"), cv2.IMREAD_UNCHANGED)
    x, y, w, h = map(int, BOXES[0])  # person 0: part 5 on the left half of its box, clear elsewhere
    assert first.shape == (HEIGHT, WIDTH, 4) and np.all(first[y + 2:y + h - 2, x:x + w // 2 - 1, 3] == 255)
    assert np.all(first[y:y + h, x + w // 2 + 1:x + w, 3] == 0) and first[..., 3].sum() == 255 * h * w // 2
    assert (folder.parent / "result.npz").is_file()

    settings.show_attention = False
    assert planes["attention"].hide_viewport and planes["attention"].hide_render
    assert not planes["segmentation"].hide_viewport
    settings.show_attention = True
    assert not planes["attention"].hide_render


def test_overlay_frames_of_a_large_image_are_made_smaller_and_stay_aligned(extension, tmp_path):
    """2560 x 1440 -> 1280 x 720 frames (MAX_SIDE): person 0's box (200, 100, 560, 560) covers (100, 50, 280,
    280) there, 5 px per cell. Its part logit 4 (cells 0-27) meets the background's 1 where 4 (1 - t) = 1
    between cells 27 and 28, at map position 27.75, i.e. x = 100 + 28.25 * 5 = 241.25: pixels 100-240."""
    overlay_frames = addon_harness.extension_module("addon.overlay_frames")
    read_result = addon_harness.extension_module("contract.result_file").read_result
    result_with_maps(tmp_path / "big.npz", tmp_path / "none.mp4", (2560, 1440),
                     {0: [200.0, 100.0, 560.0, 560.0], 1: [1800.0, 300.0, 400.0, 400.0]})
    request = overlay_frames.OverlayRequest((overlay_frames.SEGMENTATION,))
    progress = list(overlay_frames.write_overlays(read_result(tmp_path / "big.npz"), request, tmp_path / "o"))
    assert progress == [(1, 3), (2, 3), (3, 3)]
    first = tmp_path / "o" / "segmentation" / "segmentation_000000.png"
    alpha = cv2.imread(str(first), cv2.IMREAD_UNCHANGED)[..., 3]
    assert alpha.shape == (720, 1280)
    rows, cols = np.nonzero(alpha)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (50, 329, 100, 240)


def test_a_worker_error_is_reported_and_changes_nothing(setup, extension, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER_MODE", "fail")
    before, runs = scene_state(), set(runs_folder(extension).iterdir())
    with pytest.raises(RuntimeError, match="is not a PARE checkpoint"):
        bpy.ops.pare_body.estimate_body()
    assert bpy.context.window_manager.pare_body_job.error == USER_ERROR
    assert scene_state() == before and set(runs_folder(extension).iterdir()) == runs


@pytest.mark.parametrize("mode", ["slow", "stubborn"])
def test_cancel_stops_the_worker_within_two_seconds_and_changes_nothing(setup, extension, monkeypatch, mode):
    monkeypatch.setenv("FAKE_WORKER_MODE", mode)
    estimate_body = addon_harness.extension_module("addon.operators.estimate_body")
    before, runs = scene_state(), set(runs_folder(extension).iterdir())
    run = estimate_body.start_run(bpy.context)
    while run.stage_text != "Estimate 2/2":  # the worker is running and has reported progress
        assert not estimate_body.advance(bpy.context, run)
        time.sleep(0.02)
    assert run.progress == pytest.approx(0.8)
    started = time.monotonic()
    assert bpy.ops.pare_body.cancel_estimate() == {"FINISHED"}  # the panel's Cancel button
    while not estimate_body.advance(bpy.context, run):
        time.sleep(0.1)  # the modal operator's timer interval
    elapsed = time.monotonic() - started
    print(f"{mode} worker cancelled in {elapsed:.2f} s")
    assert run.state == "cancelled" and elapsed < 2.0, elapsed
    assert run.worker.process.returncode == (130 if mode == "slow" else -9)
    assert estimate_body.finish(bpy.context, run) == ("WARNING", "Cancelled: nothing was changed.")
    assert not run.plan.run_folder.exists() and set(runs_folder(extension).iterdir()) == runs
    assert scene_state() == before


def test_worker_events_and_a_cancel_of_the_plain_worker(setup, extension, monkeypatch):
    worker = addon_harness.extension_module("addon.worker")
    monkeypatch.setenv("FAKE_WORKER_MODE", "slow")
    job = worker.EstimateJob(input="in.mp4", output=str(setup / "out.npz"), options=dict(
        checkpoint="c.ckpt", smpl="s.pkl", bbox="1,2,3,4", detect=False, batch_size=4, focal_length=900.0))
    running = worker.start_worker(str(setup / "fake-python"), job)
    events = []
    while len(events) < 3:
        events += running.poll()
        time.sleep(0.02)
    assert [e["event"] for e in events] == ["start", "progress", "progress"]
    assert list(running.log) == ["some log text on stderr"]
    started = time.monotonic()
    running.request_cancel()
    while not running.finished:
        events += running.poll()
        time.sleep(0.05)
    assert time.monotonic() - started < 2.0 and running.process.returncode == 130
    assert events[-1]["kind"] == "cancelled"
    with pytest.raises(worker.WorkerError, match="Cancelled; nothing was written"):
        running.check_outcome()
    assert not (setup / "out.npz").exists()
    args = json.loads((setup / "args.json").read_text())
    assert args[args.index("--bbox") + 1] == "1,2,3,4" and "--no-detect" in args
    assert args[args.index("--batch-size") + 1] == "4" and args[args.index("--focal-length") + 1] == "900.0"


def test_batch_passes_its_options_to_the_worker_and_keeps_overlays_beside_the_blend(setup):
    out = setup / "out"
    out.mkdir()
    env = {**os.environ, "BLENDER_USER_RESOURCES": tempfile.mkdtemp(prefix="pare-blender-user-")}

    def batch(*args):
        command = [sys.executable, str(addon_harness.ROOT / "addon" / "batch.py"), "--", "--input",
                   str(setup / "clip.png"), "--checkpoint", str(SMPL_PATH), "--smpl", str(SMPL_PATH), "--python",
                   str(setup / "fake-python"), "--output", str(out / "shot.blend"), *args]
        return subprocess.run(command, cwd=setup, env=env, capture_output=True, text=True, timeout=300)

    done = batch("--frame-range", "2:5", "--stride", "2", "--person", "0,1", "--bbox", "1,2,3,4", "--no-smooth",
                 "--precision", "bf16", "--overlays", "attention,segmentation", "--preview", str(out / "shot.png"))
    assert done.returncode == 0, done.stderr
    # The preview is rendered before the overlay folder gets its final name; read from a folder not there yet,
    # the overlay frames rendered magenta (1, 0, 1) over the whole picture.
    picture = cv2.imread(str(out / "shot.png"))[..., ::-1].astype(int)
    assert ((picture[..., 0] > 200) & (picture[..., 1] < 80) & (picture[..., 2] > 200)).mean() < 0.01
    assert "does not exist" not in done.stderr + done.stdout
    args = json.loads((setup / "args.json").read_text())
    parsed = vars(build_parser().parse_args(args[2:]))
    assert {k: parsed[k] for k in ("frame_range", "stride", "person", "bbox", "precision", "smooth")} == {
        "frame_range": "2:5", "stride": 2, "person": "0,1", "bbox": "1,2,3,4", "precision": "bf16", "smooth": False}
    assert "overlays: 3/3" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["shot.blend", "shot.png", "shot_overlays"]
    for kind in ("attention", "segmentation"):
        assert len(list((out / "shot_overlays" / kind).glob(f"{kind}_*.png"))) == FRAMES
    bpy.ops.wm.open_mainfile(filepath=str(out / "shot.blend"))
    sequences = [image for image in bpy.data.images if image.source == "SEQUENCE"]
    assert len(sequences) == 2 and all(pathlib.Path(bpy.path.abspath(image.filepath)).is_file() and
                                       "shot_overlays" in image.filepath for image in sequences)

    done = batch("--overlays", "attention,heat")
    assert done.returncode == 2 and "not heat" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["shot.blend", "shot.png", "shot_overlays"]


def test_the_interpreter_search_skips_pythons_without_torch(extension, tmp_path):
    interpreter = addon_harness.extension_module("addon.interpreter")
    scripts = {"no-torch": "echo \"ModuleNotFoundError: No module named 'torch'\" >&2; exit 1", "good": "exit 0"}
    for name, body in scripts.items():
        (tmp_path / name).write_text(f"#!/bin/sh\n{body}\n")
        (tmp_path / name).chmod(0o755)
    user = tmp_path / "user"
    (user / "venv" / "bin").mkdir(parents=True)
    (user / "venv" / "bin" / "python").symlink_to(tmp_path / "good")
    candidates = interpreter.candidate_interpreters(
        user, environ={"PARE_BODY_PYTHON": str(tmp_path / "no-torch")}, package_root=tmp_path / "no-checkout",
        current=str(tmp_path / "no-torch"))
    assert candidates == [str(tmp_path / "no-torch"), str(user / "venv" / "bin" / "python")]
    search = interpreter.InterpreterSearch(candidates)
    assert search.run_to_end() == str(user / "venv" / "bin" / "python")
    assert search.rejected == {str(tmp_path / "no-torch"): "ModuleNotFoundError: No module named 'torch'"}
    message = interpreter.not_found_message(search.rejected)
    assert "No module named 'torch'" in message and "Set Up Inference Environment" in message
