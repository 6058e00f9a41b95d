"""Occlusion sensitivity (`inference.sensitivity`): the map reproduces by painting the square into the image and
running estimate on it, for PARE (rule-filled HRNet weights) and for the landmark fit; the pieces (grid, pixel
rule, errors, pixel and vertex maps) against brute force; outputs all or nothing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from contract.errors import UserError
from contract.skeleton import JOINT_NAMES
from contract.smpl_file import read_body_model
from inference.body_model import SMPLBody
from inference.estimate_job import run_estimate
from inference.image_io import read_image_rgb
from inference.sensitivity.command import add_parser, run
from inference.sensitivity.image_map import pixel_means
from inference.sensitivity.joint_errors import joint_errors_mm
from inference.sensitivity.mesh_map import facing_camera, vertex_means
from inference.sensitivity.occluder import occluder_grid, paint_occluder
from inference.sensitivity.person_frame import frame_and_person

sys.path.insert(0, str(Path(__file__).parent))
from weight_rule import REFERENCE, write_lightning_checkpoint  # noqa: E402

ROOT = Path(__file__).parents[1]
ASTRONAUT = ROOT / "assets" / "samples" / "astronaut.jpg"
BOX = "100,20,350,490"  # the astronaut, as a user would draw it
SMPL = REFERENCE / "synthetic_SMPL_NEUTRAL.pkl"


@pytest.fixture(scope="module")
def hrnet_checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "pare_w_3dpw_checkpoint.ckpt"
    write_lightning_checkpoint(path, "pare_hrnet32_state_dict.tsv")
    return path


def sensitivity(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["sensitivity", *args])


def run_quietly(*args: str) -> list[dict]:
    events: list[dict] = []
    run(sensitivity(*args), events.append)
    return events


def painted_by_hand(image: np.ndarray, center_xy: np.ndarray, patch_px: int) -> np.ndarray:
    """The documented pixel rule, written out independently of the package: columns cx - p/2 <= x < cx + p/2."""
    x0, y0 = (int(v) for v in np.asarray(center_xy) - patch_px / 2)
    assert np.allclose(np.asarray(center_xy) - patch_px / 2, (x0, y0)), "centres sit on whole-pixel squares"
    painted = image.copy()
    painted[max(y0, 0):y0 + patch_px, max(x0, 0):x0 + patch_px] = 128
    return painted


def estimate_joints(images: list[np.ndarray], folder: Path, as_sequence: bool, **options: str) -> np.ndarray:
    """(n, 24, 3) joints of `estimate --bbox BOX` on each image, saved losslessly: one run per image, or with
    `as_sequence` one run over them as an image folder without smoothing (for a crop network the same
    per-frame path, with the model loaded once)."""
    if as_sequence:
        (folder / "frames").mkdir()
        for index, image in enumerate(images):
            cv2.imwrite(str(folder / "frames" / f"frame_{index}.png"), image[..., ::-1])
        run_estimate(folder / "frames", folder / "frames.npz", {"bbox": BOX, "smooth": False, **options})
        return np.load(folder / "frames.npz")["person_0/joints3d"]
    joints = []
    for index, image in enumerate(images):
        cv2.imwrite(str(folder / f"image_{index}.png"), image[..., ::-1])
        run_estimate(folder / f"image_{index}.png", folder / f"image_{index}.npz", {"bbox": BOX, **options})
        joints.append(np.load(folder / f"image_{index}.npz")["person_0/joints3d"][0])
    return np.stack(joints)


def check_reproduces(result: Path, folder: Path, as_sequence: bool = False, **options: str) -> None:
    """The map's worst and best positions, repainted by hand and estimated: same per-joint errors."""
    maps = np.load(result, allow_pickle=False)
    image = read_image_rgb(ASTRONAUT)
    worst, best = int(np.argmax(maps["mean_error_mm"])), int(np.argmin(maps["mean_error_mm"]))
    assert maps["mean_error_mm"][worst] > maps["mean_error_mm"][best]
    painted = [painted_by_hand(image, maps["center_xy"][p], int(maps["patch_px"])) for p in (worst, best)]
    reference, *occluded = estimate_joints([image, *painted], folder, as_sequence, **options)
    for position, joints in zip((worst, best), occluded):
        errors = joint_errors_mm(joints[None], reference)[0]
        tolerance = np.maximum(0.05, 0.05 * errors)
        assert (np.abs(errors - maps["error_mm"][position]) <= tolerance).all(), (position, errors)
        assert errors.max() > 0  # the square changed the estimate, so the comparison means something


def test_pare_map_reproduces_with_estimate(hrnet_checkpoint, tmp_path):
    out = tmp_path / "pare.npz"
    events = run_quietly("--input", str(ASTRONAUT), "--output", str(out), "--bbox", BOX, "--patch", "112",
                         "--stride", "112", "--checkpoint", str(hrnet_checkpoint), "--smpl", str(SMPL),
                         "--batch-size", "3", "--joints", "left_wrist,15", "--device", "cpu")
    assert events[0]["event"] == "start" and events[-1]["event"] == "done"
    assert events[-1]["model"] == "pare_hrnet32" and events[-1]["positions"] == 4
    maps = np.load(out, allow_pickle=False)
    assert maps["error_mm"].shape == (4, 24) and maps["center_xy"].shape == (4, 2)
    np.testing.assert_allclose(maps["mean_error_mm"], maps["error_mm"].mean(axis=1))
    assert (maps["error_mm"][:, JOINT_NAMES.index("pelvis")] == 0).all()
    assert int(maps["patch_px"]) == round(112 * 490 / 224)
    assert list(maps["chosen_joints"]) == ["left_wrist", "head"]
    assert maps["mesh_error_mm"].shape == (6890,) and maps["mesh_joint_error_mm"].shape == (2, 6890)
    covered = maps["mesh_coverage"] > 0
    assert 0 < covered.sum() < 6890  # the front of the body, not its back
    assert np.isnan(maps["mesh_error_mm"][~covered]).all()
    assert (maps["mesh_error_mm"][covered] <= maps["scale_max_mm"] + 1e-6).all()
    for name in ("mean", "left_wrist", "head"):
        picture = cv2.imread(str(tmp_path / f"pare_{name}.png"))
        assert picture.shape == (512, 512, 3)
    check_reproduces(out, tmp_path, as_sequence=True, checkpoint=str(hrnet_checkpoint), smpl=str(SMPL))


def test_landmark_fit_map_reproduces_with_estimate(tmp_path):
    out = tmp_path / "fit.npz"
    run_quietly("--input", str(ASTRONAUT), "--output", str(out), "--bbox", BOX, "--patch", "56", "--stride", "56")
    maps = np.load(out, allow_pickle=False)
    assert len(maps["center_xy"]) + len(maps["lost_center_xy"]) == 16
    assert np.isfinite(maps["error_mm"]).all()
    check_reproduces(out, tmp_path)


def test_grid_covers_the_crop_on_whole_pixels():
    grid = occluder_grid(np.array([100.0, 80.0, 112.0, 112.0]), (150, 400), patch_crop_px=32, stride_crop_px=16)
    assert grid.patch_px == 16  # 32 crop px at 0.5 image px per crop px
    xs, ys = np.unique(grid.corners[:, 0]), np.unique(grid.corners[:, 1])
    np.testing.assert_array_equal(ys, np.arange(24, 24 + 13 * 8, 8))  # top edge to bottom edge, stride 8
    np.testing.assert_array_equal(xs, ys + 20)
    np.testing.assert_array_equal(grid.centers, grid.corners + 8.0)
    off_image = occluder_grid(np.array([140.0, 80.0, 112.0, 112.0]), (150, 400), 32, 16)
    assert off_image.corners[:, 0].max() < 150  # squares beyond the right edge paint nothing: left out
    default = occluder_grid(np.array([112.0, 112.0, 224.0, 224.0]), (224, 224))
    assert default.patch_px == 32 and len(default) == 13 * 13
    with pytest.raises(UserError, match="--patch"):
        occluder_grid(np.array([112.0, 112.0, 224.0, 224.0]), (224, 224), patch_crop_px=300)


def test_painting_follows_the_pixel_rule():
    image = np.zeros((40, 50, 3), np.uint8)
    painted = paint_occluder(image, np.array([3.5, 10.5]), 9)  # square x in [-1, 8), y in [6, 15)
    grey = (painted == 128).all(axis=-1)
    assert grey[6:15, 0:8].all() and grey.sum() == 9 * 8
    np.testing.assert_array_equal(painted, painted_by_hand(image, np.array([3.5, 10.5]), 9))
    assert (image == 0).all()  # the original stays as it was


def test_joint_errors_are_pelvis_aligned_mm():
    reference = np.random.default_rng(0).normal(size=(24, 3))
    moved = reference + np.array([1.0, -2.0, 5.0])  # the whole body shifted: nothing changed
    bent = reference.copy()
    bent[20] += [0.0, 0.01, 0.0]  # left wrist 1 cm down
    errors = joint_errors_mm(np.stack([moved, bent]), reference)
    np.testing.assert_allclose(errors[0], 0, atol=1e-9)
    expected = np.zeros(24)
    expected[20] = 10.0
    np.testing.assert_allclose(errors[1], expected, atol=1e-9)


def test_pixel_means_match_brute_force():
    rng = np.random.default_rng(1)
    corners = rng.integers(-5, 30, size=(12, 2))
    errors = rng.uniform(0, 10, size=12)
    errors[3] = np.nan  # a lost position covers nothing
    means = pixel_means(errors, corners, 7, (32, 24))
    sums, count = np.zeros((24, 32)), np.zeros((24, 32))
    for (x0, y0), error in zip(corners, errors):
        if np.isfinite(error):
            sums[max(y0, 0):y0 + 7, max(x0, 0):x0 + 7] += error
            count[max(y0, 0):y0 + 7, max(x0, 0):x0 + 7] += 1
    expected = np.where(count > 0, sums / np.maximum(count, 1), np.nan)
    np.testing.assert_allclose(means, expected, rtol=1e-6, equal_nan=True)


@pytest.fixture(scope="module")
def posed_body() -> tuple[np.ndarray, np.ndarray]:
    """The stand-in body facing the camera 3 m away (turned 180 degrees about x, as PARE's bodies are)."""
    body = SMPLBody(read_body_model(None))
    pose = torch.eye(3).repeat(1, 24, 1, 1)
    pose[0, 0] = torch.diag(torch.tensor([1.0, -1.0, -1.0]))
    vertices = body(pose, torch.zeros(1, 10)).vertices[0].numpy().astype(np.float64) + [0.0, 0.0, 3.0]
    return vertices, body.faces.numpy()


def test_facing_camera_is_the_front_of_the_body(posed_body):
    vertices, faces = posed_body
    facing = facing_camera(vertices, faces)
    assert facing[np.argmin(vertices[:, 2])] and not facing[np.argmax(vertices[:, 2])]
    assert 0.35 < facing.mean() < 0.65


def test_vertex_means_match_brute_force(posed_body):
    vertices, faces = posed_body
    size, focal = (200, 200), 300.0
    rng = np.random.default_rng(2)
    corners = rng.integers(40, 150, size=(20, 2))
    errors = rng.uniform(0, 5, size=(20, 2))
    errors[4] = np.nan
    means, count = vertex_means(errors, vertices, faces, corners, 15, focal, size)
    pixels = focal * vertices[:, :2] / vertices[:, 2:] + 100.0
    facing = facing_camera(vertices, faces)
    for v in rng.choice(np.flatnonzero(facing), 50):
        covering = [p for p in range(20) if np.isfinite(errors[p]).all()
                    and (corners[p] <= pixels[v]).all() and (pixels[v] < corners[p] + 15).all()]
        assert count[v] == len(covering)
        expected = errors[covering].mean(axis=0) if covering else np.full(2, np.nan)
        np.testing.assert_allclose(means[:, v], expected, equal_nan=True)
    assert (count[~facing] == 0).all()


def test_frame_of_a_video_and_the_only_person(tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for level in (20, 90, 160):
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    image, person, kind = frame_and_person(str(video), 1, np.array([8.0, 4.0, 20.0, 40.0]), None)
    assert kind == "video" and abs(float(image.mean()) - 90) < 4
    np.testing.assert_allclose(person.square_cxcywh, [18, 24, 40, 40])
    with pytest.raises(UserError, match="has 3 frame"):
        frame_and_person(str(video), 3, np.array([8.0, 4.0, 20.0, 40.0]), None)
    image, person, _ = frame_and_person(str(ASTRONAUT), 0, None, None)  # the detector's one person
    assert person.square_cxcywh[2] == pytest.approx(1.2 * person.box_xywh[2:].max())
    with pytest.raises(UserError, match="--person 7 is not in frame 0"):
        frame_and_person(str(ASTRONAUT), 0, None, 7)


@pytest.mark.parametrize("args,message", [
    (["--joints", "left_wrist,tail"], "'tail' is not an SMPL joint"),
    (["--frame", "1"], "has 1 frame"),
    (["--person", "0"], "either --bbox or --person"),
    (["--batch-size", "0"], "batch-size"),
    (["--stride", "0"], "--stride must be positive"),
])
def test_user_errors_write_nothing(tmp_path, args, message):
    out = tmp_path / "s.npz"
    base = ["--input", str(ASTRONAUT), "--output", str(out), "--bbox", BOX]
    with pytest.raises((UserError, SystemExit)) as raised:
        run_quietly(*base, *args)
    if raised.type is UserError:
        assert message in str(raised.value)
    else:  # argparse refused the value itself, as estimate's parser does: usage error, exit status 2
        assert raised.value.code == 2
    assert not list(tmp_path.iterdir())


def test_cancel_writes_nothing(tmp_path):
    out = tmp_path / "s.npz"

    def report(event: dict) -> None:
        if event["event"] == "progress" and event["stage"] == "sensitivity" and event["done"] >= 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run(sensitivity("--input", str(ASTRONAUT), "--output", str(out), "--bbox", BOX, "--patch", "112"), report)
    assert not list(tmp_path.iterdir())


def test_operator_shows_the_map_on_a_plane_and_the_body(tmp_path):
    """Occlusion Sensitivity on person 0 of a stand-in result whose footage is the astronaut (the real worker,
    landmark fit): a camera plane with the map picture in front of the footage, and colour layers on the body
    coloured from the .npz's table and scale."""
    import addon_harness  # before bpy: keeps Blender's user folder in the test session
    import bpy
    from test_addon_standin import write_standin_result

    addon_harness.enable_extension()
    scene_build = addon_harness.extension_module("addon.scene_build")
    build = addon_harness.extension_module("addon.sensitivity_build")
    footage = np.zeros((480, 640, 3), np.uint8)
    footage[:, 80:560] = cv2.resize(cv2.imread(str(ASTRONAUT)), (480, 480))
    (tmp_path / "footage").mkdir()
    for frame in range(5):  # the stand-in result's five frames, as an image sequence
        cv2.imwrite(str(tmp_path / "footage" / f"frame_{frame}.png"), footage)
    result = tmp_path / "result.npz"
    write_standin_result(result, tmp_path / "footage")
    arrays = dict(np.load(result))
    arrays["person_0/bbox_xywh"][:] = [108.5, 19.0, 459.0, 459.0]  # the astronaut's square crop box
    np.savez(result, **arrays)

    bpy.ops.wm.read_homefile(use_empty=True)
    scene_build.import_result_file(bpy.context, result, None, name="PARE map test")
    armature = bpy.data.objects["person_0"]
    bpy.context.view_layer.objects.active = armature
    bpy.context.scene.frame_set(1 + 2)  # source frame 2
    bpy.context.preferences.addons[addon_harness.PACKAGE].preferences.python = sys.executable  # the real worker
    outcome = bpy.ops.pare_body.occlusion_sensitivity(result_path=str(result), patch=56, stride=112,
                                                      joints="left_wrist")
    assert outcome == {"FINISHED"}

    written = tmp_path / "result_sensitivity" / "person0_frame2.npz"
    maps = np.load(written, allow_pickle=False)
    assert int(maps["frame"]) == 2 and len(maps["center_xy"]) + len(maps["lost_center_xy"]) == 4
    np.testing.assert_allclose(maps["crop_box_xywh"], [108.5, 19.0, 459.0, 459.0])
    body = bpy.data.objects["person_0_body"]
    layer = body.data.color_attributes["Sensitivity mean"]
    assert body.data.color_attributes.active_color.name == "Sensitivity mean"
    assert "Sensitivity left_wrist" in body.data.color_attributes
    colours = np.zeros(len(body.data.vertices) * 4, np.float32)
    layer.data.foreach_get("color_srgb", colours)
    expected = build.vertex_colours(maps["mesh_error_mm"], maps["colormap_rgb"], float(maps["scale_max_mm"]))
    np.testing.assert_allclose(colours.reshape(-1, 4), expected, atol=1 / 255 + 1e-6)  # stored as bytes
    assert body[build.SCALE_PROPERTY]["Sensitivity mean"] == pytest.approx(float(maps["scale_max_mm"]))

    plane = next(obj for obj in bpy.data.objects if obj.get("pare_overlay") == "sensitivity")
    camera = bpy.data.objects["PARE map test camera"]
    footage_plane = bpy.data.objects["PARE map test footage"]
    assert plane.parent == camera and -plane.location.z < -footage_plane.location.z
    image = plane.active_material.node_tree.nodes["Image Texture"].image
    assert tuple(image.size) == (640, 480) and Path(image.filepath).name == "person0_frame2_mean.png"
    for frame, hidden in ((2, True), (3, False), (4, True)):  # shown at source frame 2 (scene frame 3) only
        bpy.context.scene.frame_set(frame)
        assert plane.hide_render == hidden
