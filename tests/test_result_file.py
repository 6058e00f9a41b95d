"""Result file format v1: round trip, atomic writing, and every validation error on both sides."""

import json
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import contract.result_file as result_file
from inference.camera import project_points
from contract.errors import UserError
from contract.result_file import (FORMAT_NAME, PERSON_ARRAYS, PersonTrack, ResultMeta, person_key, read_result,
                                   write_result)
from contract.result_checks import ROTATION_ARRAYS
from hostile_files import rotations  # tests/: proper random rotations

REPO = pathlib.Path(__file__).resolve().parents[1]


def make_track(frames, maps: bool = True, seed: int = 0) -> PersonTrack:
    rng = np.random.default_rng(seed)
    n = len(frames)
    values = {spec.name: rng.standard_normal((n, *spec.trailing_shape)).astype(spec.dtype)
              for spec in PERSON_ARRAYS if spec.name != "frame" and (maps or spec.dtype is not np.float16)}
    for name in ROTATION_ARRAYS:  # readers refuse matrices that are not rotations, and bodies behind the camera
        values[name] = rotations(rng, values[name].shape[:-2]).astype(np.float32)
    values["cam_t"][:, 2] = np.abs(values["cam_t"][:, 2]) + 2.0
    return PersonTrack(frame=np.asarray(frames, dtype=np.int64), **values)


def make_meta(**changes) -> ResultMeta:
    fields = dict(image_width=640, image_height=480, fps=30.0, focal_length_px=800.0, frame_count=10,
                  source="clip.mp4", model="pare_hrnet32", body_model="SMPL_NEUTRAL.pkl",
                  extra={"checkpoint": "pare_checkpoint.ckpt"})
    return ResultMeta(**{**fields, **changes})


def save_npz(path: pathlib.Path, **arrays) -> pathlib.Path:
    with open(path, "wb") as stream:
        np.savez(stream, **arrays)
    return path


def archive_of(meta: ResultMeta, persons: list[PersonTrack], tmp_path) -> dict[str, np.ndarray]:
    """The arrays of a valid written file, to break one piece at a time."""
    path = tmp_path / "valid.npz"
    write_result(path, meta, persons)
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def assert_tracks_equal(a: PersonTrack, b: PersonTrack) -> None:
    for spec in PERSON_ARRAYS:
        x, y = getattr(a, spec.name), getattr(b, spec.name)
        assert (x is None) == (y is None), spec.name
        if x is not None:
            assert x.dtype == np.dtype(spec.dtype) and np.array_equal(x, y), spec.name


def test_round_trip_and_plain_numpy_view(tmp_path):
    persons = [make_track([0, 1, 2, 5, 9]), make_track([3, 4], maps=False, seed=1)]
    path = tmp_path / "result.npz"
    write_result(path, make_meta(), persons)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.npz"]

    result = read_result(path)
    assert result.meta == make_meta()
    assert len(result.persons) == 2
    for written, read in zip(persons, result.persons):
        assert_tracks_equal(written, read)

    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        assert data["meta"].shape == () and data["meta"].dtype.kind == "U"
        keys = set(data.files)
        assert data["person_0/part_attention"].dtype == np.float16
        assert data["person_1/frame"].dtype == np.int64
    assert meta["format"] == FORMAT_NAME and meta["version"] == 2 and meta["persons"] == [0, 1]
    assert meta["fps"] == 30.0 and meta["checkpoint"] == "pare_checkpoint.ckpt"
    assert meta["created_by"] == "PARE Body Estimator"
    assert keys == {"meta"} | {person_key(0, spec.name) for spec in PERSON_ARRAYS} | {
        person_key(1, spec.name) for spec in PERSON_ARRAYS if spec.dtype is not np.float16}


def test_meta_as_mapping_stills_and_no_persons(tmp_path):
    path = tmp_path / "still.npz"
    meta = {"image_width": 3000, "image_height": 4000, "fps": None, "focal_length_px": 5000.0, "frame_count": 1,
            "source": "me.jpg", "model": "pare_hrnet32", "checkpoint": "x.ckpt"}
    write_result(path, meta, [make_track([0])])
    result = read_result(path, include_maps=False)
    assert result.meta.fps is None and result.meta.extra == {"checkpoint": "x.ckpt"}
    assert result.meta.body_model is None and result.meta.created_by == "PARE Body Estimator"
    assert result.persons[0].part_attention is None and result.persons[0].part_segmentation is None
    assert result.persons[0].pose_rotmat.shape == (1, 24, 3, 3) and len(result.persons[0].frame) == 1

    write_result(path, meta, [])
    assert read_result(path).persons == []


def test_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "r.npz"
    write_result(path, make_meta(), [make_track([0, 1])])
    write_result(path, make_meta(), [make_track([2])])
    assert read_result(path).persons[0].frame.tolist() == [2]


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_failing_write_leaves_the_old_file_and_nothing_else(tmp_path, monkeypatch, failure):
    path = tmp_path / "r.npz"
    write_result(path, make_meta(), [make_track([0, 1])])
    before = path.read_bytes()

    def broken_save(stream, arrays):
        stream.write(b"PK\x03\x04 half an archive")
        raise failure("disk full")

    monkeypatch.setattr(result_file, "_save_npz", broken_save)
    with pytest.raises(failure):
        write_result(path, make_meta(), [make_track([3])])
    with pytest.raises(failure):
        write_result(tmp_path / "new.npz", make_meta(), [make_track([3])])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.npz"]


def test_failing_rename_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken_replace(source, target):
        raise PermissionError("target is locked")

    monkeypatch.setattr(result_file.os, "replace", broken_replace)
    with pytest.raises(PermissionError):
        write_result(tmp_path / "r.npz", make_meta(), [make_track([0])])
    assert list(tmp_path.iterdir()) == []


def test_output_name_and_folder_are_checked(tmp_path):
    cases = {tmp_path / "result": "must end in .npz", tmp_path / "result.npy": "must end in .npz",
             tmp_path / "missing" / "r.npz": f"the folder {tmp_path / 'missing'} does not exist"}
    for bad, words in cases.items():
        with pytest.raises(UserError) as caught:
            write_result(bad, make_meta(), [make_track([0])])
        assert words in str(caught.value) and str(bad) in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def with_array(track: PersonTrack, **arrays) -> PersonTrack:
    return PersonTrack(**{**track.__dict__, **arrays})


@pytest.mark.parametrize("change, words", [
    (dict(cam_t=np.zeros((3, 3), np.float64)), "person_0/cam_t has dtype float64, expected float32"),
    (dict(part_attention=np.zeros((3, 24, 56, 56), np.float32)), "dtype float32, expected float16"),
    (dict(frame=np.array([0.0, 1.0, 2.0])), "person_0/frame has dtype float64"),
    (dict(betas=np.zeros((3, 11), np.float32)), "betas has shape (3, 11), expected (3, 10)"),
    (dict(joints2d=np.zeros((2, 24, 2), np.float32)), "joints2d has shape (2, 24, 2), expected (3, 24, 2)"),
    (dict(pose_rotmat=None), "person_0/pose_rotmat is missing"),
    (dict(joints3d=np.full((3, 24, 3), np.nan, np.float32)), "NaN"),
    (dict(frame=np.array([0, 2, 2])), "must increase strictly"),
    (dict(frame=np.array([-1, 0, 1])), "must increase strictly"),
    (dict(frame=np.array([7, 8, 10])), "frame_count-1 (9)"),
    (dict(frame=np.zeros((0,), np.int64)), "non-empty"),
])
def test_write_rejects_bad_tracks(tmp_path, change, words):
    """The second track is the broken one, so messages must name person_1."""
    with pytest.raises(ValueError) as caught:
        write_result(tmp_path / "r.npz", make_meta(), [make_track([0, 1, 2]),
                                                       with_array(make_track([0, 1, 2]), **change)])
    assert words.replace("person_0", "person_1") in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("change, words", [
    (dict(image_width=0), "'image_width' must be a positive integer (found 0)"),
    (dict(image_height=480.5), "'image_height' must be a positive integer"),
    (dict(fps=0.0), "'fps' must be a positive number or null"),
    (dict(focal_length_px=float("inf")), "'focal_length_px' must be a positive number"),
    (dict(source=None), "'source' must be a string"),
])
def test_write_rejects_bad_meta(tmp_path, change, words):
    with pytest.raises(ValueError) as caught:
        write_result(tmp_path / "r.npz", make_meta(**change), [make_track([0])])
    assert words in str(caught.value)


def test_reader_accepts_other_float_and_int_widths(tmp_path):
    arrays = archive_of(make_meta(), [make_track([0, 1])], tmp_path)
    arrays["person_0/cam_t"] = arrays["person_0/cam_t"].astype(np.float64)
    arrays["person_0/frame"] = arrays["person_0/frame"].astype(np.uint16)
    arrays["person_0/part_attention"] = arrays["person_0/part_attention"].astype(np.float32)
    person = read_result(save_npz(tmp_path / "wide.npz", **arrays)).persons[0]
    assert person.cam_t.dtype == np.float32 and person.frame.dtype == np.int64
    assert person.part_attention.dtype == np.float16


def meta_text(**changes) -> np.ndarray:
    fields = {"format": FORMAT_NAME, "version": 1, "image_width": 640, "image_height": 480, "fps": None,
              "focal_length_px": 800.0, "frame_count": 10, "source": "a.jpg", "model": "pare_hrnet32"}
    return np.array(json.dumps({**fields, **changes}))


def test_reader_errors(tmp_path):
    valid = archive_of(make_meta(), [make_track([0, 1]), make_track([4])], tmp_path)
    without = lambda *keys: {k: v for k, v in valid.items() if k not in keys}  # noqa: E731
    (tmp_path / "notes.npz").write_text("hello")
    np.save(tmp_path / "array.npy", np.zeros(3))
    whole = (tmp_path / "valid.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: len(whole) // 2] + whole[-200:])
    cases = {
        tmp_path / "nowhere.npz": "not found",
        tmp_path / "notes.npz": "not a PARE body result: a result is a .npz (zip) archive",
        tmp_path / "array.npy": "not a PARE body result",
        save_npz(tmp_path / "nometa.npz", x=np.zeros(2)): "has no 'meta' entry",
        save_npz(tmp_path / "nummeta.npz", meta=np.zeros(())): "'meta' is not a text entry",
        save_npz(tmp_path / "badjson.npz", meta=np.array("{not json")): "'meta' is not valid JSON",
        save_npz(tmp_path / "other.npz", meta=meta_text(format="something-else")): "not a PARE body result",
        save_npz(tmp_path / "newer.npz", meta=meta_text(version=3)):
            "written by a newer PARE Body Estimator (result format version 3",
        save_npz(tmp_path / "v0.npz", meta=meta_text(version=0)):
            "'version' must be a format version this reader knows",
        save_npz(tmp_path / "nofps.npz", meta=np.array(json.dumps(
            {k: v for k, v in json.loads(str(meta_text())).items() if k != "fps"}))): "'fps' must be",
        save_npz(tmp_path / "nowidth.npz", meta=meta_text(image_width="640")): "'image_width' must be",
        save_npz(tmp_path / "missing.npz", **without("person_1/betas")): "person_1/betas is missing",
        save_npz(tmp_path / "noframe.npz", **without("person_0/frame")): "person_0/frame must be a non-empty",
        save_npz(tmp_path / "shape.npz", **{**valid, "person_0/joints3d": np.zeros((2, 23, 3), np.float32)}):
            "person_0/joints3d has shape (2, 23, 3), expected (2, 24, 3)",
        save_npz(tmp_path / "kind.npz", **{**valid, "person_0/betas": np.zeros((2, 10), np.int32)}):
            "person_0/betas has dtype int32",
        save_npz(tmp_path / "gap.npz", **without(*[k for k in valid if k.startswith("person_0/")])):
            "persons must be numbered 0, 1, ...",
        save_npz(tmp_path / "listed.npz", **{**valid, "meta": meta_text(persons=[0])}): "meta lists [0]",
        save_npz(tmp_path / "pickled.npz", **{**valid, "person_0/cam_t": np.array([{}], dtype=object)}):
            "damaged",
        tmp_path / "cut.npz": "damaged",
    }
    for path, words in cases.items():
        with pytest.raises(UserError) as caught:
            read_result(path)
        message = str(caught.value)
        assert str(path) in message and words in message, (path.name, message)
    with pytest.raises(UserError, match="Update the add-on"):
        read_result(tmp_path / "newer.npz")


def test_newer_version_is_reported_even_when_other_fields_changed(tmp_path):
    path = save_npz(tmp_path / "v7.npz", meta=np.array(json.dumps({"format": FORMAT_NAME, "version": 7})))
    with pytest.raises(UserError, match="newer PARE Body Estimator"):
        read_result(path)


def test_written_file_is_a_plain_zip_of_npy_files(tmp_path):
    path = tmp_path / "r.npz"
    write_result(path, make_meta(), [make_track([0])])
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
        assert "person_0/cam_t.npy" in archive.namelist()
        assert all(member.compress_type == zipfile.ZIP_DEFLATED for member in archive.infolist())


def test_result_file_module_does_not_import_torch():
    code = "import sys, contract.result_file; assert 'torch' not in sys.modules, 'torch was imported'"
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def test_numpy_only_example_in_the_documentation_runs(tmp_path, capsys):
    """The reading example in docs/result_format.md works on a written file, and its reprojection check holds."""
    document = (REPO / "docs" / "result_format.md").read_text(encoding="utf-8")
    example = document.split("```python\n", 1)[1].split("```", 1)[0]
    meta = make_meta()
    persons = []
    for seed, frames in enumerate([[0, 3], [1, 2, 4]]):
        track = make_track(frames, seed=seed)
        track.joints3d = (track.joints3d * 0.3 + [0.0, 0.0, 5.0]).astype(np.float32)
        track.joints2d = project_points(track.joints3d, meta.focal_length_px, meta.image_width,
                                        meta.image_height).astype(np.float32)
        persons.append(track)
    path = tmp_path / "result.npz"
    write_result(path, meta, persons)
    exec(example.replace('"result.npz"', repr(str(path))), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("0 [0 3]") and lines[1].startswith("1 [1 2 4]")
    assert all(float(line.rsplit(" ", 1)[1]) < 1e-3 for line in lines)


def test_a_reader_does_without_the_arrays_that_follow_from_others(tmp_path):
    """Another tool's result may store only frame, pose, betas and cam_t per person: it still reads."""
    from contract.result_file import READ_OPTIONAL

    rng = np.random.default_rng(0)
    meta = {"format": "pare-body-result", "version": 1, "image_width": 640, "image_height": 480, "fps": 25.0,
            "focal_length_px": 1000.0, "frame_count": 3, "source": "clip.mp4", "model": "other-tool"}
    path = tmp_path / "minimal.npz"
    np.savez(path, meta=np.array(json.dumps(meta)), **{
        "person_0/frame": np.arange(3), "person_0/pose_rotmat": np.tile(np.eye(3), (3, 24, 1, 1)),
        "person_0/betas": rng.normal(size=(3, 10)), "person_0/cam_t": np.tile([0.0, 0.0, 5.0], (3, 1))})
    (track,) = read_result(path).persons
    assert track.pose_rotmat.dtype == np.float32 and track.cam_t.shape == (3, 3)
    assert all(getattr(track, name) is None for name in READ_OPTIONAL)
    with pytest.raises(ValueError, match="missing"):  # the writer still stores everything
        write_result(tmp_path / "again.npz", read_result(path).meta, [track])
