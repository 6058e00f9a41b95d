"""The interactive run without a window: the plain state machine behind the modal operator, driven step by step
with a fake clock and a real worker process, and the operators, handlers and panel wiring around it.

Each test here guards a user-visible behaviour of the panel: the options reach the worker, Cancel stops it,
loading another file stops it, fp16 without a GPU is refused, a result dropped on the viewport is imported.
"""
import json
import pathlib
import subprocess
import sys
import time
import types

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import addon_harness  # noqa: E402  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import bpy  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from fake_worker import fake_python  # noqa: E402
from test_addon_estimate import SMPL_PATH, result_with_maps, scene_state  # noqa: E402

ROOT = addon_harness.ROOT
PHOTO = ROOT / "assets" / "samples" / "astronaut.jpg"


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def extension():
    """Enabled again for each test: another test file's factory reset disables it."""
    return addon_harness.enable_extension()


@pytest.fixture()
def footage(extension, tmp_path, monkeypatch):
    """An empty scene, the fake worker as the inference Python, a footage image and the result it returns."""
    bpy.ops.wm.read_homefile(use_empty=True)
    image = tmp_path / "clip.png"
    cv2.imwrite(str(image), np.full((120, 160, 3), 80, np.uint8))
    result_with_maps(tmp_path / "prepared.npz", image)
    monkeypatch.setenv("FAKE_WORKER_RESULT", str(tmp_path / "prepared.npz"))
    prefs = bpy.context.preferences.addons[addon_harness.PACKAGE].preferences
    prefs.python, prefs.smpl_neutral, prefs.checkpoint = str(fake_python(tmp_path)), str(SMPL_PATH), str(SMPL_PATH)
    prefs.device = "cpu"
    bpy.context.scene.pare_body.input_path = str(image)
    return tmp_path


def plain_run(folder, mode, clock, monkeypatch, overlays=None):
    """An EstimateRun made directly (no panel, no bpy in the run), with a recording scene builder."""
    estimate_run = addon_harness.extension_module("addon.estimate_run")
    worker = addon_harness.extension_module("addon.worker")
    monkeypatch.setenv("FAKE_WORKER_MODE", mode)
    built = []

    def build(result, sequences):
        built.append((result.is_file(), sequences))
        return types.SimpleNamespace(warnings=["a warning from the build"])
    plan = estimate_run.RunPlan(job=worker.EstimateJob(input=str(folder / "clip.png"), output=""),
                                python=str(folder / "fake-python"), candidates=(), run_folder=folder / "run",
                                overlays=overlays)
    return estimate_run.EstimateRun(plan, build, clock), built


def step_until(run, condition, limit_s=20.0):
    """Step the run as the modal timer would, until `condition(run)` (real time bounds the wait)."""
    deadline = time.monotonic() + limit_s
    while not condition(run):
        assert time.monotonic() < deadline, f"stuck in {run.state}: {run.stage_text}"
        run.step()
        time.sleep(0.02)


def test_a_run_passes_through_its_states_to_the_scene(footage, monkeypatch):
    overlay_frames = addon_harness.extension_module("addon.overlay_frames")
    request = overlay_frames.OverlayRequest((overlay_frames.SEGMENTATION,))
    run, built = plain_run(footage, "succeed", FakeClock(), monkeypatch, overlays=request)
    states = [run.state]
    step_until(run, lambda r: (states.append(r.state) or r.over))
    seen = list(dict.fromkeys(states))
    assert seen == ["estimate", "overlays", "build", "done"], seen
    assert len(built) == 1 and built[0][0] and [s.kind for s in built[0][1]] == ["segmentation"]
    assert run.warnings == ["a warning from the build"] and run.progress == 1.0


def test_a_stubborn_worker_is_killed_once_the_grace_period_has_passed_on_the_clock(footage, monkeypatch):
    clock = FakeClock()
    run, built = plain_run(footage, "stubborn", clock, monkeypatch)
    step_until(run, lambda r: r.stage_text == "Estimate 2/2")
    run.cancel()
    for _ in range(15):  # SIGTERM is ignored; 0.9 s of the run's clock is not yet the grace period
        clock.now += 0.06
        run.step()
        time.sleep(0.02)
    assert run.state == "estimate" and run.worker.process.returncode is None
    clock.now += 0.2
    step_until(run, lambda r: r.over, limit_s=5.0)
    assert run.state == "cancelled" and run.worker.process.returncode == -9
    assert not run.plan.run_folder.exists() and built == []


def test_a_cancelled_run_never_builds_and_a_finished_one_ignores_cancel(footage, monkeypatch):
    run, built = plain_run(footage, "slow", FakeClock(), monkeypatch)
    step_until(run, lambda r: r.stage_text == "Estimate 2/2")
    run.cancel()
    step_until(run, lambda r: r.over, limit_s=5.0)
    assert run.state == "cancelled" and run.worker.process.returncode == 130 and built == []
    run.cancel()
    assert run.state == "cancelled"


def test_the_cancel_button_stops_the_panels_run(footage, monkeypatch):
    estimate_body = addon_harness.extension_module("addon.operators.estimate_body")
    active = addon_harness.extension_module("addon.active_run")
    monkeypatch.setenv("FAKE_WORKER_MODE", "slow")
    before = scene_state()
    run = estimate_body.start_run(bpy.context, FakeClock())
    assert active.active_run() is run and bpy.context.window_manager.pare_body_job.running
    step_until(run, lambda r: r.stage_text == "Estimate 2/2")
    assert bpy.ops.pare_body.cancel_estimate() == {"FINISHED"}
    step_until(run, lambda r: estimate_body.advance(bpy.context, r), limit_s=5.0)
    assert run.state == "cancelled" and run.worker.process.returncode == 130
    assert estimate_body.finish(bpy.context, run)[0] == "WARNING" and active.active_run() is None
    assert not bpy.context.window_manager.pare_body_job.running and scene_state() == before


def test_loading_another_file_stops_the_run(footage, monkeypatch):
    estimate_body = addon_harness.extension_module("addon.operators.estimate_body")
    active = addon_harness.extension_module("addon.active_run")
    monkeypatch.setenv("FAKE_WORKER_MODE", "slow")
    run = estimate_body.start_run(bpy.context)
    step_until(run, lambda r: r.stage_text == "Estimate 2/2")
    started = time.monotonic()
    bpy.ops.wm.read_homefile(use_empty=True)  # Blender's load_pre handlers run first
    assert time.monotonic() - started < 3.0
    assert active.active_run() is None and run.state == "cancelled"
    assert run.worker.process.returncode is not None and not run.plan.run_folder.exists()


def test_an_error_inside_execute_leaves_no_run_behind(footage, monkeypatch):
    estimate_run = addon_harness.extension_module("addon.estimate_run")
    active = addon_harness.extension_module("addon.active_run")
    monkeypatch.setenv("FAKE_WORKER_MODE", "slow")

    def interrupted(self, poll_s=0.05):  # Ctrl+C in a script while the worker runs
        step_until(self, lambda r: r.stage_text == "Estimate 2/2")
        raise KeyboardInterrupt
    monkeypatch.setattr(estimate_run.EstimateRun, "run_to_end", interrupted)
    runs = pathlib.Path(bpy.utils.extension_path_user(addon_harness.PACKAGE, path="runs", create=True))
    kept = lambda: set(runs.iterdir()) if runs.exists() else set()  # an empty runs/ goes with the last run
    before = kept()
    with pytest.raises(RuntimeError, match="KeyboardInterrupt"):  # bpy.ops passes it on as a RuntimeError
        bpy.ops.pare_body.estimate_body()
    assert active.active_run() is None and not bpy.context.window_manager.pare_body_job.running
    assert kept() == before
    assert bpy.ops.pare_body.estimate_body.poll()  # usable again


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_fp16_without_a_gpu_is_refused(tmp_path, device):
    out = tmp_path / "r.npz"
    done = subprocess.run([sys.executable, "-m", "inference", "estimate", "--input", str(PHOTO), "--output",
                           str(out), "--precision", "fp16", "--device", device], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "fp16 is for GPUs" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_the_panels_focal_length_reaches_the_real_worker(extension, tmp_path):
    """The real `python -m inference estimate` (keypoint backend, stand-in body) behind the panel."""
    bpy.ops.wm.read_homefile(use_empty=True)
    prefs = bpy.context.preferences.addons[addon_harness.PACKAGE].preferences
    prefs.python, prefs.smpl_neutral, prefs.checkpoint, prefs.device = sys.executable, "", "", "cpu"
    settings = bpy.context.scene.pare_body
    settings.input_path, settings.focal_length = str(PHOTO), 777.0
    assert bpy.ops.pare_body.estimate_body() == {"FINISHED"}, bpy.context.window_manager.pare_body_job.error
    folder = pathlib.Path(bpy.context.window_manager.pare_body_job.message.rsplit(" in ", 1)[1])
    meta = json.loads(str(np.load(folder / "result.npz")["meta"]))
    assert meta["focal_length_px"] == 777.0
    camera = bpy.context.scene.camera.data
    width = bpy.context.scene.render.resolution_x
    assert camera.lens / camera.sensor_width * width == pytest.approx(777.0, rel=1e-5)


def test_a_result_dropped_on_the_viewport_is_imported(extension, tmp_path):
    handler = bpy.types.PAREBODY_FH_result
    assert handler.bl_import_operator == "pare_body.import_result" and ".npz" in handler.bl_file_extensions
    view = types.SimpleNamespace(area=types.SimpleNamespace(type="VIEW_3D"))
    assert handler.poll_drop(view) and not handler.poll_drop(types.SimpleNamespace(area=None))

    bpy.ops.wm.read_homefile(use_empty=True)
    result = tmp_path / "dropped.npz"
    result_with_maps(result, tmp_path / "clip.png")
    operator = addon_harness.extension_module("addon.operators.import_result").PAREBODY_OT_import_result
    opened = []
    manager = types.SimpleNamespace(invoke_props_dialog=lambda op: opened.append(("dialog", op)) or {"RUNNING_MODAL"},
                                    fileselect_add=lambda op: opened.append(("browser", op)))
    dropped = types.SimpleNamespace(filepath=str(result), smpl_path="")
    context = types.SimpleNamespace(window_manager=manager, preferences=bpy.context.preferences)
    assert operator.invoke(dropped, context, None) == {"RUNNING_MODAL"}
    assert [kind for kind, _ in opened] == ["dialog"]  # the import options, not a file browser: the file is known
    assert bpy.ops.pare_body.import_result(filepath=str(result), smpl_path=str(SMPL_PATH)) == {"FINISHED"}
    assert "PARE dropped" in bpy.data.collections and "person_0" in bpy.data.objects
