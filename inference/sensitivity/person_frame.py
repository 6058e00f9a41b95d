"""The frame and the person the map is made for: `--frame N` of the input and `--bbox` or `--person ID`.

A `--bbox` is boxed as estimate boxes it (the box itself for the landmarks, its square for the crop). A
`--person` id is a track id of estimate's detector and tracker, which number people as the clip runs, so the
frames up to N are tracked to find whose box it is in frame N.
"""
from __future__ import annotations

import numpy as np

from contract.errors import UserError
from ..crop import square_box
from ..frames import FrameRange, open_frames
from ..people.boxes import DetectedPeople, FixedBox
from .occluded_estimates import PersonBox, Progress


def _person_box(box_xywh: np.ndarray, margin: float, turns: int) -> PersonBox:
    box = np.asarray(box_xywh, dtype=np.float64)
    return PersonBox(box, square_box(box, margin), turns)


def frame_and_person(input_path: str, frame: int, bbox_xywh: np.ndarray | None, person: int | None,
                     progress: Progress | None = None) -> tuple[np.ndarray, PersonBox, str]:
    """-> (H, W, 3) uint8 frame, the person's boxes, the source kind ("image", "folder" or "video").

    Without `bbox_xywh` or `person`, the one person the detector finds in the frame (a user error when it
    finds several or nobody)."""
    if frame < 0:
        raise UserError(f"--frame must be 0 or more, got {frame}")
    whole = open_frames(input_path)
    if frame >= whole.total_frames:
        raise UserError(f"--frame {frame}: {whole.path.name} has {whole.total_frames} frame(s), numbered from 0")
    if bbox_xywh is not None:
        people: FixedBox | DetectedPeople = FixedBox(bbox_xywh)
        source = open_frames(input_path, FrameRange(frame, frame + 1))
    else:
        people = DetectedPeople(detect_every=1)  # the chosen frame's own detection, not a prediction
        source = open_frames(input_path, FrameRange(0, frame + 1))
    image, found = None, []
    for index, image in source:
        found = people.boxes(index, image)
        if progress is not None:
            progress("track", index + 1, frame + 1)
    if image is None or index != frame:
        raise UserError(f"Frame {frame} of {whole.path.name} could not be read")
    boxes = {track_id: box for track_id, box, _ in found}
    if person is not None and person not in boxes:
        listed = ", ".join(str(i) for i in sorted(boxes)) or "nobody"
        raise UserError(f"--person {person} is not in frame {frame} (people there: {listed}); pass --bbox X,Y,W,H "
                        "to choose a box by hand")
    if person is None and len(boxes) != 1:
        listed = "; ".join(f"id {i}: box {','.join(f'{v:.0f}' for v in b)}"
                           for i, b in sorted(boxes.items()))
        raise UserError(f"Frame {frame} holds {len(boxes)} people{': ' + listed if listed else ''}. Choose one "
                        "with --person ID or --bbox X,Y,W,H")
    chosen = person if person is not None else next(iter(boxes))
    return image, _person_box(boxes[chosen], people.margin, people.turns(chosen)), whole.kind

