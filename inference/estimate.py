"""The estimate job: frames -> person crops -> PARE -> SMPL -> full-image camera -> result file.

This is the one place that wires the pieces together; each step lives in its own module. The job either
writes a complete result file or nothing (the writer is atomic), so a cancel or an error never leaves a
half-written output behind.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from .body_model import SMPLBody
from .camera import crop_cam_to_camera_translation, default_focal_length, project_points
from .checkpoint import load_model
from .crop import crop_person, normalize_crops, square_box
from .errors import UserError
from .frames import FrameRange, FrameSource, open_frames
from .models.fusion import prepare_for_inference
from .models.rotation import rotmat_to_axis_angle
from .result_file import PersonTrack, write_result
from .smpl_file import read_smpl_model

log = logging.getLogger(__name__)

MAP_KEYS = ("part_attention", "part_segmentation")
"""Per-frame 56x56 maps; kept as float16 from the start, as the result file stores them, to bound memory."""

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as work advances; the CLI turns it into text or JSON lines."""


class Cancelled(Exception):
    """The caller asked the job to stop; nothing is written."""


def pick_device(name: str) -> torch.device:
    """`auto` takes the GPU when torch sees one; asking for `cuda` without one is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but PyTorch sees no CUDA GPU here; use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise UserError(f"--device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
"""Network precision: fp32 reproduces the official outputs; bf16 / fp16 run the convolutions under autocast
(bf16 is fast on CPUs with AVX-512 BF16 / AMX; fp16 is for GPUs). The SMPL body always runs in float32."""


@dataclass
class Estimator:
    """A loaded network and body model on one device: crops in, SMPL parameters and geometry out."""

    arch: str
    network: torch.nn.Module
    body: SMPLBody
    device: torch.device
    precision: str = "fp32"

    @classmethod
    def load(cls, checkpoint: str | Path, smpl: str | Path, device: torch.device,
             precision: str = "fp32") -> "Estimator":
        if precision not in PRECISIONS:
            raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        if precision == "fp16" and device.type == "cpu":
            raise UserError("--precision fp16 is for GPUs; on the CPU use bf16 (or fp32)")
        arch, network = load_model(checkpoint, device)
        body = SMPLBody(read_smpl_model(smpl)).to(device).eval()
        return cls(arch, prepare_for_inference(network), body, device, precision)

    @torch.inference_mode()
    def run_tensors(self, images: torch.Tensor, precision: str | None = None) -> dict[str, torch.Tensor]:
        """images (N,3,224,224) normalised, on `device` -> pose_rotmat (N,24,3,3), betas (N,10), crop_cam (N,3),
        joints (N,24,3) SMPL joints in the body frame, and for PARE part_attention (N,24,56,56) and
        part_segmentation (N,25,56,56), all float32."""
        dtype = PRECISIONS[precision or self.precision]
        images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
            out = self.network(images)
        result = {"pose_rotmat": out["pred_pose"], "betas": out["pred_shape"], "crop_cam": out["pred_cam"]}
        if "part_attention" in out:
            result["part_attention"] = out["part_attention"]
            result["part_segmentation"] = out["pred_segm_mask"]
        result = {key: value.float() for key, value in result.items()}
        result["joints"] = self.body(result["pose_rotmat"], result["betas"]).joints
        return result

    def run(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        """crops (N,224,224,3) uint8 RGB -> the arrays of `run_tensors`, as numpy on the CPU."""
        images = torch.from_numpy(normalize_crops(crops)).to(self.device)
        return {key: value.cpu().numpy() for key, value in self.run_tensors(images).items()}


def batched(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def centred_box(width: int, height: int) -> np.ndarray:
    """The whole frame as one square person box (x, y, w, h), used until a person detector runs."""
    side = max(width, height)
    return np.array([(width - side) / 2, (height - side) / 2, side, side], dtype=np.float64)


def estimate_frames(estimator: Estimator, source: FrameSource, bbox_xywh: np.ndarray | None,
                    focal_length: float, batch_size: int,
                    progress: Progress | None = None,
                    should_stop: Callable[[], bool] | None = None) -> PersonTrack | None:
    """Run one person box over every frame of `source`; None when the source yielded no frame."""
    box = square_box(bbox_xywh if bbox_xywh is not None else centred_box(source.width, source.height))
    columns: dict[str, list[np.ndarray]] = {}
    frames: list[int] = []
    for batch in batched(source, batch_size):
        if should_stop is not None and should_stop():
            raise Cancelled()
        crops = np.stack([crop_person(image, box) for _, image in batch])
        out = estimator.run(crops)
        for key, value in out.items():
            columns.setdefault(key, []).append(value.astype(np.float16) if key in MAP_KEYS else value)
        frames.extend(index for index, _ in batch)
        if progress is not None:
            progress("estimate", len(frames), source.frame_count)
    if not frames:
        return None
    data = {key: np.concatenate(parts) for key, parts in columns.items()}
    n = len(frames)
    boxes = np.repeat(box[None], n, axis=0)
    cam_t = crop_cam_to_camera_translation(data["crop_cam"], boxes, source.width, source.height, focal_length)
    joints3d = data["joints"] + cam_t[:, None, :]
    f32 = np.float32
    return PersonTrack(
        frame=np.asarray(frames, dtype=np.int64),
        bbox_xywh=np.repeat(_cxcywh_to_xywh(box)[None], n, axis=0).astype(f32),
        pose_rotmat=data["pose_rotmat"],
        pose_axis_angle=rotmat_to_axis_angle(torch.from_numpy(data["pose_rotmat"])).numpy().reshape(n, 72),
        betas=data["betas"],
        crop_cam=data["crop_cam"],
        cam_t=cam_t.astype(f32),
        joints3d=joints3d.astype(f32),
        joints2d=project_points(joints3d, focal_length, source.width, source.height).astype(f32),
        part_attention=data.get("part_attention"),
        part_segmentation=data.get("part_segmentation"),
    )


def _cxcywh_to_xywh(box: np.ndarray) -> np.ndarray:
    cx, cy, w, h = box
    return np.array([cx - w / 2, cy - h / 2, w, h], dtype=np.float64)


def _frame_count(source: FrameSource, track: PersonTrack) -> int:
    """Frames in the source; when a video ends before its container said, the frames it really has."""
    read = len(track.frame)
    if read < source.frame_count:
        log.warning("%s ended after source frame %d: %d of the %d requested frames were estimated",
                    source.path.name, int(track.frame[-1]), read, source.frame_count)
        return int(track.frame[-1]) + 1
    return source.total_frames


def run_estimate(input_path: str | Path, checkpoint: str | Path, smpl: str | Path, output: str | Path, *,
                 bbox_xywh: np.ndarray | None = None, device: str = "auto", batch_size: int = 8,
                 focal_length: float | None = None, frame_range: FrameRange = FrameRange(),
                 precision: str = "fp32",
                 progress: Progress | None = None,
                 should_stop: Callable[[], bool] | None = None) -> dict:
    """The whole job; returns the meta written. Raises UserError for anything the user can fix."""
    if batch_size < 1:
        raise UserError(f"--batch-size must be 1 or more, got {batch_size}")
    output = Path(output)
    if output.suffix.lower() != ".npz":
        raise UserError(f"--output must end in .npz (the result file format), got {output.name}")
    if not output.parent.is_dir():
        raise UserError(f"The output folder {output.parent} does not exist")
    source = open_frames(input_path, frame_range)
    torch_device = pick_device(device)
    if progress is not None:
        progress("load", 0, 1)
    estimator = Estimator.load(checkpoint, smpl, torch_device, precision)
    if progress is not None:
        progress("load", 1, 1)
    focal = float(focal_length) if focal_length else default_focal_length(source.width, source.height)
    if focal <= 0:
        raise UserError(f"--focal-length must be positive, got {focal_length}")
    track = estimate_frames(estimator, source, bbox_xywh, focal, batch_size, progress, should_stop)
    if track is None:
        raise UserError(f"No frame could be read from {source.path}")
    meta = {
        "image_width": source.width,
        "image_height": source.height,
        "fps": source.fps,
        "focal_length_px": focal,
        "frame_count": _frame_count(source, track),
        "source": str(Path(input_path).resolve()),
        "model": estimator.arch,
        "precision": precision,
        "checkpoint": Path(checkpoint).name,
        "body_model": Path(smpl).name,
    }
    write_result(output, meta, [track])
    if progress is not None:
        progress("write", 1, 1)
    return meta
