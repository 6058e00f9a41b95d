"""Each occluded image through the estimator, by the same steps `python -m inference estimate --bbox` takes.

For a crop network (PARE, SPIN, EFT, DSR): the crop of the painted image (`PersonMeasures`, as estimate cuts
it), the network on batches of crops, then the per-frame track (`pare_track` without smoothing or
refinement, as estimate finishes a single image). For the keypoint backend: BlazePose's landmarks in the
painted image, then one landmark fit per position (`landmark_track` on that one frame, no temporal term),
because the fit of several frames at once shares its stopping rule and would not reproduce a lone image's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from contract.result_file import PersonTrack
from contract.skeleton import NUM_JOINTS
from ..crop_estimator import CropEstimator
from ..finalize import Geometry, RawTrack, landmark_track, pare_track
from ..people.measures import PersonMeasures
from .occluder import OccluderGrid, painted_images

Progress = Callable[[str, int, int], None]
NETWORK_OUTPUTS = ("pose_rotmat", "betas", "crop_cam")
"""What the joints are made of; the part maps (300 KB a position) are not kept."""


class NobodyFound(Exception):
    """The estimator found nobody in the unoccluded image, so there is nothing to compare against."""


@dataclass(frozen=True)
class PersonBox:
    """One person in the frame, as estimate boxes them: the tight box (the landmark model's) and the square
    crop box made from it (the network's)."""

    box_xywh: np.ndarray  # (4,) x, y, w, h
    square_cxcywh: np.ndarray  # (4,) cx, cy, side, side
    turns: int = 0  # quarter turns clockwise that stand the person upright (the detector's): the crop's turn

    @property
    def square_xywh(self) -> np.ndarray:
        """(4,) the crop box as x, y, w, h (what a result file stores as `bbox_xywh`)."""
        cx, cy, w, h = self.square_cxcywh
        return np.array([cx - w / 2, cy - h / 2, w, h], dtype=np.float64)


@dataclass
class PositionEstimates:
    """The unoccluded estimate and every position's joints."""

    reference: PersonTrack  # one frame: the estimate of the unpainted image
    joints3d: np.ndarray  # (P, 24, 3) float32 camera-frame joints per position; NaN where nobody was found


def estimate_positions(estimator: CropEstimator, image_rgb: np.ndarray, person: PersonBox, grid: OccluderGrid,
                       geometry: Geometry, batch_size: int, progress: Progress | None = None) -> PositionEstimates:
    """The estimate of the unpainted image, then of the image painted at each position of `grid`.

    Raises NobodyFound when the estimator finds nobody in the unpainted image (the caller words it for users).
    """
    measures = PersonMeasures(crops=estimator.network is not None, landmarks=estimator.network is None)
    images = _with_unpainted_first(image_rgb, grid)
    samples = (measures.measure(image, person.box_xywh, person.square_cxcywh, turns=person.turns) for image in images)
    if estimator.network is None:
        tracks = _landmark_tracks(estimator, samples, person, geometry, progress, len(grid) + 1)
    else:
        tracks = _network_tracks(estimator, samples, person, geometry, batch_size, progress, len(grid) + 1)
    reference, positions = tracks[0], tracks[1:]
    if reference is None:
        raise NobodyFound()
    lost = np.full((NUM_JOINTS, 3), np.nan, dtype=np.float32)
    joints = np.stack([lost if track is None else track.joints3d[0] for track in positions])
    return PositionEstimates(reference, joints)


def _with_unpainted_first(image_rgb: np.ndarray, grid: OccluderGrid) -> Iterator[np.ndarray]:
    yield image_rgb
    yield from painted_images(image_rgb, grid)


def _row(track: PersonTrack, row: int) -> PersonTrack:
    """Row `row` of a track, as a one-frame track."""
    return PersonTrack(**{name: None if value is None else value[row:row + 1]
                          for name, value in vars(track).items()})


def _network_tracks(estimator: CropEstimator, samples: Iterator[dict[str, np.ndarray]], person: PersonBox,
                    geometry: Geometry, batch_size: int, progress: Progress | None, total: int) -> list[PersonTrack]:
    """Crops in batches of `batch_size` through the network; one track row per image, in order."""
    outputs: dict[str, list[np.ndarray]] = {name: [] for name in NETWORK_OUTPUTS}
    pending: list[np.ndarray] = []
    done = 0

    def flush() -> None:
        nonlocal done
        out = estimator.run(np.stack(pending), np.full(len(pending), person.turns))
        for name in NETWORK_OUTPUTS:
            outputs[name].append(out[name])
        done += len(pending)
        pending.clear()
        if progress is not None:
            progress("sensitivity", done, total)

    for sample in samples:
        pending.append(sample["crop"])
        if len(pending) == batch_size:
            flush()
    if pending:
        flush()
    columns = {name: np.concatenate(parts) for name, parts in outputs.items()}
    rows = len(columns["betas"])
    raw = RawTrack(frame=np.arange(rows, dtype=np.int64), box_xywh=np.repeat(person.square_xywh[None], rows, 0),
                   **columns)
    track, _ = pare_track(raw, estimator, geometry, smoothing=None, refine=False, video=False)
    return [_row(track, row) for row in range(rows)]


def _landmark_tracks(estimator: CropEstimator, samples: Iterator[dict[str, np.ndarray]], person: PersonBox,
                     geometry: Geometry, progress: Progress | None, total: int) -> list[PersonTrack | None]:
    """One landmark fit per image, each alone as estimate fits a still; None where nobody was found."""
    tracks = []
    for done, sample in enumerate(samples, start=1):
        raw = RawTrack(frame=np.zeros(1, dtype=np.int64), box_xywh=person.square_xywh[None],
                       **{name: value[None] for name, value in sample.items()})
        tracks.append(landmark_track(raw, estimator, geometry, video=False))
        if progress is not None:
            progress("sensitivity", done, total)
    return tracks


def body_vertices(estimator: CropEstimator, track: PersonTrack) -> tuple[np.ndarray, np.ndarray]:
    """The first frame's posed body in the camera frame: vertices (V, 3) float64 (body + cam_t) and the
    triangles (F, 3) int64 of the body model."""
    with torch.inference_mode():
        pose = torch.from_numpy(np.ascontiguousarray(track.pose_rotmat[:1])).to(estimator.device)
        betas = torch.from_numpy(np.ascontiguousarray(track.betas[:1])).to(estimator.device)
        vertices = estimator.body(pose.float(), betas.float()).vertices[0].cpu().numpy().astype(np.float64)
    faces = estimator.body.faces.cpu().numpy().astype(np.int64)
    return vertices + track.cam_t[0].astype(np.float64), faces
