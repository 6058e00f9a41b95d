"""Bad footage ends with a clear message, or a warning and the frames that could be read; never a traceback,
never a result that claims more than was estimated (issue 4, robustness)."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from contract.errors import UserError
from inference.estimate_job import run_estimate

sys.path.insert(0, str(Path(__file__).parent))
from weight_rule import REFERENCE, rule_state_dict  # noqa: E402

SMPL = REFERENCE / "synthetic_SMPL_NEUTRAL.pkl"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "model_checkpoint.pt"
    torch.save({"model": rule_state_dict("hmr_spin_state_dict.tsv")}, path)
    return path


def estimate(source: Path, checkpoint: Path, out: Path) -> dict:
    run_estimate(source, out, dict(checkpoint=str(checkpoint), smpl=str(SMPL), detect=False, device="cpu",
                                   batch_size=4))
    result = np.load(out, allow_pickle=False)
    return {"meta": json.loads(str(result["meta"])), "frame": result["person_0/frame"]}


def write_avi(path: Path, frames: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 24.0, (96, 64))
    for i in range(frames):
        writer.write(np.full((64, 96, 3), 10 * i, np.uint8))
    writer.release()


def test_truncated_video_gives_the_frames_it_has_and_says_so(checkpoint, tmp_path, caplog):
    """The sample clip (H.264, index at the front) cut in half: its header still promises 120 frames."""
    whole = Path(__file__).parents[1] / "assets" / "samples" / "park_jumping_walking.mp4"
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    out = tmp_path / "cut.npz"
    with caplog.at_level(logging.WARNING):
        run_estimate(cut, out, dict(checkpoint=str(checkpoint), smpl=str(SMPL), detect=False, device="cpu",
                                    batch_size=8, stride=6))
    result = np.load(out, allow_pickle=False)
    frames, meta = result["person_0/frame"], json.loads(str(result["meta"]))
    assert 0 < len(frames) < 20 and "ended early" in caplog.text
    assert meta["frame_count"] == frames[-1] + 1 < 120  # claims no more than it could read


def test_single_frame_video(checkpoint, tmp_path):
    clip = tmp_path / "one.avi"
    write_avi(clip, 1)
    got = estimate(clip, checkpoint, tmp_path / "one.npz")
    assert list(got["frame"]) == [0] and got["meta"]["frame_count"] == 1


def test_folder_with_non_images_and_a_corrupt_frame(checkpoint, tmp_path, caplog):
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((32, 48, 3), 50 * i, np.uint8))
    (tmp_path / "f2.png").write_bytes(b"not a png at all")
    (tmp_path / "notes.txt").write_text("ignored")
    out = tmp_path / "out"
    out.mkdir()
    with caplog.at_level(logging.WARNING):
        got = estimate(tmp_path, checkpoint, out / "r.npz")
    assert list(got["frame"]) == [0, 1, 3] and "skipping frame 2" in caplog.text
    assert got["meta"]["frame_count"] == 4


@pytest.mark.parametrize("make, message", [
    (lambda d: d, "holds no images"),
    (lambda d: (d / "x.txt").write_text("x") and d, "holds no images"),
    (lambda d: (d / "clip.mp4").write_bytes(b"\0" * 64) and d / "clip.mp4", "Cannot read the video"),
])
def test_unreadable_inputs_write_nothing(checkpoint, tmp_path, make, message):
    folder = tmp_path / "in"
    folder.mkdir()
    out = tmp_path / "r.npz"
    with pytest.raises(UserError, match=message):
        run_estimate(make(folder), out, dict(checkpoint=str(checkpoint), smpl=str(SMPL), detect=False, device="cpu"))
    assert not out.exists() and not list(tmp_path.glob(".r.npz*"))
