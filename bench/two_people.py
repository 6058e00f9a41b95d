"""Pose2Sim's two-person take (`bench/multiview_data/two_people/`): what can be checked without a 3D reference.

Each view shows the same two people (a bystander too in cameras 1 and 2) for all 100 frames, so a view should
give one body per person over the whole take and no frame where two bodies stand on one person: the faults
this take showed were a fourth body on the woman (a box round her head and hands) and the man's body put on
her while he passed in front of her. `doubled` counts the frames where two of the result's bodies lie on each
other in the picture (mean joint distance under 8 % of the larger body's size, left and right either way).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bench_quality import markdown_table
from inference.duplicate_tracks import mean_miss

TAKE = Path(__file__).resolve().parent / "multiview_data" / "two_people"
PEOPLE = {1: 3, 2: 3, 3: 2, 4: 2}  # people in each camera's view, the bystander included
SAME_BODY_SHARE = 0.08
COLUMNS = ("estimator", "view", "people", "bodies", "body frames", "doubled", "s")


def doubled_frames(bodies: list[dict[str, np.ndarray]], mirror: np.ndarray) -> int:
    """Frames in which two of the bodies (frame (n,), joints2d (n, J, 2)) lie on one another."""
    doubled: set[int] = set()
    for first in range(len(bodies)):
        for second in range(first + 1, len(bodies)):
            a, b = bodies[first], bodies[second]
            shared, rows, other_rows = np.intersect1d(a["frame"], b["frame"], return_indices=True)
            joints, other = a["joints2d"][rows], b["joints2d"][other_rows]
            size = np.maximum(np.linalg.norm(np.ptp(joints, axis=1), axis=-1),
                              np.linalg.norm(np.ptp(other, axis=1), axis=-1))
            doubled.update(shared[mean_miss(joints, other, mirror) < SAME_BODY_SHARE * size].tolist())
    return len(doubled)


def figures(bodies: list[dict[str, np.ndarray]], camera: int, mirror: np.ndarray, seconds: float
            ) -> dict[str, object]:
    return {"people": PEOPLE[camera], "bodies": len(bodies),
            "body frames": " / ".join(str(n) for n in sorted((len(b["frame"]) for b in bodies), reverse=True)),
            "doubled": doubled_frames(bodies, mirror), "s": f"{seconds:.0f}"}


def table(rows: list[tuple[str, str, dict[str, object]]]) -> str:
    return markdown_table(COLUMNS, rows, lambda values, column: str(values[column]))
