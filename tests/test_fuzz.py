"""Fuzzing the exit-status contract (issue 12): seeded generators of corrupt result files, option values and
media. Each case must end in a value the program can use or one `UserError` line (exit 2 at the entry points),
never another exception, a hang or a file left behind. Most cases run in-process through the very functions the
entry points call (read_result, parse_value / the CLI's parser, read_image_rgb / open_frames); a handful go
through the real `python -m inference estimate` and `addon/batch.py --from-result` processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_files as hostile  # noqa: E402

from contract.errors import UserError  # noqa: E402
from contract.options import ESTIMATE_OPTIONS, SCENE_OPTIONS, check_value, parse_value  # noqa: E402
from contract.result_checks import ROTATION_TOLERANCE  # noqa: E402
from contract.result_file import read_result  # noqa: E402
from inference.cli import build_parser  # noqa: E402
from inference.frames import open_frames  # noqa: E402
from inference.image_io import read_image_rgb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED = 12
CASE_SECONDS = 2.0  # any single in-process case; a hang or an unbounded read shows up here

Mutation = Callable[[np.random.Generator, dict, Path], None]
ODD_VALUES = [None, -1, 0, 1e308, -1e308, "x", [], {}, True, 2 ** 70, float("nan"), float("inf"), 0.5, "", [1]]
ODD_DTYPES = [bool, np.complex64, "U3", np.int8, np.float16, np.float64, object, np.uint64, ">f4", "S2"]


def _float_key(rng: np.random.Generator, arrays: dict) -> str:
    keys = sorted(key for key, value in arrays.items() if key != "meta" and value.dtype.kind == "f")
    return keys[rng.integers(len(keys))]


def _any_key(rng: np.random.Generator, arrays: dict) -> str:
    keys = sorted(arrays)
    return keys[rng.integers(len(keys))]


def poke_value(rng, arrays, path):
    key = _float_key(rng, arrays)
    array = arrays[key].copy()
    array.reshape(-1)[rng.integers(array.size)] = rng.choice([np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0])
    arrays[key] = array
    hostile.save_arrays(path, arrays)


def scale_array(rng, arrays, path):
    key = _float_key(rng, arrays)
    arrays[key] = (arrays[key] * rng.choice([0.0, -1.0, 1.001, 1.5, 1e6, 1e-6])).astype(arrays[key].dtype)
    hostile.save_arrays(path, arrays)


def perturb_rotation(rng, arrays, path):
    rotations = arrays["person_0/pose_rotmat"].copy()
    noise = rng.normal(0, rng.choice([1e-4, 1e-2, 1.0]), (3, 3))
    rotations[rng.integers(len(rotations)), rng.integers(24)] += noise
    arrays["person_0/pose_rotmat"] = rotations
    hostile.save_arrays(path, arrays)


def change_dtype(rng, arrays, path):
    key = _any_key(rng, arrays)
    dtype = ODD_DTYPES[rng.integers(len(ODD_DTYPES))]
    try:
        arrays[key] = arrays[key].astype(dtype)
    except (TypeError, ValueError):
        arrays[key] = np.zeros(arrays[key].shape, dtype)
    hostile.save_arrays(path, arrays)


def drop_key(rng, arrays, path):
    del arrays[_any_key(rng, arrays)]
    hostile.save_arrays(path, arrays)


def cut_array(rng, arrays, path):
    key = _any_key(rng, {key: value for key, value in arrays.items() if value.ndim})
    value = arrays[key]
    arrays[key] = value[: rng.integers(len(value))] if rng.random() < 0.5 else value[..., :1]
    hostile.save_arrays(path, arrays)


def odd_meta_value(rng, arrays, path):
    meta = hostile.meta_of(arrays)
    name = sorted(meta)[rng.integers(len(meta))]
    meta[name] = ODD_VALUES[rng.integers(len(ODD_VALUES))]
    arrays["meta"] = np.array(json.dumps(meta))
    hostile.save_arrays(path, arrays)


def odd_meta_text(rng, arrays, path):
    text = json.dumps(hostile.meta_of(arrays))
    candidates = [text[: rng.integers(len(text))], "[" * 100_000, "null", "{}", "\x00",
                  text.replace("640", "6" * 5000)]
    arrays["meta"] = np.array(candidates[rng.integers(len(candidates))])
    hostile.save_arrays(path, arrays)


def meta_not_text(rng, arrays, path):
    candidates = [np.zeros(3), np.array([b"abc"]), np.array(["{}", "{}"]), np.array(b"{}")]
    arrays["meta"] = candidates[rng.integers(len(candidates))]
    hostile.save_arrays(path, arrays)


def forged_header(rng, arrays, path):
    hostile.save_arrays(path.with_suffix(".base.npz"), arrays)
    shape = tuple(int(n) for n in rng.integers(1, 10 ** 6, size=rng.integers(1, 4)))
    name = f"{_any_key(rng, arrays)}.npy"
    hostile.replace_member(path.with_suffix(".base.npz"), path, name, hostile.npy_claiming(shape, "<f8"))
    path.with_suffix(".base.npz").unlink()


def damaged_bytes(rng, arrays, path):
    hostile.save_arrays(path, arrays)
    data = bytearray(path.read_bytes())
    if rng.random() < 0.5:
        data = data[: rng.integers(len(data))]
    else:
        for at in rng.integers(len(data), size=rng.integers(1, 20)):
            data[at] = rng.integers(256)
    path.write_bytes(bytes(data))


def extra_person(rng, arrays, path):
    number = rng.choice([1, 2, 99])
    for key, value in list(arrays.items()):
        if key.startswith("person_0/") and rng.random() < 0.8:
            arrays[key.replace("person_0/", f"person_{number}/")] = value
    hostile.save_arrays(path, arrays)


MUTATIONS: list[Mutation] = [poke_value, scale_array, perturb_rotation, change_dtype, drop_key, cut_array,
                             odd_meta_value, odd_meta_text, meta_not_text, forged_header, damaged_bytes,
                             extra_person]


def assert_usable(result) -> None:
    """What a reader may rely on in a result that was accepted."""
    for track in result.persons:
        for value in vars(track).values():
            assert value is None or value.dtype.kind in "iuf" and np.isfinite(value).all()
        gram = np.einsum("njki,njkl->njil", track.pose_rotmat.astype(np.float64), track.pose_rotmat)
        assert np.abs(gram - np.eye(3)).max() <= ROTATION_TOLERANCE
        assert (track.cam_t[:, 2] > 0).all()


def one_line_or_value(call: Callable[[], object]) -> object | None:
    """The call's value, or None after a one-line UserError; any other exception fails the test."""
    started = time.perf_counter()
    try:
        value = call()
    except UserError as error:
        assert str(error) and "\n" not in str(error) and "Traceback" not in str(error), str(error)
        value = None
    assert time.perf_counter() - started < CASE_SECONDS
    return value


def test_fuzzed_result_files_are_read_or_refused_in_one_line(tmp_path):
    rng = np.random.default_rng(SEED)
    valid = hostile.archive_arrays(hostile.write_valid_result(tmp_path / "valid.npz"))
    refused = 0
    for case in range(240):
        path = tmp_path / f"case{case}.npz"
        mutate = MUTATIONS[case % len(MUTATIONS)]
        mutate(rng, {key: value.copy() for key, value in valid.items()}, path)
        result = one_line_or_value(lambda: read_result(path, include_maps=bool(case % 2)))
        if result is None:
            refused += 1
        else:
            assert_usable(result)
    assert refused > 150  # the generator mostly breaks things; the rest must have stayed usable
    assert sorted(path.name for path in tmp_path.iterdir() if not path.name.startswith("case")) == ["valid.npz"]


def odd_text(rng: np.random.Generator) -> str:
    pieces = ["nan", "inf", "-inf", "-1", "0", "1e400", "", " ", "1,2,3", "0:0", "5:2", ":", "1" * 40, "\u00e9",
              "0x10", "1_000", "+3", "1,nan,2,3", "all", "most-visible", "0,,2", "-0", "1e-400", "fp16", "cuda",
              "10:", "3.5", "True", "\x00", "1,2,3,-4", "auto"]
    return "".join(rng.choice(pieces) for _ in range(rng.integers(1, 3)))


def test_fuzzed_option_values_are_checked_up_front(tmp_path):
    rng = np.random.default_rng(SEED)
    options = [option for option in ESTIMATE_OPTIONS + SCENE_OPTIONS if option.kind is not bool]
    for _ in range(300):
        option = options[rng.integers(len(options))]
        text = odd_text(rng)
        value = one_line_or_value(lambda: parse_value(option, text))
        if value is not None:
            assert check_value(option, value) == value  # what parses is what the job accepts
    parser = build_parser()
    for _ in range(100):
        option = options[rng.integers(len(options))]
        argv = ["estimate", "--input", "x.png", "--output", "y.npz", option.flag, odd_text(rng)]
        one_line_or_value(lambda: parser.parse_args(argv))


def fuzzed_image(rng: np.random.Generator) -> bytes:
    picture = rng.integers(0, 256, (rng.integers(1, 40), rng.integers(1, 40), 3), dtype=np.uint8)
    suffix = str(rng.choice([".png", ".jpg", ".bmp", ".tif", ".webp"]))
    data = bytearray(cv2.imencode(suffix, picture)[1].tobytes())
    kind = rng.integers(4)
    if kind == 0:
        data = data[: rng.integers(len(data))]
    elif kind == 1:
        for at in rng.integers(len(data), size=rng.integers(1, 10)):
            data[at] = rng.integers(256)
    elif kind == 2 and data.startswith(b"\x89PNG"):
        data[16:24] = (100_000).to_bytes(4, "big") * 2  # claims 100000 x 100000 pixels
    elif kind == 3:
        data = bytearray(rng.bytes(rng.integers(0, 200)))
    return bytes(data)


def test_fuzzed_media_is_read_or_refused(tmp_path):
    rng = np.random.default_rng(SEED)
    for case in range(120):
        path = tmp_path / f"case{case}.png"
        path.write_bytes(fuzzed_image(rng))
        image = one_line_or_value(lambda: read_image_rgb(path))
        assert image is None or (image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8)
    folder = tmp_path / "sequence"
    folder.mkdir()
    for case in range(12):
        (folder / f"f{case:02d}.png").write_bytes(fuzzed_image(rng))
    source = one_line_or_value(lambda: open_frames(folder))
    if source is not None:  # every frame read has the sequence's size, or the whole job stops in one line
        shapes = one_line_or_value(lambda: {image.shape for _, image in source})
        assert shapes is None or shapes == {(source.height, source.width, 3)}
    clip = tmp_path / "clip.avi"
    clip.write_bytes(rng.bytes(3000))
    assert one_line_or_value(lambda: open_frames(clip)) is None


# --- a handful through the real entry points ----------------------------------------------------------------

def assert_clean_exit(done: subprocess.CompletedProcess, folder: Path, before: set[str]) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert lines and lines[-1].lower().startswith("error:"), done.stderr
    assert {path.name for path in folder.iterdir()} == before  # no output, no temporary


@pytest.fixture(scope="module")
def hostile_inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    os.mkfifo(folder / "pipe.mp4")
    (folder / "huge.pkl").write_bytes(hostile.pickle_with_huge_array())
    (folder / "photo.png").write_bytes(cv2.imencode(".png", np.zeros((32, 32, 3), np.uint8))[1].tobytes())
    valid = hostile.write_valid_result(folder / "valid.npz")
    arrays = hostile.archive_arrays(valid)
    rng = np.random.default_rng(SEED)
    for number, mutate in enumerate((poke_value, perturb_rotation, forged_header, odd_meta_value)):
        for _ in range(10):  # the first mutation that the reader refuses
            mutate(rng, {key: value.copy() for key, value in arrays.items()}, folder / f"bad{number}.npz")
            if one_line_or_value(lambda: read_result(folder / f"bad{number}.npz")) is None:
                break
    return {path.stem: path for path in folder.iterdir()}


@pytest.mark.parametrize("arguments", [
    ["--input", "photo.png", "--focal-length", "nan"],
    ["--input", "photo.png", "--bbox", "nan,1,2,3"],
    ["--input", "photo.png", "--smooth-beta", "-1"],
    ["--input", "pipe.mp4"],
    ["--input", "/dev/zero"],
    ["--input", "photo.png", "--smpl", "huge.pkl"],
])
def test_the_estimate_command_exits_2_cleanly(hostile_inputs, tmp_path, arguments):
    folder = hostile_inputs["photo"].parent
    arguments = [str(folder / word) if (folder / word).exists() else word for word in arguments]
    before = {path.name for path in tmp_path.iterdir()}
    done = subprocess.run([sys.executable, "-m", "inference", "estimate", *arguments, "--output",
                           str(tmp_path / "r.npz")], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert_clean_exit(done, tmp_path, before)


@pytest.mark.parametrize("name", ["bad0", "bad1", "bad2", "bad3", "huge", "pipe"])
def test_batch_from_a_hostile_result_exits_2_cleanly(hostile_inputs, tmp_path, name):
    done = subprocess.run([sys.executable, str(ROOT / "addon" / "batch.py"), "--", "--from-result",
                           str(hostile_inputs[name]), "--output", str(tmp_path / "out" / "s.blend"), "--preview",
                           str(tmp_path / "s.png")], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert_clean_exit(done, tmp_path, set())
