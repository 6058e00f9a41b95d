"""Footage stored turned (phone portrait clips and photos) shows upright behind the bodies, as the estimate saw it.

A picture with a red mark in its stored top-left corner is marked as turned (EXIF orientation for a photo,
rotation metadata for a video), put behind a camera of the upright size and rendered: the mark must land where
the turn puts it. Blender 5.0 turns videos itself and never photos; footage_turn.py covers the versions.
"""
import math

import addon_harness  # noqa: F401  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import bpy  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from turned_files import jpeg_with_orientation, mark_rotated  # noqa: E402

addon_harness.enable_extension()
footage = addon_harness.extension_module("addon.footage")
footage_turn = addon_harness.extension_module("addon.footage_turn")
camera_build = addon_harness.extension_module("addon.camera_build")
camera_math = addon_harness.extension_module("addon.camera_math")

STORED_W, STORED_H = 64, 40  # the picture as stored: landscape, the mark in its top-left corner


def stored_picture() -> np.ndarray:
    rgb = np.full((STORED_H, STORED_W, 3), 40, np.uint8)
    rgb[:12, :16] = (255, 0, 0)
    return rgb


def marked_photo(folder, orientation):
    path = folder / f"photo_{orientation}.jpg"
    path.write_bytes(jpeg_with_orientation(stored_picture(), orientation))
    return path


def marked_video(folder, degrees):
    path = folder / f"clip_{degrees}.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (STORED_W, STORED_H))
    for _ in range(3):
        writer.write(stored_picture()[:, :, ::-1])
    writer.release()
    mark_rotated(path, degrees)
    return path


def rendered_mark_corner(path, turn):
    """Build camera and footage for the upright size, render with Cycles (the plane is emission only) and
    return (warnings, which corner the red mark is in: (top?, left?))."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_harness.enable_extension()
    scene = bpy.context.scene
    upright = (STORED_H, STORED_W) if turn % 180 else (STORED_W, STORED_H)
    focal = 100.0
    camera = camera_build.build_camera(scene, "cam", camera_math.camera_settings(focal, *upright), 10.0,
                                       scene.collection)
    warnings = []
    image, offset, left = footage.load_footage(str(path), upright, turn, warnings)
    footage.add_footage(camera, image, offset, left, 1, 3, 5.0, focal, upright, scene.collection, "footage")
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.view_settings.view_transform = "Standard"
    scene.render.filepath = str(path.with_suffix(".render.png"))
    bpy.ops.render.render(write_still=True)
    picture = cv2.imread(scene.render.filepath)[:, :, ::-1]
    assert picture.shape[:2] == (upright[1], upright[0])
    red = (picture[..., 0] > 150) & (picture[..., 1] < 100)
    rows, columns = red.nonzero()
    assert 0.04 < red.mean() < 0.12, "the mark is 12x16 of 40x64 pixels, turned or not"
    return warnings, (rows.mean() < upright[1] / 2, columns.mean() < upright[0] / 2)


@pytest.mark.parametrize("orientation,turn,corner", [(1, 0, (True, True)), (6, 90, (True, False)),
                                                     (3, 180, (False, False)), (8, 270, (False, True))])
def test_a_turned_photo_shows_upright(tmp_path, orientation, turn, corner):
    warnings, found = rendered_mark_corner(marked_photo(tmp_path, orientation), turn)
    assert (warnings, found) == ([], corner)


@pytest.mark.parametrize("degrees,corner", [(90, (True, False)), (180, (False, False))])
def test_a_phone_clip_shows_upright(tmp_path, degrees, corner):
    warnings, found = rendered_mark_corner(marked_video(tmp_path, degrees), degrees)
    assert (warnings, found) == ([], corner)


def test_only_what_blender_leaves_is_turned():
    assert footage_turn.turn_left_to_scene(90, True, (4, 2, 9)) == 90
    assert footage_turn.turn_left_to_scene(90, True, (4, 4, 0)) == 0
    assert footage_turn.turn_left_to_scene(270, False, (5, 0, 1)) == 270


def test_a_turned_background_covers_the_camera_frame():
    """Blender fits the background to the frame and then turns it: the fitted stored picture (aspect
    inverted) scaled by the result must, once turned a quarter, be exactly the frame."""
    for width, height in [(1080, 1920), (1920, 1080), (500, 500)]:
        rotation, method, scale = footage_turn.background_fit(90, width, height)
        assert rotation == pytest.approx(math.pi / 2) and method == "FIT"
        stored_aspect, frame_aspect = height / width, width / height
        fitted = (width, width / stored_aspect) if stored_aspect > frame_aspect else (height * stored_aspect, height)
        turned = (fitted[1] * scale, fitted[0] * scale)
        assert turned == pytest.approx((width, height))
    assert footage_turn.background_fit(180, 1920, 1080) == (pytest.approx(math.pi), "STRETCH", 1.0)
