"""A loaded network and body model on one device: normalised crops in, SMPL parameters out."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .body_model import SMPLBody
from .checkpoint import load_model
from .crop import normalize_crops
from contract.errors import UserError
from .models.fusion import prepare_for_inference
from .people.graph_program import native_bf16
from contract.smpl_file import read_body_model
from .turned_crops import picture_axes

log = logging.getLogger(__name__)

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
"""Network precision: fp32 reproduces the official outputs; bf16 / fp16 run the convolutions under autocast
(bf16 is fast on CPUs with AVX-512 BF16 / AMX; fp16 is for GPUs). The SMPL body always runs in float32."""


def pick_device(name: str) -> torch.device:
    """`auto` takes the GPU when torch sees one; asking for `cuda` without one is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but PyTorch sees no CUDA GPU here; use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise UserError(f"--device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


KEYPOINT_BACKEND = "blazepose-fit"
"""`model` of results made without a checkpoint: BlazePose landmarks fitted by `inference.fitting`."""


@dataclass
class CropEstimator:
    """The network (prepared for inference; None for the keypoint backend) and the body model on one device."""

    arch: str
    network: torch.nn.Module | None
    body: SMPLBody
    device: torch.device
    precision: str = "fp32"

    @classmethod
    def load(cls, checkpoint: str | Path | None, smpl: str | Path | None, device: torch.device,
             precision: str = "fp32") -> "CropEstimator":
        """No checkpoint: the keypoint backend. No SMPL file: the bundled stand-in body."""
        if precision not in PRECISIONS:
            raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        if precision == "fp16" and device.type == "cpu":
            raise UserError("--precision fp16 is for GPUs; on the CPU use bf16 (or fp32)")
        body = SMPLBody(read_body_model(smpl)).to(device).eval()
        if checkpoint is None:
            return cls(KEYPOINT_BACKEND, None, body, device, precision)
        arch, network = load_model(checkpoint, device)
        if precision == "bf16" and device.type == "cpu" and not native_bf16():
            # Measured on a 2-core AVX2 CPU (bench/bench_model.py): 1.87 s an image in bf16 against 0.24 in fp32.
            log.warning("--precision bf16: this CPU has no bfloat16 arithmetic (AVX-512 BF16 or AMX), so PyTorch "
                        "emulates it, several times slower than fp32; fp32 is the faster choice here")
        return cls(arch, prepare_for_inference(network), body, device, precision)

    @property
    def network_on_cpu(self) -> bool:
        """Whether a network runs here on the CPU (and keeps every core busy while it does)."""
        return self.network is not None and self.device.type == "cpu"

    @torch.inference_mode()
    def run_tensors(self, images: torch.Tensor, precision: str | None = None) -> dict[str, torch.Tensor]:
        """images (N,3,224,224) normalised, on `device` -> float32 pose_rotmat (N,24,3,3), betas (N,10),
        crop_cam (N,3), and for PARE part_attention (N,24,56,56) and part_segmentation (N,25,56,56)."""
        dtype = PRECISIONS[precision or self.precision]
        images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
            out = self.network(images)
        result = {"pose_rotmat": out["pred_pose"], "betas": out["pred_shape"], "crop_cam": out["pred_cam"]}
        if "part_attention" in out:
            result["part_attention"] = out["part_attention"]
            result["part_segmentation"] = out["pred_segm_mask"]
        return {key: value.float() for key, value in result.items()}

    def run(self, crops: np.ndarray, turns: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """crops (N,224,224,3) uint8 RGB -> the arrays of `run_tensors`, as numpy on the CPU. `turns` (N,): the
        quarter turns clockwise each crop was cut turned by (a person found lying down or upside down,
        `crop.crop_affine`); the answers are then turned back into the picture's axes (`turned_crops`)."""
        images = normalize_crops(crops).to(self.device)
        out = {key: value.cpu().numpy() for key, value in self.run_tensors(images).items()}
        if turns is None or not np.any(turns):
            return out
        at_rest = np.broadcast_to(np.eye(3, dtype=np.float32), (len(crops), 24, 3, 3))
        return picture_axes(out, turns, self.joints(at_rest, out["betas"])[:, 0])

    @torch.inference_mode()
    def joints(self, pose_rotmat: np.ndarray, betas: np.ndarray, chunk: int = 256) -> np.ndarray:
        """(n,24,3,3), (n,10) -> (n,24,3) SMPL joints in the body frame, float32, in chunks to bound memory."""
        parts = []
        for start in range(0, len(pose_rotmat), chunk):
            pose = torch.from_numpy(np.ascontiguousarray(pose_rotmat[start:start + chunk])).to(self.device)
            shape = torch.from_numpy(np.ascontiguousarray(betas[start:start + chunk])).to(self.device)
            parts.append(self.body(pose.float(), shape.float()).joints.cpu().numpy())
        return np.concatenate(parts).astype(np.float32)
