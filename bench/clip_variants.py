"""Variants of a quality clip with its truth changed to match: cut below the knees, its lens mistaken, turned
by quarters. Each returns what the estimate is run on and what it is scored against (`bench_quality.py`)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from contract.skeleton import JOINT_NAMES


def rewrite_clip(clip: Path, target: Path, change: Callable[[np.ndarray], np.ndarray], codec: str = "mp4v") -> Path:
    """The clip with `change` applied to every (BGR) frame, written to `target` at the clip's frame rate."""
    import cv2

    capture = cv2.VideoCapture(str(clip))
    writer = None
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        changed = np.ascontiguousarray(change(frame))
        if writer is None:
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*codec), capture.get(cv2.CAP_PROP_FPS),
                                     (changed.shape[1], changed.shape[0]))
        writer.write(changed)
    if writer is not None:
        writer.release()
    return target


def cut_below(clip: Path, keep_rows: int, target: Path) -> Path:
    """The clip with every row from `keep_rows` down cut off, written to `target` (mp4v, same frame rate)."""
    return rewrite_clip(clip, target, lambda frame: frame[:keep_rows])


def cut_at_knees(clip: Path, truth: dict, scratch: Path) -> tuple[Path, dict]:
    """The clip with the rows below its knees' median height cut off (shins and feet leave the picture in
    about half the frames, as in close framing), and its truth cut to match (image height, masks). The
    result's principal point is the cut frame's centre, a few degrees off the camera's: PA figures do not
    mind; RA and abs ones carry that tilt."""
    knees = [JOINT_NAMES.index("left_knee"), JOINT_NAMES.index("right_knee")]
    keep = int(round(float(np.median(truth["joints_2d"][:, knees, 1]))))
    target = cut_below(clip, keep, scratch / f"{clip.stem}_cut.mp4")
    meta = {**truth["meta"], "clip": f"{truth['meta']['clip']} cut", "image_height": keep}
    return target, {**truth, "meta": meta, "mask": truth["mask"][:, :keep]}


def turned_pixels(points: np.ndarray, quarters: int, image_hw: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """(..., 2) pixels of a picture of (height, width) `image_hw` -> where they are once the picture is turned
    `quarters` quarter turns clockwise, and its (height, width) then: each quarter maps (u, v) to (height - v, u)."""
    points, (height, width) = np.asarray(points, dtype=np.float64), image_hw
    for _ in range(quarters % 4):
        points = np.stack([height - points[..., 1], points[..., 0]], axis=-1)
        height, width = width, height
    return points, (height, width)


def turned_truth(truth: dict, degrees: int) -> dict:
    """A clip's truth for the clip turned clockwise by `degrees` (a multiple of 90): its pixels turned
    (`turned_pixels`) and each camera-frame point (x, y, z) taken to (-y, x, z) a quarter, the camera rolled
    about its axis; the world, and so the body's motion in it, stays as it was."""
    quarters = degrees // 90 % 4
    roll = np.linalg.matrix_power(np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), quarters)
    points, (height, width) = turned_pixels(truth["joints_2d"], quarters,
                                            (truth["meta"]["image_height"], truth["meta"]["image_width"]))
    meta = {**truth["meta"], "clip": f"{truth['meta']['clip']} turned {degrees}", "image_width": width,
            "image_height": height}
    return {**truth, "meta": meta, "joints_2d": points, "joints_camera": truth["joints_camera"] @ roll.T,
            "mask": np.rot90(truth["mask"], -quarters, (1, 2)), "camera_rotation": roll @ truth["camera_rotation"],
            "camera_translation": truth["camera_translation"] @ roll.T}


def turned(clip: Path, truth: dict, degrees: int, scratch: Path) -> tuple[Path, dict]:
    """The clip turned clockwise by `degrees` (people lying down or upside down, or footage filmed sideways
    with no rotation mark) and its truth turned to match (`turned_truth`)."""
    target = rewrite_clip(clip, scratch / f"{clip.stem}_turned{degrees}.avi",
                          lambda frame: np.rot90(frame, -(degrees // 90)), codec="MJPG")
    return target, turned_truth(truth, degrees)


def with_lens_error(truth: dict, factor: float) -> dict:
    """The clip as if its lens were unknown: the estimate is given the focal length times `factor`, while the
    truth keeps the real one (PA and px figures show what the pose loses, abs the misplaced depth)."""
    meta = {**truth["meta"], "clip": f"{truth['meta']['clip']} lens x{factor:g}",
            "assumed_focal_length_px": factor * truth["meta"]["focal_length_px"]}
    return {**truth, "meta": meta}
