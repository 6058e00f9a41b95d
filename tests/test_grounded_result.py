"""Issue 10 in the result file and the estimate job: the grounded arrays round-trip and stay optional, the
three options are checked before any work, the job's camera follower sees a pan at the right scale, and the
bundled clip comes out grounded (the camera exactly static, feet locked, the floor in the meta)."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from contract.errors import UserError
from contract.options import OPTIONS, parse_value
from contract.result_file import WORLD_KEYS, read_result, write_result
from inference.estimate_job import CameraFollower, run_estimate
from inference.grounding.floor import parse_floor_hint
from inference.grounding.rotations import rotation_angle_deg

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "samples" / "park_jumping_walking.mp4"


@pytest.fixture(scope="module")
def grounded(tmp_path_factory):
    """The bundled clip's first 24 frames through the whole estimate job, with the default options."""
    output = tmp_path_factory.mktemp("job") / "grounded.npz"
    meta = run_estimate(SAMPLE, output, {"frame_range": "0:24", "checkpoint": "", "smpl": ""})
    return output, meta


def test_the_estimate_job_writes_a_grounded_result(grounded):
    output, meta = grounded
    result = read_result(output, include_maps=False)
    floor = result.meta.extra["floor"]
    assert floor == meta["floor"] and floor["camera"] == "static" and floor["foot_lock"] is True
    assert abs(np.linalg.norm(floor["normal_camera"]) - 1.0) < 1e-9
    assert len(floor["person_levels"]) == len(result.persons)
    world = result.world
    assert world.camera_frame.tolist() == [0]  # a tripod shot: one camera pose, no drift to key
    from_camera = world.from_camera
    assert np.allclose(from_camera[:3, :3] @ from_camera[:3, :3].T, np.eye(3), atol=1e-9)
    # A static camera's pose in the world is the world's own change of coordinates from the camera's frame.
    assert np.allclose(world.camera_to_world[0], from_camera, atol=1e-12)
    for track in result.persons:
        n = len(track.frame)
        assert track.foot_contact.shape == (n, 4) and np.all((track.foot_contact >= 0) & (track.foot_contact <= 1))
        assert track.locked_pose_rotmat.shape == (n, 24, 3, 3) and track.locked_transl.shape == (n, 3)
        # The world body is the camera-frame estimate carried by the world's change of coordinates (and, for a
        # person on the shared floor, moved along the line of sight onto it): its orientation exactly so.
        assert np.allclose(track.world_global_orient, from_camera[:3, :3] @ track.pose_rotmat[:, 0], atol=1e-5)
        pelvis_world = track.joints3d[:, 0] @ from_camera[:3, :3].T + from_camera[:3, 3]
        moved = pelvis_world - (track.world_transl + (track.joints3d[:, 0] - track.cam_t))
        assert np.allclose(moved, moved[0], atol=1e-4)  # one shift per person, or none
        sight = pelvis_world.mean(axis=0) - world.camera_to_world[0][:3, 3]
        assert np.linalg.norm(np.cross(moved[0], sight)) <= 0.05 * np.linalg.norm(sight) + 1e-6


def test_results_without_grounding_still_read(grounded, tmp_path):
    output, _ = grounded
    with np.load(output) as archive:
        arrays = {key: archive[key] for key in archive.files}
    grounded_names = ("foot_contact", "world_global_orient", "world_transl", "locked_pose_rotmat", "locked_transl")
    old = {key: value for key, value in arrays.items()
           if key.split("/")[0] not in ("world", "camera") and key.rsplit("/", 1)[-1] not in grounded_names}
    np.savez(tmp_path / "old.npz", **old)
    result = read_result(tmp_path / "old.npz", include_maps=False)
    assert result.world is None and all(track.foot_contact is None and track.world_transl is None
                                        for track in result.persons)
    partial = {key: value for key, value in arrays.items() if key != WORLD_KEYS["camera_to_world"]}
    np.savez(tmp_path / "partial.npz", **partial)
    with pytest.raises(UserError, match="camera/to_world"):
        read_result(tmp_path / "partial.npz")
    # A write round-trips the world as it was given.
    again = read_result(output, include_maps=False)
    write_result(tmp_path / "again.npz", {**json.loads(str(arrays["meta"])), "persons": None}, again.persons,
                 again.world)
    copy = read_result(tmp_path / "again.npz", include_maps=False)
    assert np.array_equal(copy.world.camera_to_world, again.world.camera_to_world)
    assert np.array_equal(copy.persons[0].locked_transl, again.persons[0].locked_transl)


@pytest.mark.parametrize("text", ["auto", "level", "pitch=15", "pitch=12.5, roll=-3", "roll=2", " LEVEL "])
def test_floor_option_accepts_what_the_floor_hint_reads(text):
    assert parse_value(OPTIONS["floor"], text) == text
    parse_floor_hint(text)  # the same text means something to the grounding


@pytest.mark.parametrize("text", ["pitch", "yaw=3", "pitch=x", "pitch=1,", "floor"])
def test_floor_option_refuses_what_the_floor_hint_refuses(text, tmp_path):
    with pytest.raises(UserError, match="--floor"):
        parse_value(OPTIONS["floor"], text)
    with pytest.raises(UserError, match="--floor"):
        parse_floor_hint(text)
    with pytest.raises(UserError, match="--floor"):  # before any frame is read
        run_estimate(tmp_path / "no-such-input.mp4", tmp_path / "out.npz", {"floor": text})


@pytest.mark.parametrize("name, bad", [("foot_lock", "on"), ("camera_motion", "moving")])
def test_lock_and_camera_options_take_only_their_choices(name, bad):
    with pytest.raises(UserError, match=OPTIONS[name].flag):
        parse_value(OPTIONS[name], bad)


def test_camera_follower_sees_a_pan_at_full_resolution_scale():
    """A 1280x720 camera turning 0.8 degrees between two frames (the background warped by K R K^-1) with a
    'person' box that changes against it: the follower works on 640x360 frames, yet reports the full-size
    turn, in the right direction."""
    rng = np.random.default_rng(3)
    margin = 200
    texture = cv2.resize(rng.integers(0, 256, (187, 280), dtype=np.uint8), (1280 + 2 * margin, 720 + 2 * margin),
                         interpolation=cv2.INTER_NEAREST)
    focal = 1000.0
    k = np.array([[focal, 0.0, 640.0], [0.0, focal, 360.0], [0.0, 0.0, 1.0]])
    from_canvas = np.array([[1.0, 0.0, -margin], [0.0, 1.0, -margin], [0.0, 0.0, 1.0]])
    angle = np.radians(0.8)
    turn = np.array([[np.cos(angle), 0.0, np.sin(angle)], [0.0, 1.0, 0.0], [-np.sin(angle), 0.0, np.cos(angle)]])
    follower = CameraFollower(1280, 720, focal)
    assert follower.size == (640, 360)
    box = [560, 200, 160, 400]
    for index, seen in enumerate([np.eye(3), turn]):  # seen: first camera's directions -> this camera's
        grey = cv2.warpPerspective(texture, k @ seen @ np.linalg.inv(k) @ from_canvas, (1280, 720))
        frame = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
        frame[box[1]:box[1] + box[3], box[0]:box[0] + box[2]] = 20 + 100 * index  # the person changes
        follower.add(index, frame, [np.array(box, dtype=np.float64)])
    motion = follower.tracker.result()
    assert not motion.static
    # reference_from_camera carries the second camera's directions back into the first's: the inverse turn.
    assert rotation_angle_deg(motion.reference_from_camera[1] @ turn) < 0.05
