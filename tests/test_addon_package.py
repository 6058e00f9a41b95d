"""The extension zip as Blender's tool builds it: runtime assets in, sample media out, and the worker started
from the unpacked extension finds the bundled `inference` package and writes nothing into the extension."""
import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_addon_extension import run_tool  # noqa: E402

WORKER_FROM_EXTENSION = r"""
import importlib.util, pathlib, sys
sys.dont_write_bytecode = True
root = pathlib.Path(sys.argv[1])  # the unpacked extension, loaded as a package the way Blender loads it
spec = importlib.util.spec_from_file_location("pare_body_estimator", root / "__init__.py",
                                              submodule_search_locations=[str(root)])
package = importlib.util.module_from_spec(spec)
sys.modules["pare_body_estimator"] = package
spec.loader.exec_module(package)
from pare_body_estimator.addon.worker import start_child
process = start_child([sys.executable, "-c", "import inference.cli, contract.result_file as r; print(r.__file__)"])
lines = list(process.all_lines())
print("EXIT", process.wait(), *lines)
"""


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    done = run_tool("build", "--source-dir", ROOT, "--output-dir", out)
    assert done.returncode == 0, done.stdout + done.stderr
    archive = zipfile.ZipFile(next(out.glob("pare_body_estimator-*.zip")))
    folder = tmp_path_factory.mktemp("extensions") / "pare_body_estimator"
    archive.extractall(folder)
    return archive.namelist(), folder


def test_runtime_assets_ship_and_samples_do_not(unpacked):
    names, _ = unpacked
    runtime = [path.relative_to(ROOT).as_posix() for kind in ("models", "body")
               for path in (ROOT / "assets" / kind).rglob("*") if path.is_file()]
    assert runtime and set(runtime) <= set(names)
    assert not [name for name in names if name.startswith(("assets/samples/", "tools/", "tests/"))]
    assert "pyproject.toml" in names  # the environment setup installs its dependencies


def test_the_worker_runs_the_bundled_inference_package(unpacked, tmp_path):
    _, folder = unpacked
    done = subprocess.run([sys.executable, "-c", WORKER_FROM_EXTENSION, str(folder)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    exits = [line for line in done.stdout.splitlines() if line.startswith("EXIT ")]  # 5.2 logs OCIO first
    assert exits and exits[-1].startswith("EXIT 0 "), done.stdout + done.stderr
    assert pathlib.Path(exits[-1].split()[2]).is_relative_to(folder)
    assert not list(folder.rglob("__pycache__"))
