"""Footage stored turned (a phone's portrait clip or photo) shown upright behind the bodies (no bpy).

The estimate sees its pictures upright: it turns video frames as their rotation metadata says and photos as
their EXIF orientation says, and records that clockwise turn as the result's `footage_turn`. Blender shows
photos as stored (4.2 to 5.0 alike) and turns videos itself only from 4.4 on (both checked by loading marked
files), so the scene turns whatever Blender leaves: the footage plane through its UVs, the camera background
through its own rotation.
"""
from __future__ import annotations

import math

BLENDER_TURNS_VIDEOS = (4, 4, 0)  # first Blender that shows a video as its rotation metadata says
_CORNERS = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))  # bottom-left, bottom-right, top-right, top-left


def turn_left_to_scene(footage_turn: int, is_movie: bool, blender_version: tuple[int, ...]) -> int:
    """Clockwise degrees the scene must turn the footage by, once Blender has shown it as it does."""
    if is_movie and tuple(blender_version) >= BLENDER_TURNS_VIDEOS:
        return 0
    return footage_turn % 360


def plane_corner_uvs(turn: int) -> list[float]:
    """UVs (flattened u, v pairs) of a camera plane's corners, bottom-left, bottom-right, top-right, top-left,
    that show a stored picture turned `turn` degrees clockwise: after a quarter turn the picture's
    bottom-right corner is the one shown at the bottom left."""
    quarters = turn // 90
    return [value for corner in range(4) for value in _CORNERS[(corner + quarters) % 4]]


def background_fit(turn: int, frame_width: int, frame_height: int) -> tuple[float, str, float]:
    """(rotation in radians, frame method, scale) of a camera background image that shows a stored picture
    turned `turn` degrees clockwise over a `frame_width` x `frame_height` camera frame.

    Blender sizes the picture to the frame first and turns it after (clockwise for a positive rotation), so a
    stretched picture turned a quarter would come out with the frame's sides swapped. Fitted instead, the
    stored picture (the frame's aspect inverted) is as wide as the frame's shorter side; scaled by the
    frame's aspect (or its inverse) and turned, it covers the frame exactly."""
    if turn % 180 == 0:
        return math.radians(turn), "STRETCH", 1.0
    aspect = frame_width / frame_height
    return math.radians(turn), "FIT", max(aspect, 1.0 / aspect)
