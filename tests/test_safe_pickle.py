"""The restricted unpickler: data loads, stand-ins keep state, and nothing named by a file ever runs."""
from __future__ import annotations

import argparse
import collections
import copyreg
import os
import pickle
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from contract.errors import UnsafeFileError, UserError
from contract.safe_pickle import StandIn, load_pickle
from inference.torch_pickle import torch_load

REFERENCE = Path(__file__).parent / "reference"


class _RunsShell:
    """A classic payload: unpickling it runs a shell command that creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _Calls:
    """Unpickling calls `func(*args)`; used to try one dangerous global after another."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _dump(tmp_path: Path, obj, protocol: int) -> Path:
    path = tmp_path / f"p{protocol}.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


@pytest.mark.parametrize("protocol", [0, 1, 2, 4, 5])
def test_plain_data_round_trips(tmp_path, protocol):
    data = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "o": collections.OrderedDict(x=1, y=[2.5]),
            "b": b"\x00\xffbytes", "e": b"", "s": {1, 2}, "f": frozenset("ab"), "n": np.int64(7),
            "t": (1, None, True), "c": 1 + 2j, "dd": collections.defaultdict(list, k=[1])}
    loaded = load_pickle(_dump(tmp_path, data, protocol))
    assert loaded.keys() == data.keys()
    np.testing.assert_array_equal(loaded["a"], data["a"])
    assert loaded["a"].dtype == np.float32
    assert {k: v for k, v in loaded.items() if k != "a"} == {k: v for k, v in data.items() if k != "a"}
    assert loaded["dd"]["missing"] == []  # the list factory survives


class _Python2Pickler(pickle._Pickler):
    """Writes `bytes` as Python-2 `str` (BINSTRING) and py2 module names, like the official SMPL v1.0 files."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj: bytes) -> None:
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def test_python2_pickles_read_with_latin1(tmp_path):
    data = {"a": np.arange(256, dtype=np.float64).reshape(16, 16), "s": {3, 4}, "i": np.arange(4, dtype=np.uint32)}
    path = tmp_path / "py2.pkl"
    with path.open("wb") as file:
        _Python2Pickler(file, protocol=2, fix_imports=True).dump(data)
    raw = path.read_bytes()
    assert b"c__builtin__\nset" in raw and pickle.BINSTRING in raw
    loaded = load_pickle(path)
    np.testing.assert_array_equal(loaded["a"], data["a"])
    np.testing.assert_array_equal(loaded["i"], data["i"])
    assert loaded["i"].dtype == np.uint32 and loaded["s"] == {3, 4}


def test_reads_the_synthetic_smpl_pickle():
    model = load_pickle(REFERENCE / "synthetic_SMPL_NEUTRAL.pkl")
    assert model["v_template"].shape == (6890, 3)
    assert model["f"].dtype == np.int64


@pytest.mark.parametrize("protocol", [0, 1, 2, 4, 5])
def test_shell_payload_is_refused_and_never_runs(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = _dump(tmp_path, {"ok": 1, "bad": [_RunsShell(marker)]}, protocol)
    with pytest.raises(UnsafeFileError, match=r"system") as info:
        load_pickle(path)
    assert not marker.exists()
    assert "\n" not in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("func, args, name", [
    (eval, ("1+1",), "builtins.eval"), (exec, ("x = 1",), "builtins.exec"),
    (getattr, ("text", "upper"), "builtins.getattr"), (__import__, ("os",), "builtins.__import__"),
    (os.remove, ("/nonexistent",), "posix.remove"),
])
def test_calling_any_other_global_is_refused(tmp_path, func, args, name):
    with pytest.raises(UnsafeFileError, match=name.replace(".", r"\.")):
        load_pickle(_dump(tmp_path, _Calls(func, *args), 2))


def test_inst_opcode_payload_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "inst.pkl"
    path.write_bytes(b"(S'touch " + str(marker).encode() + b"'\nios\nsystem\n.")  # protocol-0 INST
    with pytest.raises(UnsafeFileError, match="os.system"):
        load_pickle(path)
    assert not marker.exists()


def test_subprocess_by_name_is_refused_without_importing_it(tmp_path, monkeypatch):
    path = tmp_path / "sub.pkl"
    path.write_bytes(b"csubprocess\ncheck_call\n((S'true'\nltR.")  # GLOBAL + REDUCE
    monkeypatch.delitem(sys.modules, "subprocess", raising=False)
    with pytest.raises(UnsafeFileError, match="subprocess.check_call"):
        load_pickle(path)
    assert "subprocess" not in sys.modules


def test_reconstructor_is_limited_to_stand_ins(tmp_path):
    payload = _Calls(copyreg._reconstructor, collections.OrderedDict, object, None)
    with pytest.raises(UnsafeFileError, match="_reconstructor"):
        load_pickle(_dump(tmp_path, payload, 2))


def test_codecs_other_than_latin1_are_refused(tmp_path):
    import codecs
    with pytest.raises(UnsafeFileError, match="codec"):
        load_pickle(_dump(tmp_path, _Calls(codecs.encode, "x", "utf-16"), 2))


def test_allowlisted_functions_cannot_be_rewritten(tmp_path):
    """BUILD on a named function would set its __defaults__ for the whole process."""
    import torch._utils

    before = torch._utils._rebuild_tensor_v2.__defaults__
    path = tmp_path / "tamper.pkl"
    path.write_bytes(b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nN}X\x0c\x00\x00\x00__defaults__K\x01\x85s\x86b.")
    with pytest.raises(UserError):
        load_pickle(path)
    assert torch._utils._rebuild_tensor_v2.__defaults__ == before


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_unknown_classes_become_stand_ins_that_keep_state(tmp_path, protocol):
    module = types.ModuleType("not_installed_cfg")
    module.CfgNode = type("CfgNode", (dict,), {"__module__": module.__name__})
    module.Plain = type("Plain", (), {"__module__": module.__name__})
    cfg = module.CfgNode(lr=0.1, nested={"a": 1})
    cfg.__dict__["frozen"] = True
    plain = module.Plain()
    plain.value = np.ones(2)
    sys.modules[module.__name__] = module
    try:
        path = _dump(tmp_path, {"cfg": cfg, "plain": plain, "args": argparse.Namespace(epochs=3)}, protocol)
    finally:
        del sys.modules[module.__name__]

    loaded = load_pickle(path)
    assert module.__name__ not in sys.modules
    assert isinstance(loaded["cfg"], StandIn) and loaded["cfg"].pickled_global == "not_installed_cfg.CfgNode"
    assert loaded["cfg"].pickled_items == {"lr": 0.1, "nested": {"a": 1}}
    assert loaded["cfg"].pickled_state == {"frozen": True}
    np.testing.assert_array_equal(loaded["plain"].pickled_state["value"], np.ones(2))
    assert loaded["args"].pickled_state == {"epochs": 3}
    with pytest.raises(UnsafeFileError, match="CfgNode"):
        type(loaded["cfg"])()  # a stand-in class refuses to be called later, too


def test_module_named_by_a_file_is_never_imported(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "side_effect_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass Thing:\n    pass\n")
    path = tmp_path / "thing.pkl"
    path.write_bytes(b"\x80\x02cside_effect_mod\nThing\n)\x81}b.")  # NEWOBJ + BUILD
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = load_pickle(path)
    assert loaded.pickled_global == "side_effect_mod.Thing" and loaded.pickled_state == {}
    assert not marker.exists()


@pytest.mark.parametrize("zip_format", [True, False])
def test_torch_files_load_in_both_formats(tmp_path, zip_format):
    state = collections.OrderedDict(w=torch.randn(3, 4), n=torch.tensor(5), h=torch.ones(2, dtype=torch.float16))
    path = tmp_path / "c.pt"
    torch.save({"state_dict": state, "param": torch.nn.Parameter(torch.zeros(2)), "size": torch.Size([1, 2]),
                "dtype": torch.bfloat16, "hp": argparse.Namespace(a=1)}, path,
               _use_new_zipfile_serialization=zip_format)
    loaded = torch_load(path)
    for key, value in state.items():
        assert torch.equal(loaded["state_dict"][key], value) and loaded["state_dict"][key].dtype == value.dtype
    assert isinstance(loaded["param"], torch.nn.Parameter)
    assert loaded["size"] == torch.Size([1, 2]) and loaded["dtype"] is torch.bfloat16
    assert loaded["hp"].pickled_state == {"a": 1}


@pytest.mark.parametrize("zip_format", [True, False])
def test_torch_payload_is_refused_and_never_runs(tmp_path, zip_format):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"w": torch.ones(1)}, "hyper_parameters": {"x": _RunsShell(marker)}}, path,
               _use_new_zipfile_serialization=zip_format)
    with pytest.raises(UnsafeFileError, match="system"):
        torch_load(path)
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit is deprecated, yet still loadable
def test_torchscript_archive_is_refused(tmp_path):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    with pytest.raises(UnsafeFileError, match="TorchScript"):
        torch_load(path)


def test_missing_empty_folder_and_damaged_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_pickle(tmp_path / "nope.pkl")
    with pytest.raises(UserError, match="is a folder"):
        torch_load(tmp_path)
    empty = tmp_path / "empty.ckpt"
    empty.touch()
    with pytest.raises(UserError, match="empty"):
        torch_load(empty)
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"this is not a pickle")
    with pytest.raises(UserError, match="could not be read") as info:
        load_pickle(garbage)
    assert not isinstance(info.value, UnsafeFileError)
    whole = tmp_path / "whole.ckpt"
    torch.save({"w": torch.randn(100)}, whole)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(UserError, match="damaged, truncated"):
        torch_load(truncated)
