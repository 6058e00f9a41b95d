"""Copy the real-footage benchmark's data out of a clone of Pose2Sim (BSD-3-Clause) into bench/multiview_data/.

Pose2Sim's demo trial ("balancing", one person, 100 frames at 60 fps) was filmed by four calibrated cameras
(a Qualisys calibration file) and ships, in its history, the 2D keypoints an independent detector (OpenPose,
BODY_25B) found in every view. From them `bench/bench_multiview.py` triangulates a 3D reference for each view
from the other three, and scores the estimator run on that one view. This copies the four videos and the
calibration file as they are and packs the detector's JSON files into one array, keeping per camera and frame
the tallest skeleton (the person on the platform; a bystander stands further back in two views). It also
copies the four videos of Pose2Sim's two-person take into `two_people/` (same cameras; no keypoints of its own).

    python tools/make_multiview_data.py --pose2sim PATH_TO_POSE2SIM_GIT_DIR [--out bench/multiview_data]

Reads with `git show`, so a bare mirror works. Deterministic.
"""
from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Where each file is in Pose2Sim's history: the videos and calibration as shipped in 2026, the keypoints
# at the last commit that shipped them (2024-04-13); both videos are the same files (same git blobs).
NEW, OLD = "f7b39c747b361ce2cef2304bd7d42dddd15b3d36", "bd9bbb68abc504ca2d9f752793a41ebc69308bbf"
VIDEOS = "Pose2Sim/Demo_SinglePerson/videos/cam0{camera}.mp4"
# The two-person take: the same cameras and calibration; its videos only (the keypoints Pose2Sim shipped for a
# two-person trial belong to an earlier recording: drawn on these frames they miss the woman).
TWO_PEOPLE_VIDEOS = "Pose2Sim/Demo_MultiPerson/videos/cam0{camera}.mp4"
CALIBRATION = "Pose2Sim/Demo_SinglePerson/calibration/Calib.qca.txt"
KEYPOINTS = ("Pose2Sim/S00_Demo_Session/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial/pose/"
             "cam0{camera}_json/")
CAMERAS = (1, 2, 3, 4)
POINTS = 25  # OpenPose BODY_25B


def _git(repo: Path, *arguments: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *arguments], check=True, capture_output=True).stdout


def tallest_person(people: list[dict]) -> np.ndarray:
    """OpenPose's people of one image -> (25, 3) x, y, confidence of the tallest skeleton (NaN if none)."""
    best, height = np.full((POINTS, 3), np.nan), -1.0
    for person in people:
        points = np.asarray(person["pose_keypoints_2d"], dtype=np.float64).reshape(POINTS, 3)
        seen = points[:, 2] > 0.1
        extent = float(np.ptp(points[seen, 1])) if seen.sum() > 3 else 0.0
        if extent > height:
            best, height = points, extent
    return best


def camera_keypoints(repo: Path, camera: int) -> np.ndarray:
    """(frames, 25, 3) the tallest skeleton per frame of one camera's JSON files, in frame order."""
    listing = _git(repo, "ls-tree", "--name-only", OLD, KEYPOINTS.format(camera=camera)).decode().split()
    frames = [json.loads(_git(repo, "show", f"{OLD}:{name}"))["people"] for name in sorted(listing)]
    return np.stack([tallest_person(people) for people in frames])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pose2sim", type=Path, required=True, help="a clone (or bare mirror) of Pose2Sim")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "multiview_data")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "two_people").mkdir(exist_ok=True)
    for camera in CAMERAS:
        video = _git(args.pose2sim, "show", f"{NEW}:{VIDEOS.format(camera=camera)}")
        (args.out / f"cam0{camera}.mp4").write_bytes(video)
        video = _git(args.pose2sim, "show", f"{NEW}:{TWO_PEOPLE_VIDEOS.format(camera=camera)}")
        (args.out / "two_people" / f"cam0{camera}.mp4").write_bytes(video)
    (args.out / "calibration.qca.txt").write_bytes(_git(args.pose2sim, "show", f"{NEW}:{CALIBRATION}"))
    keypoints = np.stack([camera_keypoints(args.pose2sim, camera) for camera in CAMERAS]).astype(np.float32)
    np.savez_compressed(args.out / "openpose_2d.npz", keypoints=keypoints, cameras=np.array(CAMERAS))
    print(f"{args.out}: 4 videos, calibration, keypoints {keypoints.shape}; two_people/: 4 videos")


if __name__ == "__main__":
    main()
