"""Where to look for each tracked person's landmarks next: MediaPipe's tracking region, moved on with the body.

The landmark model was trained on crops centred on the hips and as large as the circle around the body: the
region its own landmarks give for the next frame (`Landmarks.next_roi`). A crop centred on a detector box's
middle is not that crop. Measured on the quality bench (bench/README.md, keypoint fit, PA-MPJPE of the limbs,
box crops -> regions): spinning kick 129 -> 98 mm, jump 70 -> 65, pirouettes 123 -> 118 with the track no
longer broken (coverage 89 -> 100 %), walk 50 -> 53. The region is moved on by its velocity over the last step
(the tracker's constant-velocity filter at gain 1); smoothing it (gain 0.5 on all of it, or 0.3-0.5 on its size
and turn alone) lagged the pirouettes (130-180 mm) and gained nothing elsewhere.
"""
from __future__ import annotations

import numpy as np

from ..keypoints.roi import Roi, roi_from_box
from .tracking import ConstantVelocityFilter

FOLLOW_GAP_STEPS = 2  # a person unseen for more than this many frame steps is found afresh from their box
COLLAPSED_REGION_RATIO = 1.3  # a region this much smaller than the box's holds only part of the body
REGION_GAIN = 1.0  # position gain of the region filter: each frame's region as found, moved on at its velocity


def _state(region: Roi) -> np.ndarray:
    """(4,) centre x, y in pixels, log side, rotation in radians."""
    return np.array([region.cx, region.cy, np.log(region.side), region.rotation])


class LandmarkRegions:
    """Per track: the region the landmarks last found put the body in, and whether to use it for the next frame."""

    def __init__(self) -> None:
        self._filters: dict[int, ConstantVelocityFilter | None] = {}
        self._read_turned: set[int] = set()  # tracks whose region started from a body read turned (`found`)
        self._step = np.inf  # the smallest frame step seen between a track's measurements (the stride)

    def region(self, track: int, frame: int, box_xywh: np.ndarray) -> Roi | None:
        """The region to look in at `frame`, or None to start from the box: for a new track, one unseen for more
        than FOLLOW_GAP_STEPS steps, one whose box has left the region (a tracker switch), a region that
        has shrunk well below the box's (landmarks collapsed onto part of the body), or one turned upside down
        round a box taller than wide: the landmarks of a spin, wrong for a frame, turn the region, which then
        turns on at its velocity and feeds the model rotated crops it answers worse (the `turn` quality clip's
        pirouettes: regions at -130 to -170 degrees round an upright dancer for ten to twenty frames, limbs
        300 mm off), unless the track's region started from a body read turned (`found`): a person upside down,
        read from the box afresh each frame, was read upright as soon as that filled the box about as well (the
        `dance` clip turned upside down: from frame 13 on, limbs 270 mm off; 67 mm followed). A region
        larger than the box is kept: it keeps a person's size when the detector box shrinks to part of them
        (backlight, occlusion), since landmarks outside the box keep it whole."""
        motion = self._filters.get(track)
        if motion is None or frame <= motion.frame:
            return None
        step = frame - motion.frame
        self._step = min(self._step, step)
        if step > FOLLOW_GAP_STEPS * self._step:
            return None
        cx, cy, log_side, rotation = motion.predict(frame)
        region = Roi(float(cx), float(cy), float(np.exp(log_side)), float(rotation))
        x, y, w, h = np.asarray(box_xywh, dtype=np.float64)
        centre = region.rotation_matrix().T @ (np.array([x + w / 2, y + h / 2]) - [region.cx, region.cy])
        collapsed = region.side * COLLAPSED_REGION_RATIO < roi_from_box(box_xywh).side
        upside_down = h > w and np.cos(region.rotation) < 0.0 and track not in self._read_turned
        return None if collapsed or upside_down or np.any(np.abs(centre) > region.side / 2) else region

    def found(self, track: int, frame: int, next_region: Roi | None, continued: bool,
              read_turned: bool = False) -> None:
        """The landmarks of `frame` put the body in `next_region` (None: not seen). `continued`: they were
        looked for in this track's region, so the filter goes on; otherwise it starts again, from a body read
        in a turned region when `read_turned` (`measures._turned_if_better` chose it over the upright read: a
        person lying down, upside down or filmed so), whose region is then followed however it turns."""
        if next_region is None:
            self._filters[track] = None
            return
        state = _state(next_region)
        motion = self._filters.get(track)
        if motion is None or not continued:
            self._filters[track] = ConstantVelocityFilter(state, frame, REGION_GAIN)
            if read_turned:
                self._read_turned.add(track)
            else:
                self._read_turned.discard(track)
            return
        previous = motion.predict(frame)[3]
        state[3] = previous + (state[3] - previous + np.pi) % (2 * np.pi) - np.pi  # no jump across +-pi
        motion.update(state, frame)
