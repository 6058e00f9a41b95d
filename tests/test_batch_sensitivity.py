"""`addon/batch.py --sensitivity FRAMES`: occlusion sensitivity maps made headless, kept beside the .blend."""
import pathlib
import sys

import addon_harness  # noqa: F401  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import bpy
import numpy as np

from test_retarget_batch import ROOT, run_batch


def test_batch_maps_occlusion_sensitivity_into_a_folder_beside_the_blend(tmp_path):
    """The real worker (landmark fit, stand-in body) on the astronaut photo: the map of its one person."""
    photo = ROOT / "assets" / "samples" / "astronaut.jpg"
    out = tmp_path / "out"
    done = run_batch("--input", photo, "--output", out / "shot.blend", "--sensitivity", "0", "--python",
                     sys.executable, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["shot.blend", "shot_sensitivity"]
    maps = np.load(out / "shot_sensitivity" / "person0_frame0.npz", allow_pickle=False)
    assert maps["mean_error_mm"].shape == (len(maps["center_xy"]),) and maps["mean_error_mm"].max() > 0
    bpy.ops.wm.open_mainfile(filepath=str(out / "shot.blend"))
    body = bpy.data.objects["person_0_body"]
    assert "Sensitivity mean" in body.data.color_attributes
    images = [image for image in bpy.data.images if "shot_sensitivity" in image.filepath]
    assert images and all(pathlib.Path(bpy.path.abspath(image.filepath)).is_file() for image in images)

    done = run_batch("--input", photo, "--output", out / "again.blend", "--sensitivity", "first", cwd=tmp_path)
    assert done.returncode == 2 and "--sensitivity takes source frames" in done.stderr
    assert not (out / "again.blend").exists()
