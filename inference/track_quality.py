"""How far to trust a person's estimate, joint by joint and frame by frame, and the per-person report that tells
an animator which frames to clean up.

A joint's confidence (0..1) is what the footage shows of it: 0 when it projects outside the picture (a
waist-up view's knees: posed plausibly by the fit's prior, but not seen), the landmark model's own confidence
in the points that locate it when landmarks were measured (keypoint backend, --refine), and halved on frames
where the detector missed the person and the tracker's predicted box stood in. PARE alone gives no per-joint
certainty, so there a visible joint counts 1. A limb joint drawn far from a landmark the model is sure of
loses confidence too (`landmark_agreement`): the landmark model saw the wrist there and the body put it
elsewhere (in the `near` quality clip the fit keeps a wrist 90-150 px off its landmarks for three frames after
the model lost that arm), which the model's own confidence alone would call trustworthy. Where that lasts
two frames or more, they are flagged for clean-up in the report whatever the rest of the body's confidence.
"""
from __future__ import annotations

import numpy as np

from contract.presence import presence_spans
from contract.skeleton import JOINT_NAMES
from .fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES
from .runs import true_runs
from .keypoints.decode import MIRROR_ORDER

# The BlazePose landmarks that locate each SMPL joint (joints between them: the points around them).
_TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
_LANDMARKS_OF = {
    "pelvis": ("left_hip", "right_hip"), "left_hip": ("left_hip",), "right_hip": ("right_hip",),
    "spine1": _TORSO, "spine2": _TORSO, "spine3": _TORSO,
    "left_knee": ("left_knee",), "right_knee": ("right_knee",),
    "left_ankle": ("left_ankle", "left_heel"), "right_ankle": ("right_ankle", "right_heel"),
    "left_foot": ("left_foot_index",), "right_foot": ("right_foot_index",),
    "neck": ("left_shoulder", "right_shoulder", "nose"), "head": ("nose", "left_ear", "right_ear"),
    "left_collar": ("left_shoulder",), "right_collar": ("right_shoulder",),
    "left_shoulder": ("left_shoulder",), "right_shoulder": ("right_shoulder",),
    "left_elbow": ("left_elbow",), "right_elbow": ("right_elbow",),
    "left_wrist": ("left_wrist",), "right_wrist": ("right_wrist",),
    "left_hand": ("left_index", "left_pinky"), "right_hand": ("right_index", "right_pinky"),
}
# (24, 33) averaging matrix: joint confidence = mean of its landmarks' confidences.
_FROM_LANDMARKS = np.zeros((len(JOINT_NAMES), len(BLAZEPOSE_LANDMARK_NAMES)))
for _joint, _names in _LANDMARKS_OF.items():
    for _name in _names:
        _FROM_LANDMARKS[JOINT_NAMES.index(_joint), BLAZEPOSE_LANDMARK_NAMES.index(_name)] = 1.0 / len(_names)

PREDICTED_BOX_FACTOR = 0.5  # frames estimated at the tracker's predicted box (the detector missed the person)
UNRELIABLE_BELOW = 0.5  # a frame whose joints in the picture average less is flagged for clean-up
REPROJECTION_JOINTS = [JOINT_NAMES.index(name) for name in _LANDMARKS_OF if len(_LANDMARKS_OF[name]) == 1]
# Joints that are landmarks themselves (fitting.landmarks pins them on them), and how far off one may be drawn
# before its confidence falls: a tenth of the body's span in the picture (its joints' larger extent), about
# 45 px on a person 530 px tall. A fitted limb is within a third of that of its landmarks on the quality clips.
AGREEMENT_JOINTS = [JOINT_NAMES.index(f"{side}_{part}") for part in ("shoulder", "elbow", "wrist", "knee", "ankle")
                    for side in ("left", "right")]
AGREEMENT_LANDMARKS = [BLAZEPOSE_LANDMARK_NAMES.index(JOINT_NAMES[j]) for j in AGREEMENT_JOINTS]
# Each one's twin on the other side: a joint on its twin's landmark is a disagreement about which side is which
# (the landmark model swaps sides on side and back views; the fit keeps them steady), not a misplaced limb.
AGREEMENT_TWINS = [int(MIRROR_ORDER[i]) for i in AGREEMENT_LANDMARKS]
AGREEMENT_TOLERANCE = 0.1
FAR_OFF_BELOW = 0.25  # agreement under this (a joint more than twice the tolerance off) flags its frame
SURE_LANDMARK = 0.5  # landmark confidence from which the model is taken at its word


def landmark_agreement(joints2d: np.ndarray, landmarks_image: np.ndarray, landmarks_confidence: np.ndarray
                       ) -> np.ndarray:
    """joints2d (n, 24, 2), landmarks_image (n, 33, 2) pixels, landmarks_confidence (n, 33) -> (n, 24) in 0..1:
    min(1, (tolerance / miss)^2) for the `AGREEMENT_JOINTS` whose landmark is sure (> `SURE_LANDMARK`), 1
    elsewhere; miss = the distance to the joint's landmark or to its twin's, whichever is less; tolerance =
    `AGREEMENT_TOLERANCE` x the body's span in the picture."""
    agreement = np.ones(joints2d.shape[:2])
    span = np.ptp(joints2d, axis=1).max(axis=1)  # (n,)
    joints = joints2d[:, AGREEMENT_JOINTS]
    miss = np.fmin(np.linalg.norm(joints - landmarks_image[:, AGREEMENT_LANDMARKS], axis=-1),
                   np.linalg.norm(joints - landmarks_image[:, AGREEMENT_TWINS], axis=-1))
    sure = np.nan_to_num(landmarks_confidence[:, AGREEMENT_LANDMARKS]) > SURE_LANDMARK
    sure &= np.isfinite(miss)
    tolerance = AGREEMENT_TOLERANCE * span[:, None]
    ratio = np.divide(tolerance, miss, out=np.full_like(miss, np.inf), where=sure & (miss > 0))
    agreement[:, AGREEMENT_JOINTS] = np.minimum(1.0, ratio) ** 2
    return agreement


def joint_confidence(joints2d: np.ndarray, image_size: tuple[int, int], landmarks_confidence: np.ndarray | None,
                     detected: np.ndarray | None, landmarks_image: np.ndarray | None = None) -> np.ndarray:
    """joints2d (n, 24, 2) pixels; landmarks_confidence (n, 33) or None; detected (n,) bool or None;
    landmarks_image (n, 33, 2) pixels or None -> (n, 24) float32 confidence in 0..1 (see the module doc)."""
    width, height = image_size
    x, y = joints2d[..., 0], joints2d[..., 1]
    confidence = ((x >= 0) & (x < width) & (y >= 0) & (y < height)).astype(np.float64)
    if landmarks_confidence is not None:
        confidence *= np.clip(np.nan_to_num(landmarks_confidence) @ _FROM_LANDMARKS.T, 0.0, 1.0)
        if landmarks_image is not None:
            confidence *= landmark_agreement(joints2d, landmarks_image, landmarks_confidence)
    if detected is not None:
        confidence *= np.where(np.asarray(detected, bool), 1.0, PREDICTED_BOX_FACTOR)[:, None]
    return confidence.astype(np.float32)


def lasting(far_off: np.ndarray) -> np.ndarray:
    """(n,) flags of a track's frames -> those with a flagged neighbouring frame of the track too. A limb off a
    sure landmark for one frame is as often the landmark model's glitch, which the fit rightly smoothed over
    (the `dance` quality clip: four single frames where the model folded outstretched arms, the fit within 20
    px of the truth), as the fit's miss; a miss that lasts is the fit not following what the model sees."""
    before = np.concatenate([[False], far_off[:-1]])
    after = np.concatenate([far_off[1:], [False]])
    return far_off & (before | after)


def flagged_ranges(frames: np.ndarray, flagged: np.ndarray) -> list[list[int]]:
    """A track's frames (n,) and a flag per frame (n,) -> [[first, last], ...] source frames of each run of
    flagged frames that follow each other in the track (whatever its stride)."""
    return [[int(frames[start]), int(frames[stop - 1])] for start, stop in true_runs(flagged)]


def jitter_mm(frames: np.ndarray, joints3d: np.ndarray) -> float | None:
    """Mean jerk (third difference) of the pelvis-relative joints in mm per frame^3, over runs of consecutive
    frames: how much the motion shakes. None with fewer than four consecutive frames."""
    relative = joints3d - joints3d[:, :1]
    consecutive = np.diff(frames) == 1
    runs = consecutive[:-2] & consecutive[1:-1] & consecutive[2:]
    if not runs.any():
        return None
    jerk = np.diff(relative, n=3, axis=0)[runs]
    return float(np.linalg.norm(jerk, axis=-1).mean() * 1000.0)


def reprojection_px(joints2d: np.ndarray, landmarks_image: np.ndarray | None,
                    landmarks_confidence: np.ndarray | None) -> float | None:
    """Mean distance (px) between the body's limb joints and the landmarks that locate them, over confident
    landmarks (> 0.5); None without landmarks."""
    if landmarks_image is None or landmarks_confidence is None:
        return None
    targets = np.einsum("jl,nlc->njc", _FROM_LANDMARKS, np.nan_to_num(landmarks_image))[:, REPROJECTION_JOINTS]
    trusted = (np.nan_to_num(landmarks_confidence) @ _FROM_LANDMARKS.T)[:, REPROJECTION_JOINTS] > 0.5
    if not trusted.any():
        return None
    return float(np.linalg.norm(joints2d[:, REPROJECTION_JOINTS] - targets, axis=-1)[trusted].mean())


def person_report(track_id: int, frames: np.ndarray, joints3d: np.ndarray, joints2d: np.ndarray,
                  confidence: np.ndarray, landmarks_image: np.ndarray | None,
                  landmarks_confidence: np.ndarray | None) -> dict:
    """The per-person report stored in the result's meta (`quality`) and shown in the panel after a run."""
    seen = confidence > 0  # joints in the picture: a waist-up view's unseen legs do not flag every frame
    trust = np.where(seen.any(axis=1), (confidence * seen).sum(axis=1) / np.maximum(seen.sum(axis=1), 1), 0.0)
    flagged = trust < UNRELIABLE_BELOW
    if landmarks_image is not None and landmarks_confidence is not None:
        flagged |= lasting((landmark_agreement(joints2d, landmarks_image, landmarks_confidence)
                            < FAR_OFF_BELOW).any(axis=1))
    unreliable = flagged_ranges(frames, flagged)
    error = reprojection_px(joints2d, landmarks_image, landmarks_confidence)
    jitter = jitter_mm(frames, joints3d)
    return {"track": int(track_id), "frames": int(len(frames)),
            "present": [list(span) for span in presence_spans(frames)],
            "reprojection_px": None if error is None else round(error, 2),
            "jitter_mm": None if jitter is None else round(jitter, 2),
            "unreliable": unreliable}
