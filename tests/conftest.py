"""Test-session set-up: every temporary folder the tests and their subprocesses make (Blender user resources,
extension repositories, pytest's tmp_path) lives under one session folder that is removed at the end, so the
suite leaves nothing behind in the system's temporary folder and never touches a real Blender configuration.
"""
import atexit
import os
import shutil
import tempfile

_SESSION = tempfile.mkdtemp(prefix="pare-tests-")
tempfile.tempdir = _SESSION
os.environ["TMPDIR"] = _SESSION  # subprocesses too
os.environ.setdefault("BLENDER_USER_RESOURCES", os.path.join(_SESSION, "blender-user"))
atexit.register(shutil.rmtree, _SESSION, ignore_errors=True)
