"""Read a DeepMimic motion-capture clip (the `humanoid3d_*.txt` files shipped in `motions/`) and resample it.

A clip is JSON: `{"Loop": "wrap"|"none", "Frames": [[duration, 43 numbers], ...]}`. Each frame holds the
root's world position (metres, y up), the root's world rotation and every joint's rotation relative to its
parent as unit quaternions (w, x, y, z), and one angle (radians, about the joint's +z axis) for the knees and
elbows, which are hinges. The character's own frame: +x forward, +y up, +z to its right.

We resample to the video's frame rate here (slerp for rotations, linear for positions and hinge angles) and
continue a looping ("wrap") clip past its end by shifting each further cycle by the horizontal distance one
cycle travels, the way the clips are meant to be played: a walk of 1.3 s becomes a walk of any length.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

# Layout of one frame after its duration: name -> (first column, width); 4 = quaternion, 1 = hinge angle.
FRAME_LAYOUT: dict[str, tuple[int, int]] = {
    "root_position": (1, 3), "root": (4, 4), "chest": (8, 4), "neck": (12, 4),
    "right_hip": (16, 4), "right_knee": (20, 1), "right_ankle": (21, 4), "right_shoulder": (25, 4),
    "right_elbow": (29, 1), "left_hip": (30, 4), "left_knee": (34, 1), "left_ankle": (35, 4),
    "left_shoulder": (39, 4), "left_elbow": (43, 1),
}
FRAME_WIDTH = 44
SPHERICAL_JOINTS = tuple(name for name, (_, width) in FRAME_LAYOUT.items() if width == 4)
HINGE_JOINTS = tuple(name for name, (_, width) in FRAME_LAYOUT.items() if width == 1)


@dataclass(frozen=True)
class MotionClip:
    """A clip resampled to a fixed rate. Rotations are in the character's frame (+x forward, +y up)."""
    root_position: np.ndarray  # (T, 3) metres, world, y up
    rotations: dict[str, Rotation]  # spherical joint -> T rotations ("root" is global, the others local)
    hinges: dict[str, np.ndarray]  # hinge joint -> (T,) radians about the joint's +z

    @property
    def frame_count(self) -> int:
        return len(self.root_position)


def _quaternions(frames: np.ndarray, name: str) -> Rotation:
    first, _ = FRAME_LAYOUT[name]
    wxyz = frames[:, first:first + 4]
    return Rotation.from_quat(wxyz[:, [1, 2, 3, 0]])  # scipy wants (x, y, z, w)


def read_motion(path: Path) -> tuple[np.ndarray, np.ndarray, bool]:
    """(frames (K, 44), key times (K,) in seconds from 0, loops) of a DeepMimic clip file."""
    data = json.loads(Path(path).read_text())
    frames = np.asarray(data["Frames"], dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != FRAME_WIDTH:
        raise ValueError(f"{path}: expected frames of {FRAME_WIDTH} numbers, got shape {frames.shape}")
    times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
    return frames, times, data.get("Loop") == "wrap"


def resample(path: Path, fps: float, frame_count: int, start_s: float = 0.0) -> MotionClip:
    """`frame_count` frames at `fps` from `start_s` seconds into the clip, looping it if it says it loops."""
    frames, times, loops = read_motion(path)
    period = times[-1]
    wanted = start_s + np.arange(frame_count) / fps
    if not loops and wanted[-1] > period + 1e-9:
        raise ValueError(f"{path.name} lasts {period:.2f} s, shorter than the {wanted[-1]:.2f} s asked for")
    cycle, phase = np.divmod(wanted, period) if loops else (np.zeros_like(wanted), wanted)
    phase = np.clip(phase, 0.0, period)

    root = frames[:, 1:4]
    stride = root[-1] - root[0]
    stride[1] = 0.0  # each further cycle moves on horizontally; the height repeats
    root_position = np.stack([np.interp(phase, times, root[:, axis]) for axis in range(3)], axis=1)
    root_position += cycle[:, None] * stride
    rotations = {name: Slerp(times, _quaternions(frames, name))(phase) for name in SPHERICAL_JOINTS}
    hinges = {name: np.interp(phase, times, frames[:, FRAME_LAYOUT[name][0]]) for name in HINGE_JOINTS}
    return MotionClip(root_position=root_position, rotations=rotations, hinges=hinges)
