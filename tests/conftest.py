"""Test-session set-up: every temporary folder the tests and their subprocesses make (Blender user resources,
extension repositories, pytest's tmp_path) lives under one session folder that is removed at the end, so the
suite leaves nothing behind in the system's temporary folder and never touches a real Blender configuration.
"""
import atexit
import pathlib
import sys
import types
import os
import shutil
import tempfile

_SESSION = tempfile.mkdtemp(prefix="pare-tests-")
tempfile.tempdir = _SESSION
os.environ["TMPDIR"] = _SESSION  # subprocesses too
os.environ.setdefault("BLENDER_USER_RESOURCES", os.path.join(_SESSION, "blender-user"))
atexit.register(shutil.rmtree, _SESSION, ignore_errors=True)

# The repository root is the extension's package: addon/ imports contract/ relatively, as Blender imports an
# installed extension. Tests of the add-on's bpy-free modules import them as `pare_body_estimator.addon...`
# through this bare package (its __init__, which registers with Blender, is not run).
_PACKAGE = types.ModuleType("pare_body_estimator")
_PACKAGE.__path__ = [str(pathlib.Path(__file__).resolve().parents[1])]
sys.modules.setdefault("pare_body_estimator", _PACKAGE)
