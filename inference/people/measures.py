"""What the background thread measures on each person in each frame, before the main thread's network runs.

PARE needs the 224x224 crop of the square box; the keypoint backend (and PARE refinement) needs BlazePose's
33 landmarks from the tight box. Both are cut from the frame while it is in hand, so frames are decoded once.
A person the landmark model does not see gets NaN landmarks with zero confidence; the fit ignores them. A box
the image's bottom edge cuts off is completed to a whole body's proportions first (`roi.completed_box`), and so
is a box the body found in seems squeezed into (`roi.squeezed_into_box`).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..crop import crop_person
from ..fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES, NUM_LANDMARKS
from ..keypoints.roi import completed_box, roi_from_box, squeezed_into_box, standing_box, torso_length
from .tiles import overlap_matrix
from .landmark_regions import LandmarkRegions

NOSE = BLAZEPOSE_LANDMARK_NAMES.index("nose")
#: A body read upright that fills less than `FITS_BOX` of its person's box (`box_fit`) is read again turned;
#: a turned read replaces it when it fills the box by `TURN_MARGIN` more (docs/detection.md, "Turned people").
FITS_BOX = 0.7
TURN_MARGIN = 0.1
LANDMARK_KEYS = ("landmarks_image", "landmarks_confidence", "landmarks_world")


def box_fit(points_xy: np.ndarray, box_xywh: np.ndarray, image_hw: tuple[int, int]) -> float:
    """(33, 2) a body's landmarks in image pixels, (4,) its person box -> IoU of the landmarks' extent (cut to
    the image, as the detector's box is) with the box: how well the body read fills the person found. Read in a
    region turned the wrong way round (a person lying down or upside down in an upright crop), the landmark
    model draws an upright body into the region's middle, filling little of the box; read the right way up, it
    spans the box."""
    height, width = image_hw
    points = np.clip(np.asarray(points_xy, dtype=np.float64), 0.0, [width, height])
    low, high = points.min(axis=0), points.max(axis=0)
    extent = np.concatenate([low, high - low])[None]
    return float(overlap_matrix(extent, np.asarray(box_xywh, dtype=np.float64)[None])[0][0, 0])


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
        self._regions = LandmarkRegions()

    def measure(self, image: np.ndarray, box_xywh: np.ndarray, square_cxcywh: np.ndarray,
                person: tuple[int, int] | None = None, turns: int = 0) -> dict[str, np.ndarray]:
        """`person`: (track id, source frame index) of a tracked person in a video, whose landmarks then follow
        the body from frame to frame (`landmark_regions`); None for a still or a one-off measurement. `turns`:
        quarter turns clockwise that stand the person upright (the detector's), by which the network's crop is
        turned (`turned_crops`; its outputs are turned back after the network, `crop_turns` says how)."""
        out: dict[str, np.ndarray] = {}
        if self.crops:
            out["crop"] = crop_person(image, square_cxcywh, turns=turns)
            out["crop_turns"] = np.asarray(turns, np.int64)
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
        tracked = None if person is None else self._regions.region(*person, box_xywh)
        found = self.landmark_model.landmarks_in_roi(image, tracked) if tracked is not None else None
        if found is None:  # no region to follow, or the body was lost in it: start again from the box
            found = self._landmarks_in_box(image, box_xywh)
        if person is not None:
            continued = found is not None and found.roi == tracked
            # A read from the box is upright unless `_turned_if_better` took one in the box's region turned.
            turned = found is not None and not continued and found.roi.rotation != 0.0
            self._regions.found(*person, None if found is None else found.next_roi, continued, read_turned=turned)
        return found

    def _landmarks_in_box(self, image: np.ndarray, box_xywh: np.ndarray):
        """The body read upright in the box (`_upright_in_box`), or turned where that fills the box poorly."""
        return self._turned_if_better(image, box_xywh, self._upright_in_box(image, box_xywh))

    def _upright_in_box(self, image: np.ndarray, box_xywh: np.ndarray):
        """From the box completed to a whole body when the frame's bottom edge cuts it off (`completed_box`),
        and if the model sees nobody there, from the box as it is: a box drawn to the edge may hold a whole,
        crouching or occluded person. Where the body found seems squeezed into part of the person
        (`roi.squeezed_into_box`: legs hidden by something in front, the model fitting a whole small body into
        head and shoulders), again from the box extended to a standing body, whose upper part the box then
        holds: with no floor on the model's pose presence (someone is known to be there; on the `ascent` man it
        scores 0.04-0.15 while every trunk landmark is sure), taken when its head is in the box and its torso
        longer (the squeezed body's is the short one)."""
        completed = completed_box(box_xywh, image.shape[0])
        found = self.landmark_model.landmarks(image, completed)
        if found is None and not np.array_equal(completed, box_xywh):
            found = self.landmark_model.landmarks(image, box_xywh)
        standing = standing_box(box_xywh)
        if found is None or np.array_equal(standing, completed) or not squeezed_into_box(
                found.image, found.confidence, box_xywh):
            return found
        again = self.landmark_model.landmarks(image, standing, min_score=0.0)
        if again is None:
            return found
        x, y, w, h = box_xywh
        nose_x, nose_y = again.image[NOSE]
        head_in_box = x <= nose_x <= x + w and y <= nose_y <= y + h
        return again if head_in_box and torso_length(again.image) > torso_length(found.image) else found

    def _turned_if_better(self, image: np.ndarray, box_xywh: np.ndarray, found):
        """`found` (landmarks or None), or, where it fills the person's box poorly (a person lying down or upside
        down, read as an upright body), the body read in the box's region turned by a quarter, a half or three
        quarters that fills the box best, by `TURN_MARGIN` more. Its region turned that way is where the
        landmarks are followed next (`landmark_regions`)."""
        hw = image.shape[:2]
        fit = -1.0 if found is None else box_fit(found.image, box_xywh, hw)
        if fit >= FITS_BOX:
            return found
        upright = roi_from_box(box_xywh)
        best, best_fit = found, fit + TURN_MARGIN
        for turn in (1, 2, 3):
            again = self.landmark_model.landmarks_in_roi(image, replace(upright, rotation=turn * np.pi / 2))
            if again is not None and (again_fit := box_fit(again.image, box_xywh, hw)) > best_fit:
                best, best_fit = again, again_fit
        return best
