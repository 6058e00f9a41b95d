"""Grounded motion (issue 10) through the product, on synthetic walks with a known answer.

`python bench/bench_grounding.py` films the synthetic walk of inference/grounding/synthetic.py with a static
and with a panning camera, turns a noisy estimate of it into a result file the way the estimate job does (the
camera followed by its CameraFollower on the rendered frames, then finalize.ground_tracks), builds the .blend
with `addon/batch.py --from-result`, and measures in the .blend (bench/grounded_blend.py), for the foot-locked
motion and the unlocked one kept beside it: floor level, trunk tilt, foot skate while on the ground, contact
share, penetration / float, pelvis trajectory error against the truth, and the camera's rotation error.
tests/test_grounded_scene.py runs the same path.

`--quality-clips walk,pan` also runs the whole estimate job on those rendered clips of bench/quality_data/
(real renders with a known camera: `pan` turns 24 degrees) and compares the result's world with the truth:
the camera's turn, the floor's tilt as the first camera sees it, and the pelvis trajectory.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from contract.result_file import PersonTrack, write_result  # noqa: E402
from contract.smpl_file import STANDIN_NAME  # noqa: E402
from contract.result_file import read_result  # noqa: E402
from inference.estimate_job import CameraFollower, run_estimate  # noqa: E402
from inference.finalize import ground_tracks  # noqa: E402
from inference.grounding import metrics, synthetic  # noqa: E402
from inference.grounding.rotations import rotation_angle_deg  # noqa: E402
from inference.grounding.take import PersonEstimate  # noqa: E402

SMALL = {"focal_px": 400.0, "image_size": (320, 240)}  # small frames keep the camera tracking quick


def synthetic_track(estimate: PersonEstimate, focal_px: float, image_size: tuple[int, int]) -> PersonTrack:
    """A camera-frame estimate -> the result file's track (stand-in body at zero shape, joints projected)."""
    n = len(estimate.frames)
    pixels = focal_px * estimate.joints3d[..., :2] / estimate.joints3d[..., 2:] + np.array(image_size) / 2.0
    axis_angle = np.array([cv2.Rodrigues(r)[0][:, 0] for r in estimate.pose_rotmat.reshape(-1, 3, 3)])
    low, high = pixels.min(axis=1), pixels.max(axis=1)
    f32 = np.float32
    return PersonTrack(frame=estimate.frames.astype(np.int64), bbox_xywh=np.column_stack([low, high - low]).astype(f32),
                       pose_rotmat=estimate.pose_rotmat.astype(f32),
                       pose_axis_angle=axis_angle.reshape(n, 72).astype(f32), betas=np.zeros((n, 10), f32),
                       crop_cam=np.tile(f32([1.0, 0.0, 0.0]), (n, 1)), cam_t=estimate.cam_t.astype(f32),
                       joints3d=estimate.joints3d.astype(f32), joints2d=pixels.astype(f32))


def mask_box(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool person mask -> its bounding box (x, y, w, h) px, as a detector would give it."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1], dtype=np.float64)


def write_synthetic_result(folder: Path, num_frames: int, panning: bool, foot_lock: bool
                           ) -> tuple[synthetic.WalkingClip, Path]:
    """Film, estimate with noise, follow the camera, ground and write `folder/result.npz` (its footage the
    first rendered frame): (the clip with its truth, the result's path)."""
    clip = synthetic.film(num_frames=num_frames, panning=panning, **SMALL)
    estimate = synthetic.noisy_estimate(clip)
    frames, masks = synthetic.render_background(clip)
    follower = CameraFollower(*clip.image_size, clip.focal_px)
    for index, (grey, mask) in enumerate(zip(frames, masks)):
        follower.add(index, cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), [mask_box(mask)])
    tracks, world, floor = ground_tracks([synthetic_track(estimate, clip.focal_px, clip.image_size)], clip.fps,
                                         clip.focal_px, follower.tracker.result(), None, foot_lock)
    footage = folder / "frame.png"
    cv2.imwrite(str(footage), frames[0])
    meta = {"image_width": clip.image_size[0], "image_height": clip.image_size[1], "fps": clip.fps,
            "focal_length_px": clip.focal_px, "frame_count": num_frames, "source": str(footage),
            "model": "synthetic", "body_model": STANDIN_NAME, "floor": floor}
    write_result(folder / "result.npz", meta, tracks, world)
    return clip, folder / "result.npz"


def build_blend(result: Path, blend: Path) -> subprocess.CompletedProcess:
    """`python addon/batch.py -- --from-result RESULT --output BLEND` in a fresh process."""
    env = {**os.environ, "BLENDER_USER_RESOURCES": tempfile.mkdtemp(prefix="pare-blender-user-")}
    return subprocess.run([sys.executable, str(ROOT / "addon" / "batch.py"), "--", "--from-result", str(result),
                           "--output", str(blend)], cwd=blend.parent, env=env, capture_output=True, text=True,
                          timeout=600)


def quality_clip_figures(name: str, folder: Path) -> dict[str, str]:
    """Estimate bench/quality_data/<name>.mp4 with its focal length and compare the grounded result with the
    clip's truth (its camera_rotation is camera-from-world, its world Z up with the floor at 0)."""
    truth = np.load(ROOT / "bench" / "quality_data" / f"{name}_truth.npz")
    focal = json.loads(str(truth["meta"]))["focal_length_px"]
    run_estimate(ROOT / "bench" / "quality_data" / f"{name}.mp4", folder / f"{name}.npz", {"focal_length": focal})
    result = read_result(folder / f"{name}.npz", include_maps=False)
    true_poses = np.swapaxes(truth["camera_rotation"].astype(np.float64), -1, -2)[result.world.camera_frame]
    found = result.world.camera_to_world[:, :3, :3]
    turns = np.swapaxes(found[0], -1, -2) @ found
    true_turns = np.swapaxes(true_poses[0], -1, -2) @ true_poses
    tilt = np.degrees(np.arccos(np.clip(found[0, 2] @ true_poses[0, 2], -1.0, 1.0)))
    person = max(result.persons, key=lambda track: len(track.frame))
    rest_pelvis = person.joints3d[:, 0] - person.cam_t
    errors = [metrics.trajectory_error_m(transl + rest_pelvis, truth["joints_world"][person.frame, 0])
              for transl in (person.world_transl, person.locked_transl)]
    return {"clip": name, "camera": result.meta.extra["floor"]["camera"],
            "pan": f"{rotation_angle_deg(true_turns).max():.1f}",
            "turn": f"{rotation_angle_deg(np.swapaxes(turns, -1, -2) @ true_turns).max():.2f}",
            "tilt": f"{tilt:.1f}", "trajectory": f"{100 * errors[0]:.1f} / {100 * errors[1]:.1f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality-clips", default="", help="also these clips of bench/quality_data, e.g. walk,pan")
    clips = [name for name in parser.parse_args().quality_clips.split(",") if name]
    import grounded_blend  # bpy: only for the measuring

    print("| camera | motion | floor level mm | trunk tilt deg | skate mm/frame | contact share | "
          "penetration / float mm | trajectory error cm | camera turn error deg |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for panning in (False, True):
            where = Path(folder) / ("panning" if panning else "static")
            where.mkdir()
            clip, result = write_synthetic_result(where, 90, panning, foot_lock=True)
            done = build_blend(result, where / "shot.blend")
            if done.returncode:
                raise SystemExit(done.stderr)
            for figures in grounded_blend.blend_figures(where / "shot.blend", clip):
                print(f"| {'panning' if panning else 'static'} | {figures.pop('motion')} | "
                      + " | ".join(figures.values()) + " |")
        if clips:
            print("\n| clip | camera found | true pan deg | camera turn error deg | floor tilt error deg | "
                  "pelvis trajectory error cm (unlocked / locked) |\n| --- | --- | --- | --- | --- | --- |")
        for name in clips:
            print("| " + " | ".join(quality_clip_figures(name, Path(folder)).values()) + " |")


if __name__ == "__main__":
    main()
