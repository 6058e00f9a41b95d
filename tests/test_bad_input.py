"""Bad input and faults (issue 12): implausible results, hostile files, special files, stale temporaries,
hung interpreters and the batch job's outputs all end in one UserError (exit 2) or a cancel (exit 130), with
nothing half-written and nothing left hanging, in-process where the entry points share the function (the batch
job's own outputs and Ctrl+C, through real processes: tests/test_batch_faults.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import addon_harness  # noqa: E402  (before bpy: a temporary Blender user folder)
import bpy  # noqa: E402
import hostile_files as hostile  # noqa: E402

from contract.archive_limits import check_archive_sizes  # noqa: E402
from contract.errors import UnsafeFileError, UserError  # noqa: E402
from contract.result_checks import MAX_PERSONS  # noqa: E402
from contract.result_file import read_result, write_result  # noqa: E402
from contract.safe_pickle import load_pickle  # noqa: E402
from contract.smpl_file import read_smpl_model  # noqa: E402
from contract.stale_files import remove_stale  # noqa: E402
from inference.frames import open_frames  # noqa: E402
from inference.image_io import read_image_rgb  # noqa: E402
from inference.track_store import SPILL_PREFIX, TrackStore  # noqa: E402
from pare_body_estimator.addon import batch_guards, interpreter, worker  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HOUR_AGO = time.time() - 7200


@pytest.fixture
def valid(tmp_path) -> Path:
    return hostile.write_valid_result(tmp_path / "valid.npz")


def refused(path: Path, *words: str) -> str:
    with pytest.raises(UserError) as caught:
        read_result(path)
    message = str(caught.value)
    assert "\n" not in message and all(word in message for word in words), message
    return message


def broken_copy(valid: Path, tmp_path: Path, name: str, change) -> Path:
    arrays = hostile.archive_arrays(valid)
    key = f"person_0/{name}"
    arrays[key] = change(arrays[key].copy())
    return hostile.save_arrays(tmp_path / f"broken_{name}.npz", arrays)


def set_item(index, value):
    def change(array):
        array[index] = value
        return array
    return change


@pytest.mark.parametrize("name, change, words", [
    ("joints2d", set_item((2, 5, 0), np.nan), ("person 0", "joints2d", "frame 2", "NaN")),
    ("betas", set_item((1, 0), np.inf), ("betas", "frame 1")),
    ("pose_rotmat", set_item((3, 7), np.eye(3) * 2), ("person 0", "joint 7", "frame 3", "not a rotation")),
    ("pose_rotmat", set_item((0, 0), -np.eye(3)), ("joint 0", "frame 0", "not a rotation")),  # a reflection
    ("cam_t", set_item((1, 2), 0.0), ("depth", "frame 1", "in front of the camera")),
    ("cam_t", set_item((0, 2), -4.0), ("depth", "frame 0")),
    ("cam_t", set_item((2, 2), 1e9), ("depth", "frame 2")),
    ("betas", set_item((0, 3), 1e6), ("betas", "beyond")),
    ("betas", lambda a: a.astype(bool), ("dtype bool",)),
    ("cam_t", lambda a: a.astype(np.complex64), ("dtype complex64",)),
    ("frame", lambda a: a.astype("U4"), ("frame",)),
    ("joints3d", lambda a: a[:-1], ("shape",)),
    ("cam_t", lambda a: np.array([{"x": 1}] * len(a), dtype=object), ("not a plain numpy result",)),
])
def test_implausible_arrays_are_refused_naming_person_and_frame(valid, tmp_path, name, change, words):
    refused(broken_copy(valid, tmp_path, name, change), *words)


@pytest.mark.parametrize("changes, words", [
    (dict(image_width=10 ** 7), ("image_width",)),
    (dict(image_height=0), ("image_height",)),
    (dict(frame_count=10 ** 9), ("frame_count",)),
    (dict(focal_length_px=1e-3), ("focal_length_px",)),
    (dict(focal_length_px=1e12), ("focal_length_px",)),
    (dict(fps=1e9), ("fps",)),
    (dict(focal_length_px=float("nan")), ("focal_length_px",)),
])
def test_absurd_camera_values_are_refused(valid, tmp_path, changes, words):
    path = hostile.save_arrays(tmp_path / "meta.npz", hostile.with_meta(hostile.archive_arrays(valid), **changes))
    refused(path, *words)


def test_the_import_operator_refuses_bad_results_and_values_and_changes_nothing(valid, tmp_path):
    addon_harness.enable_extension()
    bpy.ops.wm.read_homefile(use_empty=True)
    bad = broken_copy(valid, tmp_path, "cam_t", set_item((0, 2), np.nan))
    with pytest.raises(RuntimeError, match="person 0 has NaN or infinite cam_t in frame 0"):  # its ERROR report
        bpy.ops.pare_body.import_result(filepath=str(bad))
    with pytest.raises(RuntimeError, match="--frame-start must be at least .* and at most"):
        bpy.ops.pare_body.import_result(filepath=str(valid), frame_start=2_000_000)
    assert not bpy.data.objects and not bpy.data.collections
    assert bpy.ops.pare_body.import_result(filepath=str(valid)) == {"FINISHED"}  # still usable
    assert "person_0" in bpy.data.objects


def test_a_crowd_beyond_what_a_scene_holds_is_refused(valid, tmp_path):
    arrays = hostile.archive_arrays(valid)
    person = {key.split("/", 1)[1]: value for key, value in arrays.items() if key.startswith("person_0/")}
    crowd = {f"person_{p}/{name}": value for p in range(MAX_PERSONS + 1) for name, value in person.items()}
    meta = hostile.with_meta(arrays, persons=list(range(MAX_PERSONS + 1)))["meta"]
    refused(hostile.save_arrays(tmp_path / "crowd.npz", {"meta": meta, **crowd}), f"{MAX_PERSONS + 1} persons")


def test_results_without_derivable_arrays_still_read(valid, tmp_path):
    arrays = {key: value for key, value in hostile.archive_arrays(valid).items()
              if key.rsplit("/", 1)[-1] in ("meta", "frame", "pose_rotmat", "betas", "cam_t")}
    track = read_result(hostile.save_arrays(tmp_path / "lean.npz", arrays)).persons[0]
    assert track.joints3d is None and track.pose_rotmat.shape == (hostile.FRAMES, 24, 3, 3)


def test_a_gigantic_npy_header_is_refused_before_any_allocation(valid, tmp_path):
    forged = hostile.replace_member(valid, tmp_path / "forged.npz", "person_0/betas.npy",
                                    hostile.npy_claiming((10 ** 12, 10)))
    started = time.perf_counter()
    refused(forged, "betas", "claims 40,000,000,000,000 bytes")
    meta_forged = hostile.replace_member(valid, tmp_path / "meta.npz", "meta.npy",
                                         hostile.npy_claiming((), "<U100000000"))
    refused(meta_forged, "meta", "claims 400,000,000 bytes")
    overflowing = hostile.replace_member(valid, tmp_path / "overflow.npz", "meta.npy",
                                         hostile.npy_claiming((), "<U2000000000"))
    refused(overflowing, "impossible size")
    assert time.perf_counter() - started < 2.0


def test_archives_beyond_the_memory_budget_are_refused(valid):
    with pytest.raises(UserError, match="more than 0.0 GiB of memory"):
        check_archive_sizes(valid, ["meta", "person_0/pose_rotmat"], budget=1000)
    check_archive_sizes(valid, ["meta", "person_0/pose_rotmat"], budget=10 ** 6)  # fits: no error


@pytest.mark.parametrize("make", [hostile.pickle_with_huge_array, hostile.pickle_with_huge_bytes,
                                  hostile.pickle_with_long_range])
def test_pickles_asking_for_terabytes_are_refused_at_once(tmp_path, make):
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(make())
    started = time.perf_counter()
    with pytest.raises(UnsafeFileError, match="Refused to load"):
        read_smpl_model(path)
    assert time.perf_counter() - started < 2.0


def test_pipes_and_devices_are_refused_without_blocking(valid, tmp_path):
    fifo = tmp_path / "frames.png"
    os.mkfifo(fifo)
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    for read in (lambda: open_frames(fifo), lambda: read_image_rgb(fifo),
                 lambda: read_image_rgb(tmp_path / "zero.jpg"), lambda: read_result(fifo),
                 lambda: read_result("/dev/zero"), lambda: load_pickle("/dev/zero"),
                 lambda: read_smpl_model("/dev/zero")):
        with pytest.raises(UserError, match="not a regular file"):
            read()
    source_fifo = tmp_path / "clip.mp4"
    os.mkfifo(source_fifo)
    refused(hostile.write_valid_result(tmp_path / "piped.npz", str(source_fifo)), "source", "pipe or device")


def test_a_bad_first_image_of_a_folder_is_skipped_with_a_warning(tmp_path, caplog):
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "f0.png").write_bytes(b"not a png")
    for index in (1, 2):
        cv2.imwrite(str(folder / f"f{index}.png"), np.full((24, 32, 3), 40 * index, np.uint8))
    source = open_frames(folder)
    assert (source.width, source.height, source.total_frames) == (32, 24, 3)
    assert [index for index, _ in source] == [1, 2] and "skipping frame 0" in caplog.text
    (folder / "f1.png").write_bytes(b"")
    (folder / "f2.png").write_bytes(b"GIF89a")
    with pytest.raises(UserError, match="None of the 3 selected image"):
        open_frames(folder)


def killed_process_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_litter_of_killed_jobs_is_removed_by_the_next_run_and_only_that(tmp_path):
    dead = killed_process_pid()
    stale_spill = tmp_path / f"{SPILL_PREFIX}{dead}-0123abcd"
    young_spill = tmp_path / f"{SPILL_PREFIX}{dead}-4567abcd"
    live_spill = tmp_path / f"{SPILL_PREFIX}{os.getpid()}-89abcdef"
    for folder in (stale_spill, young_spill, live_spill):
        folder.mkdir()
        (folder / "track0_part_attention.f16").write_bytes(b"\0" * 16)
    stale_partial = tmp_path / f".out.npz.partial-{dead}-0badf00d.tmp"
    stale_partial.write_bytes(b"half")
    for path in (stale_spill, live_spill, stale_partial):
        os.utime(path, (HOUR_AGO, HOUR_AGO))
    with TrackStore(tmp_path) as store:
        assert store._folder.name.startswith(f"{SPILL_PREFIX}{os.getpid()}-")
    write_result(tmp_path / "out.npz", hostile.valid_meta(), [hostile.valid_track()])
    left = sorted(path.name for path in tmp_path.iterdir())
    assert left == sorted([young_spill.name, live_spill.name, "out.npz"]), left
    assert remove_stale(tmp_path, SPILL_PREFIX, older_than_s=0.0) == [young_spill]


def test_a_sigkilled_writer_leaves_a_recognisable_temporary_the_next_write_removes(tmp_path):
    script = ("import os, signal, sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
              "from contract.stale_files import temporary_path; "
              "p = temporary_path(Path(sys.argv[2]), '.out.npz.partial-', '.tmp'); p.write_bytes(b'x'); "
              "os.kill(os.getpid(), signal.SIGKILL)")
    done = subprocess.run([sys.executable, "-c", script, str(ROOT), str(tmp_path)], timeout=60)
    assert done.returncode == -signal.SIGKILL
    [litter] = tmp_path.iterdir()
    assert litter.name.startswith(".out.npz.partial-") and litter.name.endswith(".tmp")
    os.utime(litter, (HOUR_AGO, HOUR_AGO))
    write_result(tmp_path / "out.npz", hostile.valid_meta(), [hostile.valid_track()])
    assert [path.name for path in tmp_path.iterdir()] == ["out.npz"]


def test_a_full_disk_or_no_memory_in_the_estimate_is_exit_2_in_one_line(monkeypatch, capsys):
    from inference import cli

    for fault in (OSError(28, "No space left on device", "/data/out.npz"), MemoryError()):
        def failing(args, report, fault=fault):
            raise fault
        monkeypatch.setattr(cli, "_estimate", failing)
        assert cli.main(["estimate", "--input", "x.png", "--output", "y.npz"]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("Error: ") and "nothing was written" in line and "Traceback" not in line
        assert ("No space left on device (/data/out.npz)" in line) or ("Out of memory" in line), line


def test_the_writers_temporaries_of_any_name_are_removed_once_stale(tmp_path):
    dead = killed_process_pid()
    nested = tmp_path / f"..shot.partial-{dead}-0123abcd.npz.partial-{dead}-4567abcd.tmp"  # batch's hidden result
    other = tmp_path / f".notes.partial-{dead}-0123abcd.txt"  # not the writer's: kept
    for path in (nested, other):
        path.write_bytes(b"half")
        os.utime(path, (HOUR_AGO, HOUR_AGO))
    write_result(tmp_path / "r.npz", hostile.valid_meta(), [hostile.valid_track()])
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([other.name, "r.npz"])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def sleeper(tmp_path: Path) -> str:
    """An 'interpreter' that never answers (until killed)."""
    script = tmp_path / "hung-python"
    script.write_text("#!/bin/sh\nexec sleep 600\n")
    script.chmod(0o755)
    return str(script)


def test_a_hung_interpreter_probe_is_stopped_and_rejected(tmp_path):
    clock = FakeClock()
    search = interpreter.InterpreterSearch([sleeper(tmp_path)], clock)
    assert not search.step() and not search.step()
    process = search._current[1]
    clock.now += interpreter.PROBE_TIMEOUT_S + 1
    while not search.step():
        pass
    assert search.found is None and "did not answer within" in next(iter(search.rejected.values()))
    assert process.wait() == -signal.SIGKILL


def test_a_worker_that_never_starts_is_stopped_with_a_clear_message(tmp_path):
    clock = FakeClock()
    running = worker.start_worker(sleeper(tmp_path), worker.EstimateJob("in.png", "out.npz"), clock)
    assert running.poll() == []
    clock.now += worker.START_TIMEOUT_S + 1
    with pytest.raises(worker.WorkerError, match="did not start the estimator within"):
        running.poll()
    assert running.process.wait() == -signal.SIGKILL


def test_cancel_finishes_when_the_worker_exits_but_its_child_holds_the_output(tmp_path):
    """The worker is gone, a process it started still holds its stdout open: stop_now must not wait for it."""
    from pare_body_estimator.addon import estimate_run

    python = tmp_path / "forking-python"
    python.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > '{tmp_path / 'child.pid'}'\nexit 0\n")
    python.chmod(0o755)
    plan = estimate_run.RunPlan(job=worker.EstimateJob("in.png", ""), python=str(python), candidates=(),
                                run_folder=tmp_path / "runs" / "run")
    run = estimate_run.EstimateRun(plan, build=lambda *_: None)
    run.step()  # starts the worker
    while not (tmp_path / "child.pid").exists() or run.worker.process.returncode is None:
        time.sleep(0.02)
    child = int((tmp_path / "child.pid").read_text())
    try:
        started = time.monotonic()
        run.stop_now()
        assert time.monotonic() - started < 4.0 and run.state == estimate_run.CANCELLED
        assert not (tmp_path / "runs").exists()
    finally:
        os.kill(child, signal.SIGKILL)


def test_an_interrupt_inside_a_blender_call_is_kept_for_afterwards():
    with batch_guards.interrupts_recorded():
        with pytest.raises(KeyboardInterrupt):
            with batch_guards.interrupts_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # the handler runs here and only records: nothing is raised inside
                reached_the_end = True
        assert reached_the_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_failure_while_writing_is_a_user_error():
    with pytest.raises(batch_guards.UserError, match="Cannot write the scene x.blend .No space left on device."):
        with batch_guards.writing("the scene x.blend"):
            raise OSError(28, "No space left on device")
