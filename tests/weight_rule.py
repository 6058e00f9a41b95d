"""The reference's deterministic weight-filling rule (tests/reference/README.md, "Weight rule").

Every golden was produced with networks filled this way, so filling ours the same way and comparing outputs
tests the architecture, not the luck of a random init. Also used to write realistic checkpoint files.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

REFERENCE = Path(__file__).parent / "reference"

_NO_DRAW_NAMES = ("init_pose", "init_shape", "init_cam", "temperature")


def read_manifest(name: str) -> list[tuple[str, tuple[int, ...], str, str]]:
    """Rows (key, shape, dtype, role) of a `*_state_dict.tsv` manifest, in file order."""
    rows = []
    lines = (REFERENCE / name).read_text().splitlines()[1:]
    for line in lines:
        key, shape, dtype, role = line.split("\t")
        dims = () if shape == "scalar" else tuple(int(d) for d in shape.split("x"))
        rows.append((key, dims, dtype, role))
    return rows


def rule_tensor(key: str, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    """One tensor by the rule; draws from `g` in the reference's order."""
    name = key.rsplit(".", 1)[-1]
    if name == "num_batches_tracked":
        return torch.zeros(shape, dtype=torch.int64)
    if name == "running_mean":
        return 0.1 * torch.randn(shape, generator=g)
    if name == "running_var":
        return 1.0 + 0.1 * torch.rand(shape, generator=g)
    if len(shape) == 1 and name == "weight":
        return 1.0 + 0.1 * torch.randn(shape, generator=g)
    if len(shape) == 1 and name == "bias":
        return 0.1 * torch.randn(shape, generator=g)
    if len(shape) >= 2:
        if len(shape) == 6:  # locally connected (1, out, in, H, W, k*k)
            fan_in = shape[2] * shape[5]
        else:
            fan_in = math.prod(shape) // shape[0]
        return torch.randn(shape, generator=g) * math.sqrt(0.6 / fan_in)
    raise ValueError(f"the weight rule does not cover {key} {shape}")


def mean_params() -> dict[str, torch.Tensor]:
    """The synthetic mean parameters, as the init_* buffers hold them (1xN float32)."""
    import numpy as np

    m = np.load(REFERENCE / "synthetic_smpl_mean_params.npz")
    return {name: torch.from_numpy(np.asarray(m[name], dtype=np.float32)).reshape(1, -1)
            for name in ("pose", "shape", "cam")}


def rule_state_dict(manifest: str) -> dict[str, torch.Tensor]:
    """The network state dict of a manifest filled by the rule, keys as the network sees them.

    PARE manifests: only rows under `model.`, prefix removed, SMPL buffers (`smpl.`) left out.
    HMR manifest: all rows. The init_* buffers hold the synthetic mean parameters, temperature 1.0;
    they take no draw, as in the reference.
    """
    rows = read_manifest(manifest)
    if any(key.startswith("model.") for key, *_ in rows):
        rows = [(key[len("model."):], shape, d, r) for key, shape, d, r in rows if key.startswith("model.")]
    init = mean_params()
    g = torch.Generator()
    g.manual_seed(0)
    out: dict[str, torch.Tensor] = {}
    for key, shape, _dtype, _role in rows:
        name = key.rsplit(".", 1)[-1]
        if key.startswith("smpl."):
            continue
        if name == "temperature":
            out[key] = torch.tensor(1.0)
        elif name in _NO_DRAW_NAMES:
            out[key] = init[name[len("init_"):]].clone()
        else:
            out[key] = rule_tensor(key, shape, g)
    return out


def write_lightning_checkpoint(path: Path, manifest: str) -> None:
    """A `.ckpt` shaped like the released PARE files: every manifest row under `state_dict`.

    Network keys carry `model.` and the rule's values; SMPL buffers and Lightning extras get zeros of their
    manifest shape and dtype (their values are never used), plus the usual Lightning top-level entries.
    """
    net = rule_state_dict(manifest)
    state: dict[str, torch.Tensor] = {}
    for key, shape, dtype, _role in read_manifest(manifest):
        inner = key[len("model."):] if key.startswith("model.") else None
        if inner is not None and inner in net:
            state[key] = net[inner]
        else:
            state[key] = torch.zeros(shape, dtype=getattr(torch, dtype.split(".")[-1]))
    torch.save({"epoch": 1, "global_step": 10, "pytorch-lightning_version": "1.1.8",
                "state_dict": state, "optimizer_states": [], "lr_schedulers": []}, path)
