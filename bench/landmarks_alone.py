"""The bundled landmark model's own limb points on a clip: the reference the keypoint fit has to beat.

The keypoint fit turns BlazePose landmarks (pixels and metric "world" 3D points) into a body. Were its limb
joints further from the truth than the landmarks it was given, the fit would be losing accuracy its input
had (what issue 9 found on real footage). This runs the estimate job's own detection, tracking and landmark
measurement (`estimate_job.person_samples`, as `python -m inference estimate` does without a checkpoint) and
keeps, per track, the landmarks that stand for the 12 limb joints. Both name the same anatomical points
(the fit pins its body's shoulders, elbows, wrists, knees and ankles on them; its hips sit 4 cm off), so
`bench_quality.py --landmarks-alone` scores them exactly as it scores an estimate.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from inference.duplicate_tracks import mirror_order, repeated_tracks
from inference.estimate_job import person_samples
from inference.fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES
from inference.frames import open_frames
from inference.people.boxes import DetectedPeople
from inference.people.measures import PersonMeasures
from quality_metrics import LIMB_JOINT_NAMES

LIMB_LANDMARKS = np.array([BLAZEPOSE_LANDMARK_NAMES.index(name) for name in LIMB_JOINT_NAMES])


def landmark_tracks(clip: Path) -> list[dict[str, np.ndarray]]:
    """Per track: `frame` (T,), `joints2d` (T, 12, 2) pixels and `world` (T, 12, 3) metres in the landmark
    model's own frame, the limb landmarks in `LIMB_JOINT_NAMES` order; frames where the model found no body
    in the person's box are left out, and so are the tracks the job would drop (flickers, and repeats of
    another track's body, `duplicate_tracks`)."""
    measured: dict[int, dict[int, dict[str, np.ndarray]]] = defaultdict(dict)
    source = open_frames(clip)
    people = DetectedPeople.for_footage(source.fps)  # as the job
    samples = person_samples(source, people, PersonMeasures(crops=False, landmarks=True))
    for index, track_id, _, sample, _ in samples:
        if sample is not None and np.isfinite(sample["landmarks_world"]).all():
            measured[track_id][index] = sample
    tracks = []
    for track_id in sorted(people.kept_tracks() & set(measured)):  # as the job: flickers dropped
        frames = measured[track_id]
        order = sorted(frames)
        tracks.append({
            "frame": np.array(order),
            "joints2d": np.stack([frames[i]["landmarks_image"][LIMB_LANDMARKS] for i in order]),
            "world": np.stack([frames[i]["landmarks_world"][LIMB_LANDMARKS] for i in order]),
        })
    repeats = repeated_tracks([track["frame"] for track in tracks], [track["joints2d"] for track in tracks],
                              mirror_order(LIMB_JOINT_NAMES))
    return [track for index, track in enumerate(tracks) if index not in repeats]
