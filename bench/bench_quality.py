"""Motion quality against ground truth: the estimator run on rendered clips whose every joint is known.

The clips (`bench/quality_data/`, made by `tools/make_quality_clips.py`) show the stand-in body performing
real motion capture, filmed by a known camera. Each is estimated with `python -m inference estimate` exactly
as a user would (the known focal length passed), and its result compared with the truth
(`bench/quality_metrics.py` says what each figure means). Estimators: the keypoint fit (no licensed file),
always; PARE with `--checkpoint` (and `--smpl`); PARE with rule-filled weights (`--rule-weights`, a plumbing
check only: such weights estimate nothing); the landmark model alone (`--landmarks-alone`,
`bench/landmarks_alone.py`), a reference: what the keypoint fit is given.

    python bench/bench_quality.py [--clips walk,turn] [--checkpoint CKPT [--smpl SMPL]] [--rule-weights]
                                  [--cut] [--lens 0.6,1.6] [--landmarks-alone] [--write-readme]

`--cut` adds each clip cut below the knees (`cut_at_knees`): legs leaving the picture, as in close framing.
`--lens 0.6,1.6` adds each whole clip estimated with its focal length off by those factors: footage whose lens
is not the one assumed (users rarely know their lens; without `--focal-length` the job assumes a normal one).

`--write-readme` replaces the "Motion quality" section of bench/README.md with today's table.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from clip_variants import cut_at_knees, turned, with_lens_error  # noqa: E402
from quality_metrics import (ALL_JOINTS, LIMB_JOINTS, absolute_mpjpe, acceleration_error,  # noqa: E402
                             in_picture, jitter, joints_on_person, pa_mpjpe, root_aligned_mpjpe, to_world)

DATA = ROOT / "bench" / "quality_data"
README = ROOT / "bench" / "README.md"
HEADING = "## Motion quality"
ON_PERSON_FRACTION = 0.5  # a body overlaps its person when at least half its joints land on the person
LANDMARKS_ALONE = "landmark model alone (reference)"
COLUMNS = ("estimator", "clip", "bodies", "coverage", "PA limbs", "PA all", "RA limbs", "RA all", "abs all",
           "px limbs", "accel", "jitter (truth)", "off-person", "s")


@dataclass(frozen=True)
class Estimator:
    name: str
    arguments: tuple[str, ...]


def read_truth(path: Path) -> dict:
    """A clip's truth file as a dict of arrays, its meta decoded and its person masks unpacked (T, H, W)."""
    with np.load(path, allow_pickle=False) as stored:
        truth = {key: stored[key] for key in stored.files}
    truth["meta"] = json.loads(str(truth["meta"]))
    truth["mask"] = np.unpackbits(truth.pop("mask_bits"), axis=-1, count=truth["meta"]["image_width"]).astype(bool)
    return truth


def read_bodies(path: Path) -> list[dict[str, np.ndarray]]:
    """Each person of a result file (frame, joints3d, joints2d), read with numpy as docs/result_format.md
    shows, so the benchmark measures any version of the estimator that writes the format."""
    with np.load(path, allow_pickle=False) as result:
        meta = json.loads(str(result["meta"]))
        return [{key: result[f"person_{p}/{key}"] for key in ("frame", "joints3d", "joints2d")}
                for p in meta["persons"]]


def _person_frames(bodies: list[dict[str, np.ndarray]], truth: dict,
                   joints: np.ndarray = ALL_JOINTS) -> tuple[np.ndarray, ...]:
    """Which estimated body stands for the person in each frame: of the bodies with joints in that frame,
    the one with most joints on the person's mask, if at least ON_PERSON_FRACTION of them are, of the joints
    the truth has inside the picture (the bodies' joints are the truth's `joints` columns). A track that broke
    in two is followed across the break. Returns (frames, body index, row in that body) sorted by frame, and
    the number of body-frames off the person (any body, ghosts included)."""
    masks = truth["mask"]
    counted = in_picture(truth["joints_2d"], masks.shape[1:])[:, joints]
    best = np.full(len(masks), -1)
    row = np.full(len(masks), -1)
    score = np.full(len(masks), ON_PERSON_FRACTION - 1e-9)
    off_person = 0
    for index, body in enumerate(bodies):
        on_person = joints_on_person(body["joints2d"], masks[body["frame"]], counted[body["frame"]])
        off_person += int((on_person < ON_PERSON_FRACTION).sum())
        better = on_person > score[body["frame"]]
        best[body["frame"][better]], row[body["frame"][better]] = index, np.flatnonzero(better)
        score[body["frame"][better]] = on_person[better]
    frames = np.flatnonzero(best >= 0)
    return frames, best[frames], row[frames], off_person


def limb_misses_px(image_points: np.ndarray, truth: dict, frames: np.ndarray) -> float:
    """Mean pixel distance of (T, 12, 2) limb points in `frames` from the truth's, where the camera sees them."""
    visible = truth["visible"][frames][:, LIMB_JOINTS]
    misses = np.linalg.norm(image_points - truth["joints_2d"][frames][:, LIMB_JOINTS], axis=-1)
    return float(misses[visible].mean())


def _coverage(frames: np.ndarray, truth: dict) -> float:
    seen = np.flatnonzero(truth["mask"].any(axis=(1, 2)))
    return len(np.intersect1d(frames, seen)) / max(len(seen), 1)


def evaluate_landmarks(tracks: list[dict[str, np.ndarray]], truth: dict) -> dict[str, float]:
    """`landmarks_alone.landmark_tracks` against the truth: the same frame choice as `evaluate`, on the 12
    limb points; PA limbs and px limbs only (the landmark model has no pelvis, no camera placement)."""
    frames, track_of_frame, row, off_person = _person_frames(tracks, truth, LIMB_JOINTS)
    figures = {"bodies": float(len(tracks)), "coverage": _coverage(frames, truth), "off-person": float(off_person)}
    if len(frames):
        world = np.stack([tracks[t]["world"][r] for t, r in zip(track_of_frame, row)])
        image_points = np.stack([tracks[t]["joints2d"][r] for t, r in zip(track_of_frame, row)])
        figures["PA limbs"] = pa_mpjpe(world, truth["joints_world"][frames][:, LIMB_JOINTS], np.arange(12))
        figures["px limbs"] = limb_misses_px(image_points, truth, frames)
    return figures


def evaluate(bodies: list[dict[str, np.ndarray]], truth: dict) -> dict[str, float]:
    """The figures of one result against one clip's truth, over the frames where a body stands on the person
    (`_person_frames`); motion figures only inside runs of frames followed by the same body."""
    frames, body_of_frame, row, off_person = _person_frames(bodies, truth)
    figures = {"bodies": float(len(bodies)), "coverage": _coverage(frames, truth), "off-person": float(off_person)}
    if not len(frames):
        return figures
    camera_points = np.stack([bodies[b]["joints3d"][r] for b, r in zip(body_of_frame, row)])
    image_points = np.stack([bodies[b]["joints2d"][r] for b, r in zip(body_of_frame, row)])[:, LIMB_JOINTS]
    predicted = to_world(camera_points, truth["camera_rotation"][frames], truth["camera_translation"][frames])
    actual = truth["joints_world"][frames]
    # A change of body breaks a run just as a missing frame does: shift later frames apart at each change.
    timeline = frames + 2 * np.concatenate([[0], np.cumsum(np.diff(body_of_frame) != 0)])
    figures.update({
        "PA limbs": pa_mpjpe(predicted, actual, LIMB_JOINTS), "PA all": pa_mpjpe(predicted, actual, ALL_JOINTS),
        "RA limbs": root_aligned_mpjpe(predicted, actual, LIMB_JOINTS),
        "RA all": root_aligned_mpjpe(predicted, actual, ALL_JOINTS),
        "abs all": absolute_mpjpe(predicted, actual, ALL_JOINTS),
        "px limbs": limb_misses_px(image_points, truth, frames),
        "accel": acceleration_error(predicted, actual, timeline),
        "jitter": jitter(predicted, timeline), "truth jitter": jitter(actual, timeline),
    })
    return figures


class EstimateFailed(RuntimeError):
    """The estimate command failed; `code` 2 is a user-facing error such as "Nobody was found"."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def run_estimate_command(clip: Path, output: Path, estimator: Estimator, extra: tuple[str, ...] = ()) -> float:
    """Run `python -m inference estimate` with the estimator's arguments (and `extra`) on the clip as a user
    would (no licensed file from the environment); the seconds it took. Raises with its message on failure."""
    command = [sys.executable, "-m", "inference", "estimate", "--input", str(clip), "--output", str(output),
               "--progress", "none", *extra, *estimator.arguments]
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("PARE_BODY_CHECKPOINT", "PARE_BODY_SMPL")}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        raise EstimateFailed(done.returncode, f"{estimator.name} on {clip.name} failed ({done.returncode}): "
                                              f"{done.stderr.strip()}")
    return time.perf_counter() - started


def estimate(clip: Path, truth: dict, estimator: Estimator, output: Path) -> float:
    """`run_estimate_command` of the estimator, given the focal length the truth's meta gives it."""
    focal = truth["meta"].get("assumed_focal_length_px", truth["meta"]["focal_length_px"])
    return run_estimate_command(clip, output, estimator, ("--focal-length", str(focal)))


def _cell(figures: dict[str, float], column: str) -> str:
    if column == "coverage":
        return f"{figures['coverage']:.0%}"
    if column == "jitter (truth)":
        return f"{figures['jitter']:.1f} ({figures['truth jitter']:.1f})" if "jitter" in figures else "-"
    if column in ("bodies", "off-person", "s"):
        return f"{figures[column]:.0f}"
    value = figures.get(column, float("nan"))
    return "-" if np.isnan(value) else f"{value:.1f}" if column in ("accel", "px limbs") else f"{value:.0f}"


def markdown_table(columns: tuple[str, ...], rows: list[tuple[str, str, dict]],
                   cell: Callable[[dict, str], str]) -> str:
    """Rows of (estimator, clip or view, figures) as a markdown table: the first two columns as given, the
    others each `cell(figures, column)`."""
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join([name, label] + [cell(figures, column) for column in columns[2:]]) + " |"
              for name, label, figures in rows]
    return "\n".join(lines)


def table(rows: list[tuple[str, str, dict[str, float]]]) -> str:
    return markdown_table(COLUMNS, rows, _cell)


def readme_section(rows: list[tuple[str, str, dict[str, float]]], clips: list[dict]) -> str:
    """The README's "Motion quality" section: how the figures are made, what they mean, and today's table."""
    listing = "\n".join(f"* `{meta['clip']}`: {meta['what']} ({meta['frames']} frames, capture "
                        f"`{meta['motion']}`)" for meta in clips)
    return f"""{HEADING}

`python bench/bench_quality.py --cut --landmarks-alone --turn 90,180,270 --write-readme` (about a minute on two
cores for the keypoint fit, as much again for `--cut` and for `--landmarks-alone`, three more for `--turn` and
three with `--rule-weights`) runs
`python -m inference estimate` on each clip of `bench/quality_data/` (made by `tools/make_quality_clips.py`:
the stand-in body in clothes performing real motion capture in a textured room, filmed by a known camera,
every joint's 3D truth known; see `bench/quality_data/README.md`) with the clip's focal length, and compares
the result's 24 joints with the truth. Add `--checkpoint CKPT [--smpl SMPL]` for PARE, `--rule-weights` for
PARE with rule-filled weights (a plumbing check only). `landmark model alone` rows (`--landmarks-alone`)
score the bundled landmark model's own limb points, 3D and 2D, found by the job's own detection and
tracking: what the keypoint fit is given. A fit scoring worse than them would be losing accuracy its input
had; they have PA limbs and px limbs only (no pelvis, no placement in the world).
`<clip> cut` rows (`--cut`): the same clip with every row below the knees' median height cut off, so shins
and feet leave the picture in about half the frames, as in close framing (the result's principal point is
then the cut frame's centre, a few degrees off the camera's: PA figures do not mind, RA and abs carry it).
`<clip> lens xF` rows (`--lens 0.6,1.6`): the whole clip estimated with its focal length off by F, as footage
whose lens is not the one assumed. `<clip> turned D` rows (`--turn 90,180,270`): the clip turned clockwise by D
degrees, its truth turned with it (a camera rolled about its axis): the person lying on their side or upside
down, or footage filmed sideways with no rotation mark.

{listing}

Columns: `bodies` estimated (1 expected; more when a track breaks or a ghost appears), `coverage` = frames where a
body stands on the person (at least half of its joints that the truth has inside the picture on the person's mask;
of several, the one with most) / frames the person is in; joint errors in mm over those frames: `PA` = after a
per-frame similarity alignment, `RA` = pelvises made equal (world frame), `abs` = in the world as placed by the
known camera (depth and size count); `px limbs` = pixels between the limb joints drawn in the picture and the
truth's, over the ones the camera sees (does the motion stay on the person); `limbs` = the 12 limb joints (hips,
knees, ankles, shoulders, elbows, wrists), `all` = the 24 joints; `accel` = acceleration error (mm/frame^2,
pelvis-relative), `jitter` = mean jerk (mm/frame^3, pelvis-relative) with the truth's own in brackets, both only
inside runs of consecutive frames on one body; `off-person` = frames of any body with fewer than half of those
joints on the person's mask; `s` = seconds for the whole estimate.

Measured {datetime.date.today().isoformat()}:

{table(rows)}
"""


def write_readme(section: str, heading: str = HEADING) -> None:
    """Replace the section under `heading` in bench/README.md (up to the next `## ` heading), or append it."""
    text = README.read_text() if README.is_file() else ""
    start = text.find(heading + "\n")
    if start < 0:
        README.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    following = text.find("\n## ", start + len(heading))
    rest = text[following + 1:] if following >= 0 else ""
    README.write_text(text[:start] + section + ("\n" + rest if rest else ""))


def estimators(args: argparse.Namespace, scratch: Path) -> list[Estimator]:
    chosen = [Estimator("keypoint fit", ())]
    if args.checkpoint:
        chosen.append(Estimator("PARE", ("--checkpoint", str(args.checkpoint),
                                         *(("--smpl", str(args.smpl)) if args.smpl else ()))))
    if args.rule_weights:
        from weight_rule import write_lightning_checkpoint
        checkpoint = scratch / "pare_rule_weights.ckpt"
        write_lightning_checkpoint(checkpoint, "pare_hrnet32_state_dict.tsv")
        chosen.append(Estimator("PARE, rule-filled weights (plumbing)", ("--checkpoint", str(checkpoint))))
    return chosen


def add_estimator_options(parser: argparse.ArgumentParser) -> None:
    """The options `estimators` reads: which estimators besides the keypoint fit."""
    parser.add_argument("--checkpoint", type=Path, help="a PARE checkpoint: adds PARE to the table")
    parser.add_argument("--smpl", type=Path, help="the SMPL file for --checkpoint (default: the stand-in body)")
    parser.add_argument("--rule-weights", action="store_true", help="adds PARE with rule-filled weights")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="", help="comma-separated clip names (default: all in quality_data)")
    add_estimator_options(parser)
    parser.add_argument("--cut", action="store_true", help="adds each clip cut below the knees")
    parser.add_argument("--lens", default="", help="comma-separated factors: adds each clip run with its focal "
                                                    "length off by them (a lens other than the one assumed)")
    parser.add_argument("--turn", default="", help="comma-separated degrees (90, 180, 270): adds each clip turned "
                                                    "by them (people lying down, upside down, filmed sideways)")
    parser.add_argument("--landmarks-alone", action="store_true",
                        help="adds the landmark model's own limb points: what the keypoint fit is given")
    parser.add_argument("--write-readme", action="store_true", help="write the table into bench/README.md")
    args = parser.parse_args(argv)
    paths = sorted(DATA.glob("*_truth.npz"))
    if args.clips:
        paths = [DATA / f"{name}_truth.npz" for name in args.clips.split(",")]
    rows, clips, variants = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        for path in paths:
            truth = read_truth(path)
            clips.append(truth["meta"])
            clip = path.with_name(path.name.replace("_truth.npz", ".mp4"))
            variants += [(clip, truth)] + ([cut_at_knees(clip, truth, Path(scratch))] if args.cut else [])
            variants += [(clip, with_lens_error(truth, float(factor))) for factor in args.lens.split(",") if factor]
            variants += [turned(clip, truth, int(turn), Path(scratch)) for turn in args.turn.split(",") if turn]
        for estimator in estimators(args, Path(scratch)):
            for clip, truth in variants:
                output = Path(scratch) / f"{clip.stem}.npz"
                started = time.perf_counter()
                try:
                    seconds = estimate(clip, truth, estimator, output)
                    figures = {**evaluate(read_bodies(output), truth), "s": seconds}
                except EstimateFailed as failed:  # "Nobody was found" is a figure too: no body, no coverage
                    if failed.code != 2:
                        raise
                    figures = {"bodies": 0.0, "coverage": 0.0, "off-person": 0.0, "s": time.perf_counter() - started}
                rows.append((estimator.name, truth["meta"]["clip"], figures))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
        if args.landmarks_alone:
            from landmarks_alone import landmark_tracks

            for clip, truth in variants:
                if "assumed_focal_length_px" in truth["meta"]:
                    continue  # the landmark model does not use the focal length
                started = time.perf_counter()
                figures = evaluate_landmarks(landmark_tracks(clip), truth)
                rows.append((LANDMARKS_ALONE, truth["meta"]["clip"], {**figures, "s": time.perf_counter() - started}))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    if args.write_readme:
        write_readme(readme_section(rows, clips))
        print(f"written to {README}")


if __name__ == "__main__":
    main()
