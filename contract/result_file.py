"""The result file (format version 2): one `.npz` of plain arrays plus a JSON `meta` string (docs/result_format.md).

It is the contract between the estimator, the Blender add-on and users' own scripts, so this module needs only
numpy and the standard library (no torch) and every file it writes loads with `numpy.load(allow_pickle=False)`.
Writing validates everything and is atomic: a failed or interrupted write never leaves a partial result behind.
Reading validates everything too and explains any problem as a `UserError`. Problems in what the pipeline
hands to `write_result` are bugs, not user errors, and raise `ValueError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .archive_limits import check_archive_sizes
from .errors import UserError
from .file_checks import regular_file
from .result_checks import MAX_PERSONS, check_meta_ranges, check_track_values
from .skeleton import NUM_JOINTS
from .stale_files import remove_stale, stale_pattern, temporary_path

FORMAT_NAME = "pare-body-result"
FORMAT_VERSION = 2  # 2: adds joint_confidence and the meta's quality report; version-1 files still read
READ_VERSIONS = (1, 2)
MAP_SIZE = 56
PARTIAL_RESULT = stale_pattern(r"\..+\.partial-", r"\.tmp")  # the writer's temporaries, whatever the file


@dataclass(frozen=True)
class ArraySpec:
    """One per-person array `person_P/<name>`: shape (n, *trailing_shape), stored as `dtype`."""

    name: str
    trailing_shape: tuple[int, ...]
    dtype: type
    required: bool = True


PERSON_ARRAYS: tuple[ArraySpec, ...] = (
    ArraySpec("frame", (), np.int64),
    ArraySpec("bbox_xywh", (4,), np.float32),
    ArraySpec("pose_rotmat", (NUM_JOINTS, 3, 3), np.float32),
    ArraySpec("pose_axis_angle", (NUM_JOINTS * 3,), np.float32),
    ArraySpec("betas", (10,), np.float32),
    ArraySpec("crop_cam", (3,), np.float32),
    ArraySpec("cam_t", (3,), np.float32),
    ArraySpec("joints3d", (NUM_JOINTS, 3), np.float32),
    ArraySpec("joints2d", (NUM_JOINTS, 2), np.float32),
    ArraySpec("part_attention", (NUM_JOINTS, MAP_SIZE, MAP_SIZE), np.float16, required=False),
    ArraySpec("part_segmentation", (NUM_JOINTS + 1, MAP_SIZE, MAP_SIZE), np.float16, required=False),
    # Grounded motion (docs/grounding.md), absent in results written before it: the Z-up world's body.
    ArraySpec("foot_contact", (4,), np.float32, required=False),
    ArraySpec("world_global_orient", (3, 3), np.float32, required=False),
    ArraySpec("world_transl", (3,), np.float32, required=False),
    ArraySpec("locked_pose_rotmat", (NUM_JOINTS, 3, 3), np.float32, required=False),
    ArraySpec("locked_transl", (3,), np.float32, required=False),
    # How far to trust each joint in each frame, 0..1 (format version 2; docs/result_format.md).
    ArraySpec("joint_confidence", (NUM_JOINTS,), np.float32, required=False),
)
MAP_ARRAYS = frozenset(spec.name for spec in PERSON_ARRAYS if spec.dtype is np.float16)
READ_OPTIONAL = frozenset({"bbox_xywh", "pose_axis_angle", "crop_cam", "joints3d", "joints2d"})
"""Arrays the writer always stores but a reader can do without (each follows from the pose, shape and
`cam_t`, or only places the part maps): a result written by another tool may leave them out; they read as
None."""


@dataclass
class PersonTrack:
    """One person over the n frames they were seen in; array shapes and dtypes as in `PERSON_ARRAYS`."""

    frame: np.ndarray
    bbox_xywh: np.ndarray
    pose_rotmat: np.ndarray
    pose_axis_angle: np.ndarray
    betas: np.ndarray
    crop_cam: np.ndarray
    cam_t: np.ndarray
    joints3d: np.ndarray
    joints2d: np.ndarray
    part_attention: np.ndarray | None = None
    part_segmentation: np.ndarray | None = None
    foot_contact: np.ndarray | None = None  # (n, 4) left heel, left toe, right heel, right toe: P(planted)
    world_global_orient: np.ndarray | None = None  # (n, 3, 3) the body's orientation in the Z-up world
    world_transl: np.ndarray | None = None  # (n, 3) SMPL translation in the Z-up world
    locked_pose_rotmat: np.ndarray | None = None  # (n, 24, 3, 3) foot-locked pose, [:, 0] in the world
    locked_transl: np.ndarray | None = None  # (n, 3) SMPL translation of the foot-locked motion
    joint_confidence: np.ndarray | None = None  # (n, 24) 0..1: 0 outside the picture (inference/track_quality.py)


@dataclass
class WorldPlacement:
    """Where a grounded result's Z-up world (floor at Z = 0) and its camera are: the top-level `world/` and
    `camera/` arrays, absent in results written before them. Camera poses use OpenCV axes (x right, y down,
    z forward); F = 1 for a camera that did not move."""

    from_camera: np.ndarray  # (4, 4) world point = from_camera @ (first camera's point, 1)
    camera_frame: np.ndarray  # (F,) int64 source frame of each camera pose, increasing
    camera_to_world: np.ndarray  # (F, 4, 4) camera-to-world pose


WORLD_KEYS = {"from_camera": "world/from_camera", "camera_frame": "camera/frame",
              "camera_to_world": "camera/to_world"}


@dataclass
class ResultMeta:
    """The `meta` JSON. `extra` keeps keys this version does not know (later v1 additions) through a round trip."""

    image_width: int
    image_height: int
    fps: float | None
    focal_length_px: float
    frame_count: int
    source: str
    model: str
    body_model: str | None = None
    created_by: str = "PARE Body Estimator"
    footage_turn: int = 0  # clockwise degrees the stored footage was turned by to be upright (0, 90, 180, 270)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    """A loaded result: `persons[P]` is the track stored under `person_P/`."""

    meta: ResultMeta
    persons: list[PersonTrack]
    world: WorldPlacement | None = None  # None: the bodies are in the camera frame only


# Turns a problem description into the exception to raise: ValueError when writing, UserError when reading.
ErrorFactory = Callable[[str], Exception]
FOOTAGE_TURNS = (0, 90, 180, 270)
_META_FIELDS = tuple(f.name for f in fields(ResultMeta) if f.name != "extra")
_PERSON_KEY = re.compile(r"^person_(\d+)/")


def person_key(person: int, name: str) -> str:
    """Archive key of array `name` of person `person`, e.g. 'person_0/cam_t'."""
    return f"person_{person}/{name}"


def write_result(path: str | os.PathLike[str], meta: ResultMeta | Mapping[str, Any],
                 persons: list[PersonTrack], world: WorldPlacement | None = None) -> None:
    """Validate and write a format-v1 result to `path` (must end in .npz), replacing any file there atomically.

    `meta` is a `ResultMeta` or a mapping with its field names (other keys are kept as extra meta); `format`,
    `version` and `persons` are filled in here. Track P of `persons` is stored as `person_P/...`.
    The archive is written to a hidden temporary file in the same folder and moved over `path` with
    `os.replace` only when complete; on any failure the temporary file is removed and `path` is untouched.
    """
    target = Path(path)
    if target.suffix.lower() != ".npz":
        raise UserError(f"The result file name must end in .npz: {target}")
    if not target.parent.is_dir():
        raise UserError(f"Cannot write {target}: the folder {target.parent} does not exist.")
    if isinstance(meta, Mapping):
        given = dict(meta)
    else:
        given = {**meta.extra, **{name: getattr(meta, name) for name in _META_FIELDS}}
    meta_fields = {"created_by": ResultMeta.created_by, **given,
                   "format": FORMAT_NAME, "version": FORMAT_VERSION, "persons": list(range(len(persons)))}
    _check_meta(meta_fields, ValueError)
    arrays = {"meta": np.array(json.dumps(meta_fields, allow_nan=False))}
    for index, track in enumerate(persons):
        for spec in PERSON_ARRAYS:
            value = getattr(track, spec.name)
            if value is not None:
                arrays[person_key(index, spec.name)] = value
        arrays.update(_check_person(arrays, index, meta_fields["frame_count"], strict=True, error=ValueError))
    if world is not None:
        arrays.update({key: getattr(world, name) for name, key in WORLD_KEYS.items()})
        _check_world(arrays, ValueError)
    _write_atomically(target, arrays)


def _write_atomically(target: Path, arrays: dict[str, np.ndarray]) -> None:
    """Through `.<name>.partial-<pid>-<random>.tmp` beside `target`; those a killed writer left in that folder
    are removed by the next write there (`stale_files`)."""
    remove_stale(target.parent, PARTIAL_RESULT)
    temporary = temporary_path(target.parent, f".{target.name}.partial-", ".tmp")
    try:
        with open(temporary, "xb") as stream:  # a file object, so numpy does not append '.npz' to the name
            _save_npz(stream, arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _save_npz(stream: Any, arrays: dict[str, np.ndarray]) -> None:
    """What `np.savez_compressed` writes (`<name>.npy` members, deflated), at the fastest deflate level: the
    float16 maps dominate and level 1 writes them in half the time of numpy's default 6, about 4 % larger."""
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def read_result(path: str | os.PathLike[str], include_maps: bool = True) -> Result:
    """Load and validate a result file; any problem raises `UserError` naming the file and what is wrong.

    With `include_maps=False` the large attention / segmentation maps are not loaded (left None).
    Arrays come back with the dtypes of `PERSON_ARRAYS`.
    """
    if not os.path.lexists(path):
        raise UserError(f"Result file not found: {path}")
    source = regular_file(path, "result file")
    if not zipfile.is_zipfile(source):
        raise UserError(f"{source} is not a PARE body result: a result is a .npz (zip) archive.")
    try:
        with np.load(source, allow_pickle=False) as archive:
            loaded = [name for name in archive.files if include_maps or name.rsplit("/", 1)[-1] not in MAP_ARRAYS]
            check_archive_sizes(source, loaded)
            return _read_archive(archive, source, include_maps)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, MemoryError, RecursionError,
            NotImplementedError) as error:
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise UserError(f"Cannot read result {source}: the file is damaged or not a plain numpy result "
                        f"({reason}).") from None


def _read_archive(archive: Any, source: Path, include_maps: bool) -> Result:
    names = set(archive.files)
    if "meta" not in names:
        raise UserError(f"{source} is not a PARE body result: it has no 'meta' entry.")
    meta_fields = _parse_meta(archive["meta"], source)
    persons = []
    for index in range(_person_count(names, meta_fields, source)):
        arrays = {}
        for spec in PERSON_ARRAYS:
            key = person_key(index, spec.name)
            if key in names and (include_maps or spec.name not in MAP_ARRAYS):
                arrays[key] = archive[key]
        arrays = _check_person(arrays, index, meta_fields["frame_count"], strict=False, error=_invalid(source))
        persons.append(PersonTrack(**{spec.name: arrays.get(person_key(index, spec.name))
                                      for spec in PERSON_ARRAYS}))
        check_track_values(persons[-1], index, _invalid(source))
    known = {name: meta_fields[name] for name in _META_FIELDS if name in meta_fields}
    extra = {k: v for k, v in meta_fields.items() if k not in _META_FIELDS + ("format", "version", "persons")}
    world = _check_world({key: archive[key] for key in WORLD_KEYS.values() if key in names}, _invalid(source))
    return Result(meta=ResultMeta(**known, extra=extra), persons=persons, world=world)


def _check_world(arrays: Mapping[str, np.ndarray], error: ErrorFactory) -> WorldPlacement | None:
    """The world / camera arrays (archive keys) checked: all or none, shapes, finite, frames increasing."""
    present = [key for key in WORLD_KEYS.values() if key in arrays]
    if not present:
        return None
    if len(present) < len(WORLD_KEYS):
        raise error(f"{', '.join(present)} needs {', '.join(sorted(set(WORLD_KEYS.values()) - set(present)))}")
    values = {name: np.asarray(arrays[key]) for name, key in WORLD_KEYS.items()}
    frames, poses = values["camera_frame"], values["camera_to_world"]
    if values["from_camera"].shape != (4, 4) or frames.ndim != 1 or not len(frames) or \
            poses.shape != (len(frames), 4, 4):
        raise error("world/from_camera must be (4, 4) and camera/to_world (F, 4, 4) for camera/frame (F,)")
    if frames.dtype.kind not in "iu" or np.any(np.diff(frames) <= 0) or frames[0] < 0:
        raise error("camera/frame must hold increasing source frame indices")
    if not (np.isfinite(values["from_camera"]).all() and np.isfinite(poses).all()):
        raise error("world/from_camera and camera/to_world must be finite")
    return WorldPlacement(from_camera=values["from_camera"].astype(np.float64),
                          camera_frame=frames.astype(np.int64), camera_to_world=poses.astype(np.float64))


def _parse_meta(meta_array: np.ndarray, source: Path) -> dict[str, Any]:
    """The 0-d string `meta` -> its JSON object, after checking format, version and field types."""
    if meta_array.ndim != 0 or meta_array.dtype.kind != "U":
        raise UserError(f"{source} is not a PARE body result: 'meta' is not a text entry.")
    try:
        meta_fields = json.loads(str(meta_array[()]))
    except json.JSONDecodeError as error:
        raise UserError(f"{source} is damaged: its 'meta' is not valid JSON ({error.msg}).") from error
    if not isinstance(meta_fields, dict) or meta_fields.get("format") != FORMAT_NAME:
        raise UserError(f"{source} is not a PARE body result (its meta 'format' is not '{FORMAT_NAME}').")
    version = meta_fields.get("version")
    if _is_int(version) and version > FORMAT_VERSION:
        raise UserError(f"{source} was written by a newer PARE Body Estimator (result format version {version}; "
                        f"this one reads version {FORMAT_VERSION}). Update the add-on to load it.")
    _check_meta(meta_fields, _invalid(source))
    check_meta_ranges(ResultMeta(**{name: meta_fields.get(name) for name in _META_FIELDS}), _invalid(source))
    return meta_fields


def _invalid(source: Path) -> ErrorFactory:
    return lambda text: UserError(f"Invalid result {source}: {text}")


def _check_meta(meta_fields: dict[str, Any], error: ErrorFactory) -> None:
    """Check required meta fields and their types; raise `error(text)` on the first problem."""
    def require(name: str, ok: bool, wanted: str) -> None:
        if not ok:
            shown = repr(meta_fields[name]) if name in meta_fields else "missing"
            raise error(f"meta '{name}' must be {wanted} (found {shown})")

    require("version", meta_fields.get("version") in READ_VERSIONS,
            f"a format version this reader knows ({', '.join(map(str, READ_VERSIONS))})")
    for name in ("image_width", "image_height", "frame_count"):
        require(name, _is_int(meta_fields.get(name)) and meta_fields[name] > 0, "a positive integer")
    require("focal_length_px", _is_positive_number(meta_fields.get("focal_length_px")), "a positive number")
    fps = meta_fields.get("fps", "missing")
    require("fps", fps is None or _is_positive_number(fps), "a positive number or null")
    for name in ("source", "model"):
        require(name, isinstance(meta_fields.get(name), str), "a string")
    for name in ("body_model", "created_by"):
        require(name, meta_fields.get(name) is None or isinstance(meta_fields[name], str), "a string or null")
    turn = meta_fields.get("footage_turn", 0)
    require("footage_turn", _is_int(turn) and turn in FOOTAGE_TURNS, "0, 90, 180 or 270")


def _person_count(names: set[str], meta_fields: dict[str, Any], source: Path) -> int:
    """Number of persons; ids in the archive (and meta 'persons', when present) must be 0..k-1."""
    ids = sorted({int(match.group(1)) for name in names if (match := _PERSON_KEY.match(name))})
    listed = meta_fields.get("persons", ids)
    if listed != ids or ids != list(range(len(ids))):
        raise UserError(f"Invalid result {source}: persons must be numbered 0, 1, ... and match meta 'persons' "
                        f"(archive has {ids}, meta lists {listed}).")
    if len(ids) > MAX_PERSONS:
        raise UserError(f"Invalid result {source}: {len(ids)} persons, more than a scene holds ({MAX_PERSONS}).")
    return len(ids)


def _check_person(arrays: dict[str, np.ndarray], index: int, frame_count: int, strict: bool,
                  error: ErrorFactory) -> dict[str, np.ndarray]:
    """Check person `index`'s arrays in `arrays` (archive keys) against `PERSON_ARRAYS`; return them typed.

    strict (writing): dtypes must be exactly the specified ones (any integer type for `frame`) and geometry must
    be finite. Otherwise (reading): any float / integer dtype of the right kind is accepted and converted.
    """
    frame = arrays.get(person_key(index, "frame"))
    count = len(frame) if isinstance(frame, np.ndarray) and frame.ndim == 1 else None
    if not count:
        raise error(f"{person_key(index, 'frame')} must be a non-empty 1-D array of frame indices")
    typed = {}
    for spec in PERSON_ARRAYS:
        key = person_key(index, spec.name)
        value = arrays.get(key)
        if value is None:
            if spec.required and (strict or spec.name not in READ_OPTIONAL):
                raise error(f"{key} is missing")
            continue
        value = np.asarray(value)
        if value.shape != (count, *spec.trailing_shape):
            raise error(f"{key} has shape {value.shape}, expected {(count, *spec.trailing_shape)}")
        wanted_kind = np.dtype(spec.dtype).kind
        kind_ok = value.dtype.kind in ("iu" if wanted_kind == "i" else "f")
        if not kind_ok or (strict and wanted_kind == "f" and value.dtype != spec.dtype):
            raise error(f"{key} has dtype {value.dtype}, expected {np.dtype(spec.dtype).name}")
        if strict and wanted_kind == "f" and not np.isfinite(value).all():
            raise error(f"{key} contains NaN or infinite values")
        typed[key] = value.astype(spec.dtype, copy=False)
    frames = typed[person_key(index, "frame")]
    if frames[0] < 0 or frames[-1] >= frame_count or np.any(np.diff(frames) <= 0):
        raise error(f"{person_key(index, 'frame')} must increase strictly within 0..frame_count-1 "
                    f"({frame_count - 1})")
    return typed


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and np.isfinite(value)
