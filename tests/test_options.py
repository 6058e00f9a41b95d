"""One option spec, one torch-free contract: the command line, batch.py, the worker's command and the progress
protocol all follow contract/, and contract/ and addon/ never need torch."""
import argparse
import ast
import json
import math
import pathlib
import subprocess
import sys

import pytest

from contract import options as spec
from contract.errors import UserError
from contract.worker_protocol import PROTOCOL_VERSION, EVENT_FIELDS, ProtocolError, make_event, parse_event
from inference.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOT_SHARED = {"--input", "--output", "--progress", "--help"}


def long_options(parser: argparse.ArgumentParser) -> dict[str, object]:
    """--flag -> default, for every long option of a parser."""
    return {flag: action.default for action in parser._actions for flag in action.option_strings
            if flag.startswith("--")}


def estimate_parser() -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["estimate"]


def batch_parser() -> argparse.ArgumentParser:
    from pare_body_estimator.addon import batch_job
    return batch_job.build_parser()


def test_every_estimate_option_is_accepted_by_batch_with_the_same_default(monkeypatch):
    monkeypatch.delenv("PARE_BODY_CHECKPOINT", raising=False)
    monkeypatch.setenv("PARE_BODY_SMPL", "/models/SMPL_NEUTRAL.pkl")  # env defaults are shared too
    cli, batch = long_options(estimate_parser()), long_options(batch_parser())
    shared = {flag: default for flag, default in cli.items() if flag not in NOT_SHARED}
    assert len(shared) == len(spec.ESTIMATE_OPTIONS) >= 15
    assert {flag: batch.get(flag, "missing") for flag in shared} == shared
    assert shared["--smpl"] == "/models/SMPL_NEUTRAL.pkl" and shared["--batch-size"] == 8


def test_batch_py_help_lists_the_estimate_options():
    done = subprocess.run([sys.executable, str(ROOT / "addon" / "batch.py"), "--", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for option in spec.ESTIMATE_OPTIONS:
        assert option.flag in done.stdout


@pytest.mark.parametrize("flag,value,message", [
    ("--focal-length", "nan", "finite"), ("--focal-length", "inf", "finite"), ("--focal-length", "-5", "at least 1"),
    ("--focal-length", "0", "at least 1"), ("--smooth-beta", "-1", "at least 0"),
    ("--smooth-min-cutoff", "nan", "finite"),
    ("--bbox", "nan,1,2,3", "--bbox must be X,Y,W,H"), ("--bbox", "1,2,0,3", "positive width"),
    ("--batch-size", "0", "at least 1"), ("--batch-size", "two", "whole number"), ("--stride", "0", "at least 1"),
    ("--frame-range", "5:2", "is empty"), ("--frame-range", "a:b", "START:END"),
    ("--person", "me", "all, most-visible"),
    ("--precision", "fp8", "must be one of"),
])
def test_bad_values_are_refused_before_any_work(flag, value, message):
    with pytest.raises(UserError, match=message):
        build_parser().parse_args(["estimate", "--input", "x.png", "--output", "r.npz", flag, value])


def test_the_workers_command_line_gives_back_the_values():
    values = {"checkpoint": "/m/pare.ckpt", "bbox": "1.5,2,30,40", "detect": False, "person": "0,2", "refine": True,
              "smooth": False, "smooth_min_cutoff": 0.01, "smooth_beta": 0.5, "device": "cpu", "batch_size": 3,
              "precision": "bf16", "focal_length": 1234.5, "frame_range": "2:9", "stride": 2}
    line = spec.command_line(values)
    parsed = vars(build_parser().parse_args(["estimate", "--input", "a.mp4", "--output", "r.npz", *line]))
    assert {name: parsed[name] for name in values} == values
    assert spec.command_line({}) == []  # defaults need no words
    with pytest.raises(UserError, match="finite"):
        spec.command_line({"focal_length": math.nan})


def test_progress_events_are_versioned_and_checked():
    event = make_event("progress", stage="estimate", done=1, total=4)
    assert event["protocol"] == PROTOCOL_VERSION and parse_event(json.dumps(event)) == event
    assert parse_event("some log text") is None and parse_event("[1, 2]") is None
    with pytest.raises(ProtocolError, match="update the add-on"):
        parse_event(json.dumps({**event, "protocol": PROTOCOL_VERSION + 1}))
    with pytest.raises(ProtocolError, match="malformed"):
        parse_event(json.dumps({"event": "done", "protocol": 1}))
    with pytest.raises(ValueError):
        make_event("error", message="no kind")
    document = (ROOT / "docs" / "progress_protocol.md").read_text()
    assert f"version {PROTOCOL_VERSION}" in document
    for name, fields in EVENT_FIELDS.items():
        assert f"`{name}`" in document and all(f"`{field}`" in document for field in fields)


def imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


@pytest.mark.parametrize("folder", ["contract", "addon"])
def test_the_contract_and_the_add_on_never_import_torch_or_inference(folder):
    for path in (ROOT / folder).rglob("*.py"):
        imported = imported_modules(path)
        assert not {name for name in imported if name.split(".")[0] in ("torch", "smplx", "inference")}, path
        if folder == "contract":
            assert "bpy" not in {name.split(".")[0] for name in imported}, path


BLOCKED_IMPORT = r"""
import importlib, pathlib, sys, types
sys.modules["torch"] = None  # Blender's Python has no torch: any `import torch` now fails
root = pathlib.Path(sys.argv[1])
package = types.ModuleType("pare_body_estimator")
package.__path__ = [str(root)]
sys.modules["pare_body_estimator"] = package
for folder in ("contract", "addon", "addon/operators"):
    for path in sorted((root / folder).glob("*.py")):
        name = ".".join(("pare_body_estimator", *path.relative_to(root).with_suffix("").parts))
        importlib.import_module(name.removesuffix(".__init__"))
print("imported", len([m for m in sys.modules if m.startswith("pare_body_estimator.")]))
"""


def test_the_contract_and_every_add_on_module_import_with_torch_blocked():
    done = subprocess.run([sys.executable, "-c", BLOCKED_IMPORT, str(ROOT)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 40


@pytest.mark.parametrize("fact,home", [
    ('"neck", "left_collar", "right_collar", "head"', "contract/skeleton.py"),  # SMPL's joint names
    ("0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12", "contract/skeleton.py"),  # and parents
    ("smpl.is.tue.mpg.de", "contract/licensed_files.py"),  # where users get SMPL
])
def test_shared_facts_are_written_once(fact, home):
    places = [path.relative_to(ROOT).as_posix() for folder in ("contract", "addon", "inference", "tools")
              for path in (ROOT / folder).rglob("*.py") if fact in path.read_text()]
    assert places == [home]
