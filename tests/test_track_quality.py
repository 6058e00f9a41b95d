"""Joint confidence and the per-person quality report (result format version 2), and what Blender shows of
them: the rig's keyed `pare_confidence` and the report lines."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import addon_harness  # noqa: E402  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import bpy  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from test_addon_estimate import SMPL_PATH  # noqa: E402
from test_presence import track  # noqa: E402

from contract.quality_report import report_lines  # noqa: E402
from contract.result_file import ResultMeta, read_result, write_result  # noqa: E402
from contract.skeleton import JOINT_NAMES  # noqa: E402
from inference.fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES  # noqa: E402
from inference.track_quality import (AGREEMENT_JOINTS, AGREEMENT_LANDMARKS, PREDICTED_BOX_FACTOR,  # noqa: E402
                                     flagged_ranges, jitter_mm, joint_confidence, landmark_agreement,
                                     person_report, reprojection_px)

KNEE, WRIST = JOINT_NAMES.index("left_knee"), JOINT_NAMES.index("left_wrist")


def test_a_joint_outside_the_picture_is_unseen_and_landmarks_and_predicted_boxes_lower_the_rest():
    joints2d = np.full((3, 24, 2), 100.0)
    joints2d[:, KNEE] = (100.0, 700.0)  # below a 640 x 480 picture
    landmarks = np.ones((3, 33))
    landmarks[1, BLAZEPOSE_LANDMARK_NAMES.index("left_wrist")] = 0.2
    confidence = joint_confidence(joints2d, (640, 480), landmarks, np.array([True, True, False]))
    assert confidence.shape == (3, 24) and confidence.dtype == np.float32
    assert (confidence[:, KNEE] == 0).all() and confidence[0, WRIST] == 1.0
    assert confidence[1, WRIST] == pytest.approx(0.2)
    assert confidence[2, WRIST] == pytest.approx(PREDICTED_BOX_FACTOR)
    np.testing.assert_array_equal(joint_confidence(joints2d, (640, 480), None, None)[0, [KNEE, WRIST]], [0, 1])


def _body_on_its_landmarks(frames):
    """(frames, 24, 2) joints spanning 400 px (so the tolerance is 40 px), each 400 px from its twin (twins'
    indices differ in parity), and (frames, 33, 2) landmarks exactly on the limb joints."""
    index = np.arange(24)
    joints2d = np.tile(np.stack([100.0 + 16 * index, 100.0 + 400 * (index % 2)], axis=1), (frames, 1, 1))
    landmarks = np.full((frames, 33, 2), np.nan)
    landmarks[:, AGREEMENT_LANDMARKS] = joints2d[:, AGREEMENT_JOINTS]
    return joints2d, landmarks


def test_a_limb_drawn_far_from_a_sure_landmark_loses_confidence_and_flags_frames_where_it_lasts():
    joints2d, landmarks = _body_on_its_landmarks(6)
    sure = np.ones((6, 33))
    landmarks[[1, 3, 4], BLAZEPOSE_LANDMARK_NAMES.index("left_wrist")] += (120.0, 0.0)  # 3 x the tolerance off
    landmarks[5, BLAZEPOSE_LANDMARK_NAMES.index("left_elbow")] += (20.0, 0.0)  # within it
    agreement = landmark_agreement(joints2d, landmarks, sure)
    assert agreement[[1, 3, 4], WRIST] == pytest.approx(1 / 9)
    assert (np.delete(agreement, [1, 3, 4], axis=0) == 1).all() and (agreement[:, KNEE - 1] == 1).all()
    confidence = joint_confidence(joints2d, (640, 480), sure, None, landmarks)
    assert confidence[1, WRIST] == pytest.approx(1 / 9) and confidence[0, WRIST] == 1
    report = person_report(0, np.arange(6), np.zeros((6, 24, 3)), joints2d, confidence, landmarks, sure)
    assert report["unreliable"] == [[3, 4]]  # frame 1 alone: as likely the landmark model's glitch
    unsure = sure.copy()
    unsure[:, BLAZEPOSE_LANDMARK_NAMES.index("left_wrist")] = 0.3
    assert (landmark_agreement(joints2d, landmarks, unsure) == 1).all()


def test_a_joint_on_its_twins_landmark_is_a_side_disagreement_not_a_miss():
    joints2d, landmarks = _body_on_its_landmarks(1)
    left, right = BLAZEPOSE_LANDMARK_NAMES.index("left_wrist"), BLAZEPOSE_LANDMARK_NAMES.index("right_wrist")
    landmarks[:, [left, right]] = landmarks[:, [right, left]]
    assert (landmark_agreement(joints2d, landmarks, np.ones((1, 33))) == 1).all()


def test_flagged_ranges_follow_the_tracks_own_frames_whatever_its_stride():
    frames = np.arange(0, 40, 2)
    flagged = np.zeros(20, bool)
    flagged[[2, 3, 4, 10, 19]] = True
    assert flagged_ranges(frames, flagged) == [[4, 8], [20, 20], [38, 38]]
    assert flagged_ranges(frames, np.zeros(20, bool)) == []


def test_jitter_and_reprojection_on_known_motion():
    frames = np.arange(6)
    joints = np.zeros((6, 24, 3))
    joints[:, 5, 0] = 0.001 * frames.astype(float) ** 3 / 6  # a constant jerk of 1 mm/frame^3 on one joint
    assert jitter_mm(frames, joints) == pytest.approx(1.0 / 24)  # averaged over the 24 joints
    assert jitter_mm(np.array([0, 2, 4, 6, 8, 10]), joints) is None  # no four consecutive frames
    landmarks = np.zeros((6, 33, 2))
    landmarks[:, BLAZEPOSE_LANDMARK_NAMES.index("left_knee")] = (3.0, 4.0)
    joints2d = np.zeros((6, 24, 2))
    confidence = np.zeros((6, 33))
    confidence[:, BLAZEPOSE_LANDMARK_NAMES.index("left_knee")] = 0.9
    assert reprojection_px(joints2d, landmarks, confidence) == pytest.approx(5.0)
    assert reprojection_px(joints2d, None, None) is None


def test_the_report_and_its_lines():
    frames = np.concatenate([np.arange(10), np.arange(30, 35)])
    confidence = np.ones((15, 24), np.float32)
    confidence[3:6] = 0.2
    report = person_report(2, frames, np.zeros((15, 24, 3)), np.zeros((15, 24, 2)), confidence, None, None)
    assert report == {"track": 2, "frames": 15, "present": [[0, 9], [30, 34]], "reprojection_px": None,
                      "jitter_mm": 0.0, "unreliable": [[3, 5]]}
    assert report_lines([report]) == ["person 2: 15 frame(s) (0-9, 30-34); jitter 0.0 mm; check frames 3-5"]
    assert report_lines(None) == [] and report_lines([{"track": 1}]) == []  # absent or foreign: no lines


def test_blender_keys_the_frames_trust_and_the_build_reports_the_lines(tmp_path):
    addon_harness.enable_extension()
    scene_build = addon_harness.extension_module("addon.scene_build")
    bpy.ops.wm.read_homefile(use_empty=True)
    person = track(np.arange(20), 0.0)
    person.joint_confidence = np.ones((20, 24), np.float32)
    person.joint_confidence[10:] = 0.25
    person.joint_confidence[:, KNEE] = 0.0  # out of the picture: not counted in the frame's trust
    quality = [person_report(0, person.frame, person.joints3d, person.joints2d, person.joint_confidence, None,
                             None)]
    meta = ResultMeta(image_width=320, image_height=240, fps=25.0, focal_length_px=300.0, frame_count=20,
                      source=str(tmp_path / "none.mp4"), model="blazepose-fit", extra={"quality": quality})
    write_result(tmp_path / "r.npz", meta, [person])
    assert read_result(tmp_path / "r.npz").persons[0].joint_confidence.shape == (20, 24)
    report = scene_build.import_result_file(bpy.context, tmp_path / "r.npz", str(SMPL_PATH))
    assert report.quality == ["person 0: 20 frame(s) (0-19); jitter 0.0 mm; check frames 10-19"]
    rig = bpy.data.objects["person_0"]
    trust = []
    for frame in (1, 10, 11, 20):
        bpy.context.scene.frame_set(frame)
        trust.append(round(rig["pare_confidence"], 4))
    assert trust == [1.0, 1.0, 0.25, 0.25]


def test_the_panel_shows_the_report_after_a_run():
    from test_addon_panel import draw
    addon_harness.enable_extension()
    job = bpy.context.window_manager.pare_body_job
    job.running, job.error, job.message = False, "", "2 person(s) over 120 frame(s)"
    job.report = "person 0: 118 frame(s) (0-117); no frame flagged\nperson 1: 96 frame(s) (24-119); check frames 30-33"
    shown = " ".join(kwargs["text"] for method, _, kwargs in draw(bpy.types.PAREBODY_PT_body, bpy.context)
                     if method == "label")  # wrapped to the panel's width at spaces
    assert "person 0: 118 frame(s)" in shown and "person 1: 96 frame(s) (24-119); check frames 30-33" in shown
    job.message = job.report = ""
