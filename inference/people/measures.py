"""What the background thread measures on each person in each frame, before the main thread's network runs.

PARE needs the 224x224 crop of the square box; the keypoint backend (and PARE refinement) needs BlazePose's
33 landmarks from the tight box. Both are cut from the frame while it is in hand, so frames are decoded once.
A person the landmark model does not see gets NaN landmarks with zero confidence; the fit ignores them. A box
the image's bottom edge cuts off is completed to a whole body's proportions first (`roi.completed_box`).
"""
from __future__ import annotations

import numpy as np

from ..crop import crop_person
from ..keypoints.roi import Roi, completed_box, roi_from_box

NUM_LANDMARKS = 33
FOLLOW_GAP_STEPS = 2  # a person unseen for more than this many frame steps is found afresh from their box
PARTIAL_BOX_RATIO = 1.3  # a box whose region is this much smaller than the body's covers only part of it
LANDMARK_KEYS = ("landmarks_image", "landmarks_confidence", "landmarks_world")


class PersonMeasures:
    """`measure(image, tight box xywh, square crop box cxcywh) -> {name: array}` for one person.

    Holds the landmark model, which is not thread-safe: use the instance from one thread only (the producer).
    """

    def __init__(self, crops: bool, landmarks: bool) -> None:
        self.crops = crops
        self.landmark_model = None
        if landmarks:
            from ..keypoints.blazepose_landmarks import LandmarkModel

            self.landmark_model = LandmarkModel.load()
        self._followed: dict[int, tuple[int, Roi | None]] = {}  # track id -> (frame index, region for the next)
        self._step = np.inf  # the smallest frame step seen between a track's measurements (the stride)

    def measure(self, image: np.ndarray, box_xywh: np.ndarray, square_cxcywh: np.ndarray,
                person: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
        """`person`: (track id, source frame index) of a tracked person in a video, whose landmarks then follow
        the body from frame to frame (see `_region`); None for a still or a one-off measurement."""
        out: dict[str, np.ndarray] = {}
        if self.crops:
            out["crop"] = crop_person(image, square_cxcywh)
        if self.landmark_model is not None:
            found = self._landmarks(image, box_xywh, person)
            if found is None:
                out["landmarks_image"] = np.full((NUM_LANDMARKS, 2), np.nan, np.float32)
                out["landmarks_confidence"] = np.zeros(NUM_LANDMARKS, np.float32)
                out["landmarks_world"] = np.full((NUM_LANDMARKS, 3), np.nan, np.float32)
            else:
                out["landmarks_image"] = found.image.astype(np.float32)
                out["landmarks_confidence"] = found.confidence.astype(np.float32)
                out["landmarks_world"] = found.world.astype(np.float32)
        return out

    def _landmarks(self, image: np.ndarray, box_xywh: np.ndarray, person: tuple[int, int] | None):
        tracked = self._region(box_xywh, person)
        found = self.landmark_model.landmarks_in_roi(image, tracked) if tracked is not None else None
        if found is None:  # no region to follow, or the body was lost in it: start again from the box
            found = self.landmark_model.landmarks(image, completed_box(box_xywh, image.shape[0]))
        if person is not None:
            self._followed[person[0]] = (person[1], found.next_roi if found is not None else None)
        return found

    def _region(self, box_xywh: np.ndarray, person: tuple[int, int] | None) -> Roi | None:
        """The region the person's landmarks of the previous frame put their whole body in (MediaPipe's
        tracking region), when the detector box has become much smaller than it (it covers only part of the
        person: backlight, occlusion) but still lies in it: the person then keeps their size, since landmarks
        outside the box keep the region whole. None otherwise: a whole-body box (smoothed by the tracker) is
        steadier than a region re-aimed every frame; a new track, or one unseen for a while, starts from its box."""
        if person is None or person[0] not in self._followed:
            return None
        track, index = person
        last_index, region = self._followed[track]
        step = index - last_index
        if region is None or step <= 0:
            return None
        self._step = min(self._step, step)
        if step > FOLLOW_GAP_STEPS * self._step:
            return None
        x, y, w, h = np.asarray(box_xywh, dtype=np.float64)
        centre = region.rotation_matrix().T @ (np.array([x + w / 2, y + h / 2]) - [region.cx, region.cy])
        partial = region.side > PARTIAL_BOX_RATIO * roi_from_box(box_xywh).side
        return region if partial and np.all(np.abs(centre) <= region.side / 2) else None
