"""Motion quality on real footage: one camera's view estimated, scored against the other cameras' triangulation.

The footage (`bench/multiview_data/`, made by `tools/make_multiview_data.py`, BSD-3-Clause, see LICENSES.md
there) is Pose2Sim's demo trial: one real person balancing on a platform, 100 frames at 60 fps, filmed by
four calibrated cameras at 1080 x 1920. For each view, the estimate job runs on that view's video alone,
exactly as a user would (no focal length given, no licensed file), and its 12 limb joints are compared with a
3D reference triangulated (`bench/multiview.py`) from the other three views' keypoints, found by an
independent detector (OpenPose BODY_25B). The `landmark model alone` rows score the bundled landmark model's
own limb points on the same view (`bench/landmarks_alone.py`): what the keypoint fit is given.

    python bench/bench_multiview.py [--views 1,2,3,4] [--checkpoint CKPT [--smpl SMPL]] [--rule-weights]
                                    [--cut] [--small] [--two-people] [--write-readme]

`--cut` adds each view cut below the person's median knee height (the detector's), as in close framing;
`--two-people` adds a second table: each view of Pose2Sim's two-person take (`two_people`), bodies counted.

Both references carry their own definitions of the joints (OpenPose's hips and shoulders are not SMPL's):
a floor of some tens of millimetres under every PA figure here, which the synthetic clips do not have.
"""
from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_quality import (add_estimator_options, estimators, markdown_table, read_bodies,  # noqa: E402
                           run_estimate_command, write_readme)
from clip_variants import cut_below, rewrite_clip  # noqa: E402
from multiview import Camera, read_qualisys, smoothed, triangulate  # noqa: E402
from quality_metrics import LIMB_JOINT_NAMES, LIMB_JOINTS, MM, consecutive_runs, pa_mpjpe, to_world  # noqa: E402
import two_people  # noqa: E402

DATA = ROOT / "bench" / "multiview_data"
CALIBRATION = DATA / "calibration.qca.txt"
HEADING = "## Motion quality on real footage"
LANDMARKS_ALONE = "landmark model alone (reference)"
# OpenPose BODY_25B's index of each of the 12 limb joints, in LIMB_JOINT_NAMES order.
OPENPOSE_LIMBS = np.array([{"shoulder": 5, "elbow": 7, "wrist": 9, "hip": 11, "knee": 13, "ankle": 15}[
    name.split("_")[1]] + (name.startswith("right")) for name in LIMB_JOINT_NAMES])
MIN_CONFIDENCE = 0.3
SMALL = 0.25  # `--small`: each view at this fraction of its size, 270 x 480
REFERENCE_SMOOTHING = 2.0  # frames (Gaussian sigma) for the acceleration reference, at 60 fps
COLUMNS = ("estimator", "view", "bodies", "frames", "PA limbs", "accel", "accel 30 fps", "px limbs", "s")


def references(cameras: list[Camera], keypoints: np.ndarray) -> list[np.ndarray]:
    """(C, T, 25, 3) every camera's keypoints -> per camera, (T, 12, 3) the limb joints triangulated from the
    other cameras (metres, world frame; NaN where fewer than two of them saw a joint)."""
    limbs = keypoints[:, :, OPENPOSE_LIMBS]
    return [triangulate([c for i, c in enumerate(cameras) if i != view], np.delete(limbs, view, axis=0),
                        MIN_CONFIDENCE) for view in range(len(cameras))]


def detector_miss_px(points_2d: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """(T, 12, 2) pixels against the detector's (T, 12, 3) of this view -> (T, 12) distance, NaN where the
    detector was unsure."""
    miss = np.linalg.norm(points_2d - detected[..., :2], axis=-1)
    return np.where(detected[..., 2] >= MIN_CONFIDENCE, miss, np.nan)


def hip_relative_acceleration_error(predicted: np.ndarray, reference: np.ndarray, frames: np.ndarray) -> float:
    """Mean difference (mm/frame^2) of the hip-centre-relative limb joints' accelerations, over runs of
    consecutive frames (the reference has no pelvis: the hips' midpoint stands in)."""
    relative = [points - points[:, :2].mean(axis=1, keepdims=True) for points in (predicted, reference)]
    pieces = [np.diff(relative[0][run] - relative[1][run], n=2, axis=0) for run in consecutive_runs(frames, 3)]
    return float(np.linalg.norm(np.concatenate(pieces), axis=-1).mean() * MM) if pieces else float("nan")


def score(frames: np.ndarray, world: np.ndarray, points_2d: np.ndarray, reference: np.ndarray,
          detected: np.ndarray, in_world: bool) -> dict[str, float]:
    """One body (frames (T,), world (T, 12, 3), points_2d (T, 12, 2)) against the view's reference and
    detector, over the frames where the reference has all 12 joints; acceleration only for points `in_world`
    (the landmark model's 3D points are in axes of its own, turned from the world's)."""
    full = np.isfinite(reference[frames]).all(axis=(1, 2))
    frames, world, points_2d = frames[full], world[full], points_2d[full]
    figures = {"frames": float(len(frames)), "PA limbs": pa_mpjpe(world, reference[frames], np.arange(12)),
               "px limbs": float(np.nanmean(detector_miss_px(points_2d, detected[frames])))}
    if in_world:
        steady = smoothed(reference, REFERENCE_SMOOTHING)[frames]
        even = frames % 2 == 0  # every other frame: the same motion as footage filmed at 30 fps
        figures["accel"] = hip_relative_acceleration_error(world, steady, frames)
        figures["accel 30 fps"] = hip_relative_acceleration_error(world[even], steady[even], frames[even] // 2)
    return figures


def the_person(candidates: list[dict[str, np.ndarray]], detected: np.ndarray) -> dict[str, np.ndarray]:
    """Of the bodies (tracks) of one view, the person the detector's keypoints are on (a bystander stands
    further back in two views): the one nearest them in the picture, in the median."""
    return min(candidates, key=lambda body: np.nanmedian(detector_miss_px(body["points_2d"],
                                                                           detected[body["frame"]])))


def estimated_bodies(result: Path, camera: Camera) -> list[dict[str, np.ndarray]]:
    """The result's bodies as frame, 12 limb joints in the world (via the view's calibrated camera) and in the
    picture."""
    bodies = []
    for body in read_bodies(result):
        count = len(body["frame"])
        world = to_world(body["joints3d"][:, LIMB_JOINTS], np.repeat(camera.rotation[None], count, 0),
                         np.repeat(camera.translation[None], count, 0))
        bodies.append({"frame": body["frame"], "world": world, "points_2d": body["joints2d"][:, LIMB_JOINTS]})
    return bodies


def landmark_bodies(clip: Path) -> list[dict[str, np.ndarray]]:
    from landmarks_alone import landmark_tracks

    return [{"frame": track["frame"], "world": track["world"], "points_2d": track["joints2d"]}
            for track in landmark_tracks(clip)]


def row(name: str, view: str, bodies: list[dict[str, np.ndarray]], reference: np.ndarray, detected: np.ndarray,
        seconds: float) -> tuple[str, str, dict[str, float]]:
    """One table row: the person's body of this view's bodies, scored."""
    body = the_person(bodies, detected)
    figures = score(body["frame"], body["world"], body["points_2d"], reference, detected, name != LANDMARKS_ALONE)
    return name, view, {**figures, "bodies": float(len(bodies)), "s": seconds}


def shrunk(clip: Path, factor: float, target: Path) -> Path:
    """The clip scaled by `factor` (MJPG, same frame rate): its person as seen from further off."""
    return rewrite_clip(clip, target, lambda frame: cv2.resize(frame, None, fx=factor, fy=factor,
                                                               interpolation=cv2.INTER_AREA), codec="MJPG")


def cut_at_knees(clip: Path, keypoints: np.ndarray, scratch: Path) -> Path:
    """The view cut below its person's median knee height (the detector's): shins and feet leave the picture
    in about half the frames, as in close framing. Pixels above the cut keep their coordinates."""
    knees = keypoints[:, [OPENPOSE_LIMBS[2], OPENPOSE_LIMBS[3]], 1]
    return cut_below(clip, int(round(float(np.nanmedian(knees)))), scratch / f"{clip.stem}_cut.mp4")


def _cell(figures: dict[str, float], column: str) -> str:
    value = figures.get(column, float("nan"))
    if column in ("bodies", "frames", "s"):
        return f"{value:.0f}"
    return "-" if np.isnan(value) else f"{value:.1f}" if column in ("accel", "accel 30 fps", "px limbs") \
        else f"{value:.0f}"


def table(rows: list[tuple[str, str, dict[str, float]]]) -> str:
    return markdown_table(COLUMNS, rows, _cell)


def readme_section(rows: list[tuple[str, str, dict[str, float]]], pairs: list[tuple[str, str, dict]]) -> str:
    return f"""{HEADING}

`python bench/bench_multiview.py --cut --small --two-people --write-readme` (about four minutes on two cores)
estimates each of the four views of real calibrated footage (`bench/multiview_data/`: Pose2Sim's demo trial,
one person balancing on a platform, 100 frames at 60 fps, 1080 x 1920, face pixelated; BSD-3-Clause) on its
own, as a user would (no focal length, no licensed file), and scores its 12 limb joints against a 3D reference
triangulated from the other three views' keypoints, found by an independent detector (OpenPose BODY_25B,
shipped with the footage). `camera N cut` rows (`--cut`): that view with every row below the person's
median knee height cut off, as in close framing; `camera N small` rows (`--small`): that view at a quarter of
its size (270 x 480, the person about 250 px tall, as someone further off; its `px limbs` are in those
pixels). Add `--checkpoint CKPT [--smpl SMPL]` for PARE. The
definitions of the joints differ (OpenPose's hips and shoulders are not SMPL's), so every PA figure here
carries a floor of a few centimetres that the synthetic clips' do not.

Columns: `bodies` the job estimated in the view (a bystander stands in the back of views 1 and 2); `frames`
scored (the person's body, where the reference has all 12 joints); `PA limbs` (mm) after a per-frame
similarity alignment; `accel` (mm/frame^2 at 60 fps) against the reference smoothed over time (Gaussian, sigma
{REFERENCE_SMOOTHING:g} frames), hip-centre-relative, and `accel 30 fps` the same on every other frame (what
footage filmed at 30 fps, as the synthetic clips, would show: two to three times the 60 fps figure here);
`px limbs` the limb joints' distance in the picture from the detector's in this view (not used by its
reference; includes the two definitions' difference, about 15-30 px at the hips); `s` seconds.

Measured {datetime.date.today().isoformat()}:

{table(rows)}
""" + (f"""
{textwrap.fill("`--two-people`: " + " ".join(two_people.__doc__.split(chr(10) + chr(10), 1)[1].split()), 115)}

{two_people.table(pairs)}
""" if pairs else "")


def two_people_rows(args: argparse.Namespace, chosen: list, result: Path) -> list[tuple[str, str, dict]]:
    """Each chosen view of the two-person take, per estimator: bodies counted (`two_people`)."""
    from contract.skeleton import JOINT_NAMES
    from inference.duplicate_tracks import mirror_order

    rows = []
    for camera in (int(v) for v in args.views.split(",")):
        for estimator in chosen:
            seconds = run_estimate_command(two_people.TAKE / f"cam0{camera}.mp4", result, estimator)
            values = two_people.figures(read_bodies(result), camera, mirror_order(JOINT_NAMES), seconds)
            rows.append((estimator.name, f"camera {camera}", values))
            print(two_people.table(rows[-1:]).splitlines()[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", default="1,2,3,4", help="comma-separated camera numbers")
    add_estimator_options(parser)
    parser.add_argument("--cut", action="store_true", help="adds each view cut below the person's knees")
    parser.add_argument("--small", action="store_true",
                        help=f"adds each view at {SMALL} of its size (the person about 250 px tall)")
    parser.add_argument("--two-people", action="store_true", help="adds each view of the two-person take")
    parser.add_argument("--write-readme", action="store_true", help="write the table into bench/README.md")
    args = parser.parse_args(argv)
    with np.load(DATA / "openpose_2d.npz") as stored:
        keypoints = stored["keypoints"].astype(np.float64)
    cameras = read_qualisys(CALIBRATION)
    reference = references(cameras, keypoints)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        result = Path(scratch) / "result.npz"
        chosen = estimators(args, Path(scratch))
        for view in (int(v) - 1 for v in args.views.split(",")):
            clip = DATA / f"cam0{view + 1}.mp4"
            variants = [(f"camera {view + 1}", clip, 1.0)]
            if args.cut:
                variants.append((f"camera {view + 1} cut", cut_at_knees(clip, keypoints[view], Path(scratch)), 1.0))
            if args.small:
                small = shrunk(clip, SMALL, Path(scratch) / f"{view}_small.avi")
                variants.append((f"camera {view + 1} small", small, SMALL))
            for label, footage, scale in variants:
                detected = keypoints[view][:, OPENPOSE_LIMBS] * np.array([scale, scale, 1.0])
                for estimator in chosen:
                    seconds = run_estimate_command(footage, result, estimator)
                    rows.append(row(estimator.name, label, estimated_bodies(result, cameras[view]), reference[view],
                                    detected, seconds))
                    print(table(rows[-1:]).splitlines()[-1], flush=True)
                started = time.perf_counter()
                bodies = landmark_bodies(footage)
                rows.append(row(LANDMARKS_ALONE, label, bodies, reference[view], detected,
                                time.perf_counter() - started))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
        pairs = two_people_rows(args, chosen, result) if args.two_people else []
    print(table(rows))
    if pairs:
        print(two_people.table(pairs))
    if args.write_readme:
        write_readme(readme_section(rows, pairs), HEADING)
        print("written to bench/README.md")


if __name__ == "__main__":
    main()
