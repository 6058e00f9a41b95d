"""No ghosts: a body is visible only while its person is in the take (contract.presence), keyed on the
armature and the body mesh, in the viewport and in renders."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import addon_harness  # noqa: E402  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import bpy  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from test_addon_estimate import SMPL_PATH  # noqa: E402

from contract.presence import COAST_FRAMES, presence_spans, visibility_keys  # noqa: E402
from contract.result_file import PersonTrack, ResultMeta, write_result  # noqa: E402


@pytest.mark.parametrize("frames,spans", [
    ([], []),
    ([5], [(5, 5)]),
    (list(range(25, 120)), [(25, 119)]),
    ([0, 1, 2, 3 + COAST_FRAMES, 4 + COAST_FRAMES], [(0, 4 + COAST_FRAMES)]),  # a coasted miss: still one span
    ([0, 1, 2, 4 + COAST_FRAMES, 5 + COAST_FRAMES], [(0, 2), (4 + COAST_FRAMES, 5 + COAST_FRAMES)]),
    (list(range(0, 40, 4)) + list(range(40 + 4 * (COAST_FRAMES + 1), 120, 4)), [(0, 36), (84, 116)]),  # stride 4
])
def test_presence_spans_break_only_where_the_person_was_gone_longer_than_the_tracker_coasts(frames, spans):
    assert presence_spans(np.array(frames, dtype=np.int64)) == spans


def test_visibility_keys_hide_before_between_and_after_the_spans():
    frames, hidden = visibility_keys([(3, 5), (20, 30)], first_frame=1)
    assert dict(zip(frames.tolist(), hidden.tolist())) == {1: 1, 4: 0, 7: 1, 21: 0, 32: 1}
    frames, hidden = visibility_keys([(0, 9)], first_frame=1)
    assert dict(zip(frames.tolist(), hidden.tolist())) == {1: 0, 11: 1}


def track(frames: np.ndarray, x: float) -> PersonTrack:
    n = len(frames)
    rot = np.repeat(np.diag([1.0, -1.0, -1.0])[None, None], 24, axis=1).repeat(n, axis=0).astype(np.float32)
    return PersonTrack(frame=frames.astype(np.int64), bbox_xywh=np.full((n, 4), 50, np.float32), pose_rotmat=rot,
                       pose_axis_angle=np.zeros((n, 72), np.float32), betas=np.zeros((n, 10), np.float32),
                       crop_cam=np.ones((n, 3), np.float32), cam_t=np.tile(np.float32([x, 0, 6]), (n, 1)),
                       joints3d=np.tile(np.float32([x, 0, 6]), (n, 24, 1)), joints2d=np.zeros((n, 24, 2), np.float32))


def test_a_body_shows_only_while_its_person_is_in_the_take(tmp_path):
    addon_harness.enable_extension()
    scene_build = addon_harness.extension_module("addon.scene_build")
    bpy.ops.wm.read_homefile(use_empty=True)
    late = np.concatenate([np.arange(25, 60), np.arange(80, 100)])  # enters at 25, gone 60-79, leaves after 99
    meta = ResultMeta(image_width=320, image_height=240, fps=25.0, focal_length_px=300.0, frame_count=120,
                      source=str(tmp_path / "none.mp4"), model="pare_hrnet32")
    write_result(tmp_path / "r.npz", meta, [track(np.arange(120), -0.5), track(late, 0.5)])
    scene_build.import_result_file(bpy.context, tmp_path / "r.npz", str(SMPL_PATH))
    scene = bpy.context.scene
    seen = {}
    for frame in range(scene.frame_start, scene.frame_end + 1):
        scene.frame_set(frame)
        for name in ("person_0", "person_0_body", "person_1", "person_1_body"):
            obj = bpy.data.objects[name]
            assert obj.hide_viewport == obj.hide_render
            seen.setdefault(name, []).append(not obj.hide_render)
    source = np.arange(120)  # scene frame 1 + i shows source frame i
    expected_late = ((source >= 25) & (source < 60)) | ((source >= 80) & (source < 100))
    assert all(seen["person_0"]) and all(seen["person_0_body"])
    assert seen["person_1"] == seen["person_1_body"] == expected_late.tolist()
