"""A waist-up view: the body's unseen joints go below the frame instead of being folded over the torso."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from contract.skeleton import JOINT_NAMES
from inference.keypoints.roi import STANDING_ASPECT, completed_box

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("box,height,expected", [
    ((15.7, 14.7, 348.6, 493.7), 512, (15.7, 14.7, 348.6, STANDING_ASPECT * 348.6)),  # the astronaut: cut off
    ((15.7, 14.7, 348.6, 400.0), 512, (15.7, 14.7, 348.6, 400.0)),  # clear of the edge: as it is
    ((100.0, 50.0, 100.0, 460.0), 512, (100.0, 50.0, 100.0, 460.0)),  # at the edge but a whole standing body
])
def test_only_a_box_the_bottom_edge_cuts_off_is_completed(box, height, expected):
    np.testing.assert_allclose(completed_box(np.array(box), height), expected)


def test_on_a_waist_up_portrait_no_knee_or_ankle_is_drawn_inside_the_image(tmp_path):
    out = tmp_path / "astronaut.npz"
    done = subprocess.run([sys.executable, "-m", "inference", "estimate", "--input",
                           str(ROOT / "assets" / "samples" / "astronaut.jpg"), "--output", str(out), "--progress",
                           "none"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = np.load(out)
    joints = result["person_0/joints2d"][0]
    legs = [JOINT_NAMES.index(name) for name in ("left_knee", "right_knee", "left_ankle", "right_ankle")]
    assert (joints[legs, 1] > 512).all(), joints[legs]  # below the 512 px image, not over the torso
    assert (result["person_0/joint_confidence"][0, legs] == 0).all()  # and marked as unseen
    shoulders = joints[[JOINT_NAMES.index("left_shoulder"), JOINT_NAMES.index("right_shoulder")], 1].mean()
    hips = joints[[JOINT_NAMES.index("left_hip"), JOINT_NAMES.index("right_hip")], 1].mean()
    assert hips - shoulders > 200  # a whole torso between them (it was 120 px with the hips at mid-chest)


def test_a_box_that_still_yields_nobody_is_named_instead_of_asking_for_a_box_again(tmp_path):
    done = subprocess.run([sys.executable, "-m", "inference", "estimate", "--input",
                           str(ROOT / "assets" / "samples" / "ascent.png"), "--output", str(tmp_path / "r.npz"),
                           "--bbox", "395,240,117,272"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "saw no person in the box 395,240,117,272" in done.stderr and "pass their box" not in done.stderr
    assert not (tmp_path / "r.npz").exists()
