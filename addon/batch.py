"""Headless scene building, for pipelines: footage or a result file in, a .blend (and a preview picture) out.

    python addon/batch.py -- --input clip.mp4 --output out/shot.blend --preview out/shot.png
    blender -b --python addon/batch.py -- --input clip.mp4 --checkpoint CKPT --smpl SMPL --output shot.blend
    blender -b --python addon/batch.py -- --from-result result.npz [--smpl SMPL] --output shot.blend

Runs from any working directory, where the bpy module is installed or inside Blender. Without a checkpoint the
bundled keypoint backend estimates the people, without an SMPL file the bundled stand-in body is used; a result
computed with SMPL needs --smpl to be built. The scene starts empty (factory settings; a .blend opened on
Blender's command line is discarded) and gets a sky, a sun and part-coloured bodies, so it renders as the
preview shows. Background Blender runs no timers or modal operators, so everything here is synchronous: with
--input the inference worker (`python -m inference estimate`, in the interpreter given by --python, which must
have torch, or else the first one found where torch imports) runs to the end before the scene is built; with
--overlays the part-map frames are written next; with --preview the middle frame is rendered last. The .blend,
the preview and the overlay folder are written under temporary names in their folders (created when missing)
and renamed only when everything is complete, so a failure never leaves a half-written file. Exit status:
0 done, 2 a problem with the inputs (one line on stderr, no traceback), 130 cancelled.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path

PACKAGE_NAME = "pare_body_estimator"  # the name Blender gives the installed extension


def load_extension_package() -> None:
    """Make the repository root importable as the package `pare_body_estimator`: addon/, contract/ and
    inference/ import each other relatively, as inside an installed extension. A bare package module is enough
    (the root __init__, which registers the extension's UI, is not run); the imports after it are plain ones."""
    if PACKAGE_NAME not in sys.modules:
        package = types.ModuleType(PACKAGE_NAME)
        package.__path__ = [str(Path(__file__).resolve().parents[1])]
        sys.modules[PACKAGE_NAME] = package


def script_arguments(argv: list[str]) -> list[str]:
    """Blender passes its own options first; the script's follow `--`. Plain Python may omit the `--`."""
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


if __name__ == "__main__":
    load_extension_package()
    from pare_body_estimator.addon.batch_job import main

    sys.exit(main(script_arguments(sys.argv)))
