"""Loading pickle-based user files (checkpoints, SMPL models) without ever running code from them.

A pickle is a small program: its GLOBAL opcodes name any importable object and REDUCE calls it, so a
downloaded `.ckpt` or `.pkl` can run `os.system` on load. This unpickler resolves only an allowlist of
data-building callables (tensor / array / container reconstruction). Every other name becomes an inert
stand-in class without importing its module: objects that merely arrive as data (NEWOBJ + BUILD + SETITEMS,
e.g. yacs `CfgNode`, Lightning `AttributeDict`, chumpy `Ch`, scipy sparse matrices) become `StandIn`
instances that keep their pickled state, while any attempt to *call* such a name raises `UnsafeFileError`
naming it, before anything runs.

Torch-free (part of the contract): the Blender add-on reads SMPL pickles with this module, and Blender's Python
has numpy but no torch. Checkpoints go through `inference.torch_pickle`, which adds torch's tensor rebuilders.
"""
from __future__ import annotations

import collections
import functools
import math
import pickle
import types
import zipfile
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import UnsafeFileError, UserError
from .file_checks import regular_file

_LATIN1_NAMES = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"}
MAX_ALLOCATION_BYTES = 8 << 30  # one array or bytes object a file may ask for (SMPL's largest is ~40 MB)


class _StandInMeta(type):
    """Calling a stand-in class means the file wants to run the named global: refuse."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise UnsafeFileError(f"it tries to run `{cls.pickled_global}` while loading")


class StandIn(metaclass=_StandInMeta):
    """Inert replacement for an instance of a class that is not allowlisted.

    `pickled_global` is the "module.name" the file named; `pickled_args` the NEWOBJ arguments,
    `pickled_state` what BUILD passed (usually the instance `__dict__`), `pickled_items` /
    `pickled_list` what SETITEMS / APPENDS added (dict and list subclasses).
    """

    pickled_global = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> StandIn:
        obj = object.__new__(cls)
        obj.pickled_args = args
        obj.pickled_state = None
        obj.pickled_items = {}
        obj.pickled_list = []
        return obj

    def __setstate__(self, state: Any) -> None:
        self.pickled_state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.pickled_items[key] = value

    def append(self, value: Any) -> None:
        self.pickled_list.append(value)

    def extend(self, values: Any) -> None:
        self.pickled_list.extend(values)

    def __repr__(self) -> str:
        return f"<stand-in for {self.pickled_global}>"


@functools.lru_cache(maxsize=512)
def stand_in_class(module: str, name: str) -> type[StandIn]:
    """One stand-in class per pickled global (cached so identity checks between objects still hold)."""
    return _StandInMeta(name, (StandIn,), {"pickled_global": f"{module}.{name}", "__module__": __name__})


def _only_stand_ins(cls: Any, what: str) -> type[StandIn]:
    if not (isinstance(cls, type) and issubclass(cls, StandIn)):
        raise UnsafeFileError(f"it uses {what} on `{getattr(cls, '__name__', cls)}`")
    return cls


def _reconstructor(cls: Any, base: Any, state: Any) -> StandIn:
    """Safe `copyreg._reconstructor` (protocol 0/1 objects): builds stand-ins only, keeps base-type state."""
    obj = _only_stand_ins(cls, "copyreg._reconstructor").__new__(cls)
    if isinstance(state, dict):
        obj.pickled_items.update(state)
    elif isinstance(state, list):
        obj.pickled_list.extend(state)
    elif state is not None:
        obj.pickled_args = (state,)
    return obj


def _newobj(cls: Any, *args: Any) -> StandIn:
    """Safe `copyreg.__newobj__` when a file names it explicitly."""
    return _only_stand_ins(cls, "copyreg.__newobj__").__new__(cls, *args)


def _check_codec(encoding: str) -> None:
    """Pickles use latin-1 to carry bytes as text; any other codec name would import codec modules."""
    if encoding.lower().replace("_", "-") not in _LATIN1_NAMES:
        raise UnsafeFileError(f"it asks for the text codec {encoding!r}")


def _encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """Safe `_codecs.encode`: how protocol-2 pickles written by Python 3 store `bytes`."""
    _check_codec(encoding)
    return text.encode("latin-1", errors)


def _bounded(nbytes: int, what: str) -> None:
    """A file may make data, not ask for terabytes of memory: refuse allocations over MAX_ALLOCATION_BYTES."""
    if nbytes > MAX_ALLOCATION_BYTES:
        raise UnsafeFileError(f"it asks for {what} of {nbytes:,} bytes, more than any model needs")


def _array_bytes(shape: Any, dtype: Any) -> int:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    return math.prod(int(n) for n in dims) * np.dtype(dtype).itemsize


def _bytes_like(factory: type) -> Callable[..., Any]:
    def build(source: Any = b"", encoding: str | None = None, errors: str = "strict") -> Any:
        if isinstance(source, int):  # bytes(n) is n zero bytes: data never needs that
            _bounded(source, f"a {factory.__name__} object")
        if encoding is None:
            return factory(source)
        _check_codec(encoding)
        return factory(source, "latin-1", errors)
    return build


def _defaultdict(default_factory: Any = None, *rest: Any) -> collections.defaultdict:
    """Safe `collections.defaultdict`: a factory that is not a plain container type is dropped."""
    safe = default_factory if default_factory in (list, dict, set, int, float, tuple) else None
    return collections.defaultdict(safe, *rest)


class _BoundedArray(np.ndarray):
    """What a file gets for `numpy.ndarray`: calling it makes a plain ndarray, of a bounded size."""

    def __new__(cls, shape: Any, dtype: Any = float, *args: Any, **kwargs: Any) -> np.ndarray:
        _bounded(_array_bytes(shape, dtype), "an array")
        return np.ndarray(shape, dtype, *args, **kwargs)


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """numpy's array / dtype / scalar rebuilders under their numpy-1 (`core`) and numpy-2 (`_core`) names."""
    try:  # numpy 2; numpy 1.26 has only a partial `numpy._core`
        from numpy._core import multiarray, numeric
    except ImportError:
        from numpy.core import multiarray, numeric

    def reconstruct(cls: Any, shape: Any, dtype: Any) -> np.ndarray:
        _bounded(_array_bytes(shape, dtype), "an array")
        return multiarray._reconstruct(np.ndarray if cls is _BoundedArray else cls, shape, dtype)

    found: dict[tuple[str, str], Any] = {("numpy", "ndarray"): _BoundedArray, ("numpy", "dtype"): np.dtype}
    for package in ("numpy.core", "numpy._core"):
        found[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        found[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        found[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return found


@functools.lru_cache(maxsize=1)
def allowed_globals() -> dict[tuple[str, str], Any]:
    """(module, name) -> the object a file may name; everything here only builds data when called (torch's
    tensor rebuilders are added by `inference.torch_pickle` for checkpoints)."""
    found: dict[tuple[str, str], Any] = {("builtins", t.__name__): t for t in (
        dict, list, tuple, set, frozenset, int, float, complex, bool, slice, object)}
    found[("builtins", "bytes")] = _bytes_like(bytes)
    found[("builtins", "bytearray")] = _bytes_like(bytearray)
    found[("_codecs", "encode")] = _encode
    found[("copyreg", "_reconstructor")] = _reconstructor
    found[("copyreg", "__newobj__")] = _newobj
    found[("collections", "OrderedDict")] = collections.OrderedDict
    found[("collections", "defaultdict")] = _defaultdict
    found.update(_numpy_globals())
    return found


class SafeUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` that resolves globals from `allowed_globals()` or to stand-ins, never by import.
    A subclass adds names by overriding `extra_global` (checkpoints: torch's rebuilders)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in NAME_MAPPING:  # Python 2 names (__builtin__, copy_reg, ...)
            module, name = NAME_MAPPING[(module, name)]
        else:
            module = IMPORT_MAPPING.get(module, module)
        found = self.extra_global(module, name)
        if found is None:
            found = allowed_globals().get((module, name))
        if isinstance(found, types.FunctionType):
            # A fresh wrapper per lookup: BUILD on the shared function could rewrite its __defaults__
            # for the whole process; on a partial it only changes this copy.
            return functools.partial(found)
        if found is not None:
            return found
        return stand_in_class(module, name)

    def extra_global(self, module: str, name: str) -> Any:
        """The object `module.name` stands for beyond `allowed_globals()`, or None (a stand-in)."""
        return None


# What reading a damaged or foreign file raises inside pickle / torch / zipfile.
_UNREADABLE = (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, TypeError, KeyError,
               AttributeError, IndexError, zipfile.BadZipFile, UnicodeDecodeError, OSError, MemoryError,
               RecursionError, OverflowError)


def existing_file(path: str | Path, what: str) -> Path:
    """`path` if it is a non-empty regular file (never a pipe or device, which would block or never end)."""
    path = regular_file(path, what)
    if path.stat().st_size == 0:
        raise UserError(f"The {what} {path} is empty (0 bytes); download it again.")
    return path


def guarded_load(path: Path, what: str, load: Callable[[], Any]) -> Any:
    """Run `load`, turning refusals and read errors into one-line messages that name the file."""
    try:
        return load()
    except UnsafeFileError as exc:
        raise UnsafeFileError(f"Refused to load the {what} {path}: {exc}. Nothing from it was run; only "
                              "use files from a source you trust, such as the official downloads.") from None
    except UserError:
        raise
    except _UNREADABLE as exc:
        reason = " ".join(str(exc).split()).split(". ")[0][:200]  # one line: the library's first sentence
        raise UserError(f"The {what} {path} could not be read; it is damaged, truncated or not a "
                        f"{what} ({type(exc).__name__}: {reason}).") from None


def load_pickle(path: str | Path, what: str = "file") -> Any:
    """A plain pickle file (e.g. an SMPL `.pkl`), Python-2 pickles included (their bytes read as latin-1).

    `what` names the file in error messages ("SMPL model file"). Raises `UnsafeFileError` if the file
    would run code, `UserError` if it is missing, empty or unreadable.
    """
    path = existing_file(path, what)

    def load() -> Any:
        with path.open("rb") as file:
            return SafeUnpickler(file, encoding="latin1").load()
    return guarded_load(path, what, load)
