"""Reading torch checkpoints without running code stored in them: `contract.safe_pickle` plus torch's own
tensor rebuilders.

`torch.load(..., pickle_module=TORCH_PICKLE_MODULE, weights_only=False)` subclasses our `Unpickler` (adding its
storage handling, then deferring to our `find_class`), so a `.ckpt` can build tensors, parameters, sizes and
dtypes but nothing else; every other name becomes an inert stand-in, and calling one is refused.
"""
from __future__ import annotations

import functools
import types
import zipfile
from pathlib import Path
from typing import Any

import torch
import torch._tensor
import torch._utils
from torch.serialization import StorageType

from contract.errors import UnsafeFileError
from contract.safe_pickle import SafeUnpickler, existing_file, guarded_load

_REBUILDERS = ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
               "_rebuild_parameter_with_state", "_rebuild_device_tensor_from_numpy",
               "_rebuild_device_tensor_from_cpu_tensor")


@functools.lru_cache(maxsize=1)
def torch_globals() -> dict[tuple[str, str], Any]:
    """Tensor rebuild functions, tensor / parameter types, torch.Size, device and every dtype."""
    found: dict[tuple[str, str], Any] = {("torch._utils", n): getattr(torch._utils, n) for n in _REBUILDERS}
    found[("torch._tensor", "_rebuild_from_type_v2")] = torch._tensor._rebuild_from_type_v2
    found[("torch", "Size")] = torch.Size
    found[("torch", "device")] = torch.device
    found[("torch", "Tensor")] = torch.Tensor
    found[("torch._tensor", "Tensor")] = torch.Tensor
    found[("torch.nn.parameter", "Parameter")] = torch.nn.Parameter
    for name, value in vars(torch).items():
        if isinstance(value, torch.dtype):
            found[("torch", name)] = value
    return found


class TorchSafeUnpickler(SafeUnpickler):
    """`SafeUnpickler` that also resolves torch's tensor rebuilders and storage types."""

    def extra_global(self, module: str, name: str) -> Any:
        module = "torch._tensor" if module == "torch.tensor" else module
        if module != "torch" and not module.startswith("torch."):
            return None
        found = torch_globals().get((module, name))
        if found is None and module == "torch" and name.endswith("Storage"):
            return StorageType(name)
        return found


def _load_stream(file: Any, **kwargs: Any) -> Any:
    """`pickle.load` through `TorchSafeUnpickler`; torch calls this for the header records of legacy files."""
    return TorchSafeUnpickler(file, **kwargs).load()


TORCH_PICKLE_MODULE = types.SimpleNamespace(__name__=__name__, Unpickler=TorchSafeUnpickler, load=_load_stream)


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives (which torch.load hands to torch.jit.load, i.e. runs) hold a constants.pkl."""
    with path.open("rb") as file:
        if file.read(4) != b"PK\x03\x04":  # torch.save's zip format starts so; legacy files never do
            return False
    with zipfile.ZipFile(path) as archive:
        return any(name.split("/", 1)[-1] == "constants.pkl" for name in archive.namelist())


def torch_load(path: str | Path, what: str = "checkpoint", map_location: str = "cpu") -> Any:
    """`torch.load` of a zip-format or legacy-format file through `TorchSafeUnpickler`.

    Raises `UnsafeFileError` for files that would run code (including TorchScript programs) and
    `UserError` for missing, empty or unreadable files.
    """
    path = existing_file(path, what)

    def load() -> Any:
        if _is_torchscript(path):
            raise UnsafeFileError("it is a TorchScript program, not a checkpoint of weights")
        return torch.load(path, map_location=map_location, pickle_module=TORCH_PICKLE_MODULE,
                          weights_only=False)
    return guarded_load(path, what, load)
