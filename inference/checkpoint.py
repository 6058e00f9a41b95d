"""Reading a PARE / SPIN / EFT / DSR checkpoint and loading it into the matching network.

Users hand over whatever file they downloaded and never name the architecture: it is recognised from the
weight names. The files are pickles, so they are read through `safe_pickle` (nothing in them runs), and
the weights must fit the network exactly: a silent partial load (as PARE's own `strict=False`) would
give plausible-looking but wrong bodies.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contract.errors import UserError
from contract.licensed_files import GET_PARE
from .torch_pickle import torch_load

log = logging.getLogger(__name__)


_MODEL_PREFIX = "model."
_LIST_LIMIT = 10


def _state_dict_of(content: Any, path: Path) -> dict[str, Tensor]:
    """The tensors of the file's state dict: Lightning `state_dict`, SPIN / EFT `model`, or the file itself."""
    if isinstance(content, dict):
        for key in ("state_dict", "model"):
            if isinstance(content.get(key), dict):
                content = content[key]
                break
        tensors = {key: value for key, value in content.items()
                   if isinstance(key, str) and isinstance(value, Tensor)}
        if tensors:
            return tensors
    raise UserError(f"The file {path} holds no network weights, so it is not a PARE or SPIN/EFT/DSR "
                    f"checkpoint. {GET_PARE}")


def network_names(keys: list[str]) -> dict[str, str | None]:
    """File key -> key as the network names it, or None for entries the network does not use.

    With Lightning's `model.` prefix only the keys under it are network weights (only that leading prefix
    is removed); DSR's HMR is split into `backbone.` / `head.`, which the flat SPIN layout does not have;
    the SMPL layer's buffers (`smpl.`) are rebuilt from the user's SMPL file instead.
    """
    prefixed = any(key.startswith(_MODEL_PREFIX) for key in keys)
    names: dict[str, str | None] = {
        key: key[len(_MODEL_PREFIX):] if key.startswith(_MODEL_PREFIX) else (None if prefixed else key)
        for key in keys}
    inner = set(names.values())
    if {"head.fc1.weight", "head.decpose.weight"} <= inner and "head.pose_mlp.weight" not in inner:
        names = {key: name.split(".", 1)[1] if name and name.startswith(("backbone.", "head.")) else name
                 for key, name in names.items()}
    return {key: None if name is None or name.startswith("smpl.") else name for key, name in names.items()}


def detect_architecture(state: dict[str, Tensor]) -> str | None:
    """"pare_hrnet32", "pare_resnet50" or "hmr_spin" from the network's key names; None if none fits."""
    if "head.pose_mlp.weight" in state:
        if any(key.startswith("backbone.stage4.") for key in state):
            return "pare_hrnet32"
        if any(key.startswith("backbone.layer4.") for key in state):
            return "pare_resnet50"
        return None
    if "fc1.weight" in state and "decpose.weight" in state:
        return "hmr_spin"
    return None


def _group(key: str) -> str:
    """`model.smpl.smpl.betas` -> `model.smpl`, `smpl_native.betas` -> `smpl_native`."""
    parts = key.split(".")
    return ".".join(parts[:2]) if parts[0] == "model" and len(parts) > 2 else parts[0]


def read_checkpoint(path: str | Path) -> tuple[str, dict[str, Tensor]]:
    """(architecture, network state dict with the network's key names) of a checkpoint file.

    Accepts PyTorch-Lightning `.ckpt` (PARE, DSR), SPIN / EFT `{'model': ...}` files (zip or legacy
    format) and bare state dicts. Entries the network does not use are dropped with one info log line.
    Raises UserError (UnsafeFileError for files that would run code) saying what is wrong.
    """
    path = Path(path).expanduser()
    tensors = _state_dict_of(torch_load(path, what="checkpoint"), path)
    names = network_names(list(tensors))
    state = {name: tensors[key] for key, name in names.items() if name is not None}
    arch = detect_architecture(state)
    if arch is None:
        examples = ", ".join(list(tensors)[:3])
        raise UserError(f"The file {path} is not a PARE or SPIN/EFT/DSR checkpoint (its {len(tensors)} "
                        f"weights start with {examples}). {GET_PARE}")
    dropped = Counter(_group(key) for key, name in names.items() if name is None)
    if dropped:
        groups = ", ".join(f"{group} ({count})" for group, count in dropped.items())
        log.info("%s: ignoring %d entries the %s network does not use: %s", path.name,
                 sum(dropped.values()), arch, groups)
    return arch, state


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LIST_LIMIT])
    return shown + (f" and {len(keys) - _LIST_LIMIT} more" if len(keys) > _LIST_LIMIT else "")


def _shape_text(tensor: Tensor) -> str:
    return "x".join(map(str, tensor.shape)) or "scalar"


def state_mismatch(expected: dict[str, Tensor], found: dict[str, Tensor]) -> str | None:
    """What keeps `found` from loading strictly into a network whose state dict is `expected`, or None."""
    problems = []
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    reshaped = [f"{key} (file {_shape_text(found[key])}, network {_shape_text(expected[key])})"
                for key in expected if key in found and found[key].shape != expected[key].shape]
    for count_label, keys in (("missing", missing), ("unexpected", unexpected), ("of another shape", reshaped)):
        if keys:
            problems.append(f"{len(keys)} {count_label}: {_listed(keys)}")
    return "; ".join(problems) or None


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[str, nn.Module]:
    """(architecture, network in eval mode on `device`) for a checkpoint file; every weight must fit."""
    from .models import build_model

    arch, state = read_checkpoint(path)
    model = build_model(arch)
    mismatch = state_mismatch(model.state_dict(), state)
    if mismatch:
        raise UserError(f"The checkpoint {path} looks like {arch} but its weights do not fit that network "
                        f"({mismatch}). It may be a different configuration or a damaged file. {GET_PARE}")
    model.load_state_dict(state, strict=True)
    return arch, model.eval().to(device)
