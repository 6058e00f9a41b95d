"""Render the motion-quality benchmark's clips and write their ground truth into bench/quality_data/.

Each clip: the stand-in body, clothed, performing a real motion capture (DeepMimic's clips as shipped in
pybullet, `tools/quality_clips/motions/`, see LICENSES.md there) in a textured room, filmed by a known camera
with Cycles; written as an MP4 (mp4v) and a `<name>_truth.npz` of every joint's 3D and 2D truth, the camera
and the person's mask (bench/quality_data/README.md). Deterministic up to the renderer's noise.

    .venv/bin/python tools/make_quality_clips.py [--clips walk,turn] [--frames N] [--samples 4] [--out DIR]

About 1 s a frame on two idle cores at the default settings, 2.5 s on busy ones, four times as much for the
1280 x 720 `near` (13 to 31 minutes for the seven clips; `floor` 2 minutes).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

import bpy  # noqa: E402,F401  (first: mathutils comes with it)
import cv2  # noqa: E402

from quality_clips.blender_scene import add_person, new_scene, place_camera, render_frame  # noqa: E402
from quality_clips.body_motion import pose_body  # noqa: E402
from quality_clips.camera_path import orbit_camera  # noqa: E402
from quality_clips.clips import CLIPS, FPS, MOTIONS, ClipSpec  # noqa: E402
from quality_clips.deepmimic import resample  # noqa: E402
from quality_clips.truth import write_truth  # noqa: E402

TARGET_HEIGHT_M = 0.9  # cameras aim at about hip height


def make_clip(spec: ClipSpec, out: Path, frames: int, samples: int) -> None:
    body = pose_body(resample(MOTIONS / spec.motion, FPS, frames, spec.start_s), spec.betas)
    target = body.joints[:, 0].mean(axis=0)
    target[2] = TARGET_HEIGHT_M
    camera = orbit_camera(target, spec.azimuth_deg, spec.distance_m, spec.height_m, spec.pan_deg, frames,
                          spec.size, spec.focal_px)
    scene = new_scene(camera, samples, spec.denoise)
    person = add_person(body.faces, body.vertices[0], spec.outfit)
    video_path = out / f"{spec.name}.mp4"
    video = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, spec.size)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for frame in range(frames):
            place_camera(scene, camera.rotation[frame], camera.position[frame])
            still = Path(scratch) / "frame.png"
            render_frame(scene, person, body.vertices[frame], still)
            video.write(cv2.imread(str(still)))
    video.release()
    write_truth(out / f"{spec.name}_truth.npz", body, camera, FPS,
                {"clip": spec.name, "what": spec.what, "motion": spec.motion, "frames": frames,
                 "world": "Blender world: metres, z up, floor at z = 0"})
    print(f"{spec.name}: {frames} frames in {time.perf_counter() - started:.0f} s -> {video_path} "
          f"({video_path.stat().st_size / 1e6:.2f} MB)", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default=",".join(spec.name for spec in CLIPS))
    parser.add_argument("--frames", type=int, default=0, help="frames per clip (0: each clip's own)")
    parser.add_argument("--samples", type=int, default=4, help="Cycles samples per pixel")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "quality_data")
    args = parser.parse_args(argv)
    wanted = args.clips.split(",")
    unknown = set(wanted) - {spec.name for spec in CLIPS}
    if unknown:
        parser.error(f"unknown clips {sorted(unknown)}; there are {[spec.name for spec in CLIPS]}")
    args.out.mkdir(parents=True, exist_ok=True)
    for spec in CLIPS:
        if spec.name in wanted:
            make_clip(spec, args.out, args.frames or spec.frames, args.samples)


if __name__ == "__main__":
    main()
