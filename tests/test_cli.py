"""`python -m inference estimate` end to end, as a user and the add-on's worker run it.

The HRNet checkpoint is written like the released files (Lightning layout, `model.` prefixes, SMPL and
Lightning extras) with the reference weight rule, so its result must reproduce the official outputs.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inference.body_model import SMPLBody
from inference.camera import project_points
from contract.smpl_file import read_smpl_model

sys.path.insert(0, str(Path(__file__).parent))
from weight_rule import REFERENCE, rule_state_dict, write_lightning_checkpoint  # noqa: E402

ROOT = Path(__file__).parents[1]
SMPL = REFERENCE / "synthetic_SMPL_NEUTRAL.pkl"


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inference", "estimate", *args], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "2", **(env or {})},
                          timeout=300)


@pytest.fixture(scope="module")
def hrnet_checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "pare_w_3dpw_checkpoint.ckpt"
    write_lightning_checkpoint(path, "pare_hrnet32_state_dict.tsv")
    return path


@pytest.fixture(scope="module")
def spin_checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "model_checkpoint.pt"
    torch.save({"model": rule_state_dict("hmr_spin_state_dict.tsv"), "optimizer": {}}, path)
    return path


def test_golden_through_the_cli(hrnet_checkpoint, tmp_path):
    out = tmp_path / "result.npz"
    done = run_cli("--input", str(REFERENCE / "pare_input_224.png"), "--checkpoint", str(hrnet_checkpoint),
                   "--smpl", str(SMPL), "--output", str(out), "--bbox", "0,0,224,224", "--progress", "json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["event"] == "start"
    assert events[-1] == {"event": "done", "protocol": 1, "output": str(out), "frames": 1, "model": "pare_hrnet32",
                          "body_model": "synthetic_SMPL_NEUTRAL.pkl"}
    assert any(e["event"] == "progress" and e["stage"] == "estimate" for e in events)

    result = np.load(out, allow_pickle=False)
    golden = np.load(REFERENCE / "pare_hrnet32_golden.npz")
    meta = json.loads(str(result["meta"]))
    assert (meta["format"], meta["version"], meta["model"]) == ("pare-body-result", 2, "pare_hrnet32")
    assert (meta["image_width"], meta["image_height"], meta["fps"], meta["frame_count"]) == (224, 224, None, 1)
    for ours, theirs, tol in [("pose_rotmat", "pred_pose", 1e-5), ("betas", "pred_shape", 1e-5),
                              ("crop_cam", "pred_cam", 1e-5), ("part_attention", "part_attention_softmax", 1e-5)]:
        np.testing.assert_allclose(result[f"person_0/{ours}"], golden[theirs], rtol=0, atol=tol, err_msg=ours)
    # Segmentation logits are stored as float16 (format v1): equal up to half a float16 step at their size.
    logits = golden["pred_segm_mask"]
    half_step = float(np.spacing(np.float16(np.abs(logits).max()))) / 2
    np.testing.assert_allclose(result["person_0/part_segmentation"], logits, rtol=0, atol=half_step + 1e-5)
    np.testing.assert_array_equal(result["person_0/bbox_xywh"], [[0, 0, 224, 224]])

    pose = torch.from_numpy(result["person_0/pose_rotmat"])
    betas = torch.from_numpy(result["person_0/betas"])
    joints = SMPLBody(read_smpl_model(SMPL))(pose, betas).joints.numpy()
    cam_t = result["person_0/cam_t"]
    np.testing.assert_allclose(result["person_0/joints3d"] - cam_t[:, None], joints, atol=1e-5)
    expected_2d = project_points(result["person_0/joints3d"].astype(np.float64), meta["focal_length_px"], 224, 224)
    np.testing.assert_allclose(result["person_0/joints2d"], expected_2d, atol=1e-3)


def test_video_with_spin_checkpoint_and_frame_range(spin_checkpoint, tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (160, 120))
    for i in range(6):
        writer.write(np.full((120, 160, 3), 40 * i, np.uint8))
    writer.release()
    out = tmp_path / "clip.npz"
    done = run_cli("--input", str(video), "--output", str(out), "--frame-range", "1:6", "--stride", "2",
                   "--batch-size", "2", "--focal-length", "1000", "--progress", "none", "--no-detect",
                   env={"PARE_BODY_CHECKPOINT": str(spin_checkpoint), "PARE_BODY_SMPL": str(SMPL)})
    assert done.returncode == 0, done.stderr
    result = np.load(out, allow_pickle=False)
    meta = json.loads(str(result["meta"]))
    assert meta["model"] == "hmr_spin" and meta["fps"] == pytest.approx(30.0)
    assert meta["focal_length_px"] == 1000 and meta["frame_count"] == 6
    np.testing.assert_array_equal(result["person_0/frame"], [1, 3, 5])
    assert result["person_0/pose_rotmat"].shape == (3, 24, 3, 3)
    assert "person_0/part_attention" not in result.files  # HMR has no attention maps
    # The centred default box is the whole frame made square.
    np.testing.assert_allclose(result["person_0/bbox_xywh"][0], [0, -20, 160, 160])


class _RunsShell:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_files_carrying_code_are_refused_and_nothing_runs(hrnet_checkpoint, tmp_path):
    marker = tmp_path / "code-ran"
    bad_ckpt = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": _RunsShell(marker)}, bad_ckpt)
    bad_smpl = tmp_path / "SMPL_NEUTRAL.pkl"
    bad_smpl.write_bytes(pickle.dumps({"v_template": _RunsShell(marker)}, protocol=2))
    for checkpoint, smpl in [(bad_ckpt, SMPL), (hrnet_checkpoint, bad_smpl)]:
        out = tmp_path / "result.npz"
        done = run_cli("--input", str(REFERENCE / "pare_input_224.png"), "--checkpoint", str(checkpoint),
                       "--smpl", str(smpl), "--output", str(out))
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and "posix.system" in done.stderr
        assert not out.exists() and not marker.exists()
        assert not list(tmp_path.glob("*.npz*"))


@pytest.mark.parametrize("args,message", [
    (["--smpl", "missing_smpl.pkl"], "missing_smpl.pkl"),
    (["--checkpoint", "missing.ckpt", "--smpl", str(SMPL)], "missing.ckpt"),
    (["--checkpoint", str(SMPL), "--smpl", str(SMPL), "--bbox", "1,2,3"], "--bbox must be X,Y,W,H"),
])
def test_user_errors_are_one_clear_line(tmp_path, args, message):
    out = tmp_path / "r.npz"
    env = {"PARE_BODY_CHECKPOINT": "", "PARE_BODY_SMPL": ""}
    done = run_cli("--input", str(REFERENCE / "pare_input_224.png"), "--output", str(out), *args, env=env)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_two_people_in_a_generated_video_become_two_tracks(spin_checkpoint, tmp_path):
    """Two sample people drifting apart on a plain background: detector + tracker give one track each."""
    samples = ROOT / "assets" / "samples"
    people = [cv2.resize(cv2.imread(str(samples / name)), (240, 240)) for name in ("astronaut.jpg", "cameraman.png")]
    video = tmp_path / "two.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (640, 480))
    starts = []
    for i in range(8):
        frame = np.full((480, 640, 3), 90, np.uint8)
        xs = (60 - 4 * i, 340 + 4 * i)
        for person, x in zip(people, xs):
            frame[120:360, x:x + 240] = person
        starts.append(xs)
        writer.write(frame)
    writer.release()
    out = tmp_path / "two.npz"
    done = run_cli("--input", str(video), "--checkpoint", str(spin_checkpoint), "--smpl", str(SMPL),
                   "--output", str(out), "--progress", "none")
    assert done.returncode == 0, done.stderr
    result = np.load(out, allow_pickle=False)
    meta = json.loads(str(result["meta"]))
    assert meta["persons"] == [0, 1] and meta["frame_count"] == 8
    centres = []
    for p in (0, 1):
        np.testing.assert_array_equal(result[f"person_{p}/frame"], range(8))
        box = result[f"person_{p}/bbox_xywh"]
        centres.append(box[:, 0] + box[:, 2] / 2)
        assert np.isfinite(result[f"person_{p}/joints2d"]).all()
    left, right = sorted(centres, key=lambda c: c[0])
    # Each track follows its own person: inside that person's pasted square, moving with it.
    assert all(x < c < x + 240 for c, (x, _) in zip(left, starts))
    assert all(x < c < x + 240 for c, (_, x) in zip(right, starts))
    assert abs(left[-1] - left[0] + 28) < 5 and abs(right[-1] - right[0] - 28) < 5  # moved 7 x 4 px apart


def test_nobody_found_is_a_clear_error(spin_checkpoint, tmp_path):
    out = tmp_path / "r.npz"
    done = run_cli("--input", str(ROOT / "assets" / "samples" / "rocket.jpg"), "--checkpoint", str(spin_checkpoint),
                   "--smpl", str(SMPL), "--output", str(out))
    assert done.returncode == 2 and "Nobody was found in rocket.jpg" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_without_licensed_files_the_keypoint_backend_fits_the_stand_in(tmp_path):
    """No checkpoint, no SMPL file: the bundled detector, landmark model, fitter and stand-in body."""
    from contract.skeleton import JOINT_NAMES
    from inference.fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES
    from inference.image_io import read_image_rgb
    from inference.keypoints.blazepose_landmarks import LandmarkModel
    from inference.keypoints.roi import completed_box
    from inference.people.detector import PersonDetector
    from contract.smpl_file import read_body_model

    photo = ROOT / "assets" / "samples" / "cameraman.png"
    out = tmp_path / "r.npz"
    done = run_cli("--input", str(photo), "--output", str(out), "--progress", "json",
                   env={"PARE_BODY_CHECKPOINT": "", "PARE_BODY_SMPL": ""})
    assert done.returncode == 0, done.stderr
    result = np.load(out, allow_pickle=False)
    meta = json.loads(str(result["meta"]))
    assert (meta["model"], meta["body_model"], meta["persons"]) == ("blazepose-fit", "stand-in", [0])
    assert "person_0/part_attention" not in result.files
    # joints3d - cam_t are the stand-in's joints of the stored pose and betas; joints2d their projection.
    body = SMPLBody(read_body_model(None))
    joints = body(torch.from_numpy(result["person_0/pose_rotmat"]), torch.from_numpy(result["person_0/betas"])).joints
    np.testing.assert_allclose(result["person_0/joints3d"] - result["person_0/cam_t"][:, None], joints.numpy(),
                               atol=1e-5)
    np.testing.assert_allclose(result["person_0/joints2d"], project_points(
        result["person_0/joints3d"].astype(np.float64), meta["focal_length_px"], 512, 512), atol=1e-3)
    # The rig's limb joints land on the person's landmarks.
    image = read_image_rgb(photo)
    box = completed_box(PersonDetector.load().detect(image)[0, :4], image.shape[0])  # cut off at the knees
    landmarks = LandmarkModel.load().landmarks(image, box)
    names = ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_hip", "right_hip"]
    seen = [n for n in names if landmarks.confidence[BLAZEPOSE_LANDMARK_NAMES.index(n)] > 0.5]
    # The elbows score near 0.5 (0.47-0.51 as the detector box moves by a third of a pixel): the shoulders and
    # a hip are what the photo surely shows.
    assert {"left_shoulder", "right_shoulder"} <= set(seen) and len(seen) >= 3, seen
    ours = result["person_0/joints2d"][0, [JOINT_NAMES.index(n) for n in seen]]
    theirs = landmarks.image[[BLAZEPOSE_LANDMARK_NAMES.index(n) for n in seen]]
    box_height = result["person_0/bbox_xywh"][0, 3]
    assert np.linalg.norm(ours - theirs, axis=1).mean() < 0.05 * box_height


def test_refine_fits_pare_to_the_landmarks_and_reports_before_after(spin_checkpoint, tmp_path):
    out = tmp_path / "r.npz"
    done = run_cli("--input", str(ROOT / "assets" / "samples" / "cameraman.png"), "--checkpoint",
                   str(spin_checkpoint), "--smpl", str(SMPL), "--refine", "--output", str(out), "--progress", "none")
    assert done.returncode == 0, done.stderr
    meta = json.loads(str(np.load(out, allow_pickle=False)["meta"]))
    (figures,) = meta["refinement"]
    assert figures["frames"] == 1 and figures["reprojection_after_px"] < 0.5 * figures["reprojection_before_px"]
