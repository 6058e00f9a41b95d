"""Run a converted network: a short, flat list of tensor operations plus their weights, read from one `.npz`.

Why a program and not a hand-written `nn.Module`: the bundled detector is published as a TensorFlow.js graph.
`tools/convert_tfjs_graph.py` turns that graph into this list once (layout transposes and constant shape
arithmetic folded away, bias and activation fused into the convolutions), so nothing here depends on how the
network was drawn, and the wiring is exactly the published one. The file holds plain arrays only and is read
with `allow_pickle=False`, so loading it runs no code.

File layout:
  `program`  uint8 array of UTF-8 JSON: {"format": 1, "inputs": [name], "outputs": [name, ...],
             "ops": [{"op": kind, "in": [name, ...], "out": [name, ...], "params": {role: array key}, ...attrs}]}
  other keys  the parameter arrays the ops name (any float dtype; cast to float32 when loaded).
Every tensor is NCHW (or already flattened to N, C, L); `ops` are in execution order.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from contract.errors import UserError

PROGRAM_FORMAT = 1
_Op = dict[str, Any]


def _conv2d(op: _Op, x: Tensor, p: dict[str, Tensor]) -> Tensor:
    """Convolution with symmetric zero padding, optional bias and optional fused leaky ReLU."""
    y = F.conv2d(x, p["weight"], p.get("bias"), stride=op["stride"], padding=op["padding"],
                 dilation=op["dilation"], groups=op["groups"])
    return F.leaky_relu(y, op["leaky_alpha"], inplace=True) if "leaky_alpha" in op else y


def _pad(op: _Op, x: Tensor, p: dict[str, Tensor]) -> Tensor:
    """Constant padding; `pads` = (left, right, top, bottom) as `F.pad` takes it (-inf before max pooling)."""
    return F.pad(x, op["pads"], value=float(op["value"]))


def _resize_bilinear(op: _Op, x: Tensor, p: dict[str, Tensor]) -> Tensor:
    """Bilinear resize by 2 or 1/2 (sizes stay whole: inputs are multiples of 32), pixel centres at
    half-integers (TF `half_pixel_centers`; halving then averages each 2x2 block)."""
    size = (round(x.shape[2] * op["scale"][0]), round(x.shape[3] * op["scale"][1]))
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


_SINGLE_OUTPUT: dict[str, Callable[[_Op, Tensor, dict[str, Tensor]], Tensor]] = {
    "conv2d": _conv2d,
    "pad": _pad,
    "max_pool": lambda op, x, p: F.max_pool2d(x, op["kernel"], op["stride"]),
    "leaky_relu": lambda op, x, p: F.leaky_relu(x, op["alpha"]),
    "sigmoid": lambda op, x, p: torch.sigmoid(x),
    "resize_bilinear": _resize_bilinear,
    "flatten": lambda op, x, p: x.flatten(op["start_dim"]),
    "permute": lambda op, x, p: x.permute(op["dims"]),
}


def _as_float32(array: np.ndarray) -> Tensor:
    """A parameter as float32; convolution kernels channels-last, the layout oneDNN runs fastest on CPU."""
    tensor = torch.from_numpy(array.astype(np.float32))
    return tensor.contiguous(memory_format=torch.channels_last) if tensor.dim() == 4 else tensor


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX), where bf16 convolutions take
    about half the fp32 time; elsewhere oneDNN emulates them, slower than fp32."""
    return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


class GraphProgram:
    """A loaded program: call it with the input tensor, get the output tensors (float32) in the program's order.
    `bf16`: run the operations in bfloat16 (CPU autocast), for speed where `native_bf16()`. The parameters are
    then kept in bfloat16: autocast would cast every weight again on every call, a quarter of a first pass's
    time (9 -> 6.7 ms on a 416-pixel 1080p frame); the arithmetic, and so the output, is the same."""

    def __init__(self, ops: list[_Op], inputs: list[str], outputs: list[str], params: dict[str, Tensor],
                 bf16: bool = False):
        self.ops, self.inputs, self.outputs = ops, inputs, outputs
        self.params = {key: value.to(torch.bfloat16) for key, value in params.items()} if bf16 else params
        self.bf16 = bf16
        unknown = {op["op"] for op in ops} - set(_SINGLE_OUTPUT) - {"add", "concat", "split"}
        if unknown:
            raise ValueError(f"unsupported operations in program: {sorted(unknown)}")

    @classmethod
    def load(cls, path: Path, bf16: bool = False) -> GraphProgram:
        """Read a program file; raises `UserError` naming the file when it is missing or not a program."""
        if not path.is_file():
            raise UserError(f"The bundled model file {path} is missing. Reinstall the project (the file ships "
                            f"in assets/models/), or pass the person's box by hand with --bbox.")
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
            spec = json.loads(arrays.pop("program").tobytes().decode("utf-8"))
        except (OSError, ValueError, KeyError) as error:
            raise UserError(f"The bundled model file {path} is damaged ({error}). Reinstall the project.") from error
        if spec.get("format") != PROGRAM_FORMAT:
            raise UserError(f"The model file {path} has format {spec.get('format')}, this version reads "
                            f"{PROGRAM_FORMAT}. Reinstall the project.")
        params = {key: _as_float32(value) for key, value in arrays.items()}
        return cls(spec["ops"], spec["inputs"], spec["outputs"], params, bf16)

    @torch.inference_mode()
    def __call__(self, x: Tensor) -> list[Tensor]:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            return [output.float() for output in self._run(x)]

    def _run(self, x: Tensor) -> list[Tensor]:
        values: dict[str, Tensor] = {self.inputs[0]: x}
        for op in self.ops:
            args = [values[name] for name in op["in"]]
            params = {role: self.params[key] for role, key in op.get("params", {}).items()}
            kind = op["op"]
            if kind == "add":
                results = [args[0] + args[1]]
            elif kind == "concat":
                results = [torch.cat(args, dim=op["dim"])]
            elif kind == "split":
                results = list(torch.split(args[0], op["sizes"], dim=op["dim"]))
            else:
                results = [_SINGLE_OUTPUT[kind](op, args[0], params)]
            values.update(zip(op["out"], results))
        return [values[name] for name in self.outputs]
