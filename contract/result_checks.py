"""Whether a result's numbers can describe real footage and real bodies: checked on reading, before a scene is
built from them.

`result_file` checks the format (keys, shapes, dtypes, frame order); a file can pass all that and still hold
NaN, "rotations" that are not rotations, a body behind the camera or a 10^30 px picture, which would become a
broken or frozen Blender scene. These checks turn such a file into one `UserError` that says which value of
which person in which frame is wrong. Limits are generous: they refuse the impossible, not the unusual.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .file_checks import special_file

MAX_IMAGE_SIDE = 65_536  # pixels; the largest video frames are 16K (15360) wide
MAX_FRAME_COUNT = 1_048_574  # the most frames a Blender scene holds (almost 5 hours at 60 fps)
MAX_FPS = 10_000.0
MAX_PERSONS = 1000  # each becomes a rigged, skinned body: more would take Blender hours to build
MAX_FOCAL_LENGTH_PX = 1e6  # as --focal-length allows
MIN_FOCAL_LENGTH_PX = 1.0  # shorter: a field of view of 179.9 degrees and more on any real picture
DEPTH_RANGE_M = (0.01, 1e6)  # a body's root from 1 cm in front of the camera to 1000 km (a 1e6 px lens)
MAX_OFFSET_M = 1e7  # cam_t x / y, joints3d
MAX_PIXELS = 1e9  # joints2d, bbox_xywh: far outside any frame, but still a number a scene can hold
MAX_BETA = 100.0  # SMPL shape coefficients are standard deviations, usually within +-5
ROTATION_TOLERANCE = 0.02  # largest |R^T R - I| entry, and |det R - 1|; float16 round trips stay far below
ROTATION_ARRAYS = ("pose_rotmat", "locked_pose_rotmat", "world_global_orient")  # (n, [J,] 3, 3) where present

Problem = Callable[[str], Exception]


def check_meta_ranges(meta: Any, problem: Problem) -> None:
    """Image size, frame count, frame rate and focal length within what footage can have; the recorded
    `source` must not be a pipe or device (building the scene opens it as footage)."""
    for name in ("image_width", "image_height"):
        if getattr(meta, name) > MAX_IMAGE_SIDE:
            raise problem(f"meta '{name}' is {getattr(meta, name)} px, more than any footage ({MAX_IMAGE_SIDE})")
    if meta.frame_count > MAX_FRAME_COUNT:
        raise problem(f"meta 'frame_count' is {meta.frame_count}, more than a scene holds ({MAX_FRAME_COUNT:,})")
    if meta.fps is not None and meta.fps > MAX_FPS:
        raise problem(f"meta 'fps' is {meta.fps}, more than {MAX_FPS:g}")
    if not MIN_FOCAL_LENGTH_PX <= meta.focal_length_px <= MAX_FOCAL_LENGTH_PX:
        raise problem(f"meta 'focal_length_px' is {meta.focal_length_px}, outside {MIN_FOCAL_LENGTH_PX:g}.."
                      f"{MAX_FOCAL_LENGTH_PX:g} px")
    if meta.source and special_file(meta.source):
        raise problem(f"its footage 'source' {meta.source} is a pipe or device, not a file or folder")


def _first_bad(bad: np.ndarray) -> int:
    """Row index of the first True in an (n, ...) mask."""
    return int(np.argwhere(bad.reshape(len(bad), -1).any(axis=1))[0, 0])


def _frame_of(track: Any, row: int) -> str:
    return f"frame {int(track.frame[row])}"


def check_track_values(track: Any, person: int, problem: Problem) -> None:
    """Every array finite, rotations orthonormal with det +1, depths in front of the camera, magnitudes a scene
    can hold; the message names the person, the array and the source frame of the first bad value."""
    for name, values in vars(track).items():
        if isinstance(values, np.ndarray) and values.dtype.kind == "f":
            finite = np.isfinite(values)
            if not finite.all():
                row = _first_bad(~finite)
                raise problem(f"person {person} has NaN or infinite {name} in {_frame_of(track, row)}")
    for name in ROTATION_ARRAYS:
        if getattr(track, name, None) is not None:
            _check_rotations(track, name, person, problem)
    _check_magnitudes(track, person, problem)


def _check_rotations(track: Any, name: str, person: int, problem: Problem) -> None:
    rotations = getattr(track, name).astype(np.float64).reshape(len(track.frame), -1, 3, 3)  # (n, J, 3, 3)
    gram = np.einsum("njki,njkl->njil", rotations, rotations) - np.eye(3)
    error = np.maximum(np.abs(gram).max(axis=(2, 3)), np.abs(np.linalg.det(rotations) - 1.0))  # (n, J)
    if (error > ROTATION_TOLERANCE).any():
        row, joint = (int(i) for i in np.argwhere(error > ROTATION_TOLERANCE)[0])
        raise problem(f"person {person}'s {name} of joint {joint} in {_frame_of(track, row)} is not a "
                      f"rotation (off by {error[row, joint]:.3g}; tolerance {ROTATION_TOLERANCE})")


def _check_magnitudes(track: Any, person: int, problem: Problem) -> None:
    depth = track.cam_t[:, 2]
    low, high = DEPTH_RANGE_M
    outside = (depth < low) | (depth > high)
    if outside.any():
        row = _first_bad(outside)
        raise problem(f"person {person}'s depth cam_t z is {float(depth[row]):.4g} m in {_frame_of(track, row)}, "
                      f"outside {low:g}..{high:g} m (in front of the camera)")
    limits = (("cam_t", MAX_OFFSET_M, "m"), ("joints3d", MAX_OFFSET_M, "m"), ("joints2d", MAX_PIXELS, "px"),
              ("bbox_xywh", MAX_PIXELS, "px"), ("betas", MAX_BETA, ""))
    for name, limit, unit in limits:
        values = getattr(track, name)
        if values is None:
            continue
        beyond = np.abs(values) > limit
        if beyond.any():
            row = _first_bad(beyond)
            raise problem(f"person {person}'s {name} reaches {float(np.abs(values[row]).max()):.4g}{unit} in "
                          f"{_frame_of(track, row)}, beyond {limit:g}{unit}")
