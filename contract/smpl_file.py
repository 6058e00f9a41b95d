"""Reading the user's SMPL body model file (`.pkl` v1.0 / v1.1 or `.npz`) into plain numpy arrays.

SMPL may not be redistributed, so users download it themselves. The official v1.0 `.pkl` is a Python-2
pickle of chumpy objects with a scipy-sparse J_regressor; it is read through `safe_pickle`, which turns
those objects into inert stand-ins, and they are converted here from their pickled state, so neither
chumpy nor scipy is needed and nothing in the file is run.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .archive_limits import check_archive_sizes
from .errors import UnsafeFileError, UserError
from .file_checks import regular_file
from .licensed_files import GET_SMPL
from .safe_pickle import StandIn, load_pickle
from .skeleton import NUM_FACES, NUM_JOINTS, NUM_POSE_BASIS, NUM_VERTICES

NUM_KEYPOINT_VERTICES = 21  # smplx's vertex-picked keypoints (nose, eyes, ears, toes, heels, fingertips)


# File names looked for when the user points at a folder, in order of preference.
MODEL_FILE_NAMES = ("SMPL_NEUTRAL.pkl", "SMPL_NEUTRAL.npz", "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl",
                    "basicModel_neutral_lbs_10_207_0_v1.0.0.npz")

# The license-free stand-in body that ships with the project (tools/make_standin_body.py makes it); it is
# used wherever no SMPL file is configured. Its .npz has SMPL's arrays plus `body_name` and its own
# `keypoint_vertex_ids`, since SMPL's keypoint vertex ids mean nothing on its mesh.
STANDIN_BODY_PATH = Path(__file__).resolve().parents[1] / "assets" / "body" / "standin_body.npz"
SMPL_NAME = "SMPL"
STANDIN_NAME = "stand-in"

# Other models users mix up with SMPL, told apart by their vertex count.
_OTHER_MODELS = {10475: "an SMPL-X model", 778: "a MANO hand model", 5023: "a FLAME head model"}


@dataclass(frozen=True)
class SMPLModelData:
    """The arrays of one SMPL model; attribute names are those of the official files (smplx reads them)."""

    v_template: np.ndarray  # (6890, 3) float32 rest-pose vertices
    shapedirs: np.ndarray  # (6890, 3, B) float32 shape blend shapes, B >= 10
    posedirs: np.ndarray  # (6890, 3, 207) float32 pose blend shapes
    J_regressor: np.ndarray  # (24, 6890) float32 dense joint regressor
    weights: np.ndarray  # (6890, 24) float32 skinning weights
    kintree_table: np.ndarray  # (2, 24) int64; row 0 = parent of each joint
    f: np.ndarray  # (13776, 3) int64 triangle vertex indices
    gender: str | None  # "NEUTRAL", "FEMALE", "MALE" or None when the file name does not say
    source: Path
    name: str = SMPL_NAME  # which body this is, for the result meta and the UI: "SMPL" or "stand-in"
    # (21,) int64 vertex ids of smplx's keypoints on this mesh; None = SMPL's own (smplx's defaults)
    keypoint_vertex_ids: np.ndarray | None = None

    @property
    def is_standin(self) -> bool:
        return self.name == STANDIN_NAME


# key -> (expected shape with None for "any size >= 10", dtype)
_LAYOUT: dict[str, tuple[tuple[int | None, ...], type]] = {
    "v_template": ((NUM_VERTICES, 3), np.float32),
    "shapedirs": ((NUM_VERTICES, 3, None), np.float32),
    "posedirs": ((NUM_VERTICES, 3, NUM_POSE_BASIS), np.float32),
    "J_regressor": ((NUM_JOINTS, NUM_VERTICES), np.float32),
    "weights": ((NUM_VERTICES, NUM_JOINTS), np.float32),
    "kintree_table": ((2, NUM_JOINTS), np.int64),
    "f": ((NUM_FACES, 3), np.int64),
}


def _sparse_to_dense(state: dict[str, Any], compressed_columns: bool) -> np.ndarray:
    """scipy CSC / CSR state (data, indices, indptr, shape) -> dense array, without scipy."""
    shape = tuple(state.get("_shape", state.get("shape")))
    data, indices, indptr = (np.asarray(state[k]) for k in ("data", "indices", "indptr"))
    dense = np.zeros(shape, dtype=np.float64)
    outer = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    rows, cols = (indices, outer) if compressed_columns else (outer, indices)
    np.add.at(dense, (rows, cols), data)  # duplicates add up, as in scipy's todense()
    return dense


def _as_array(value: Any, key: str, path: Path) -> np.ndarray:
    """A numpy array from a plain array, a chumpy `Ch` stand-in or a scipy sparse stand-in."""
    if not isinstance(value, StandIn):
        return np.asarray(value)
    state = value.pickled_state if isinstance(value.pickled_state, dict) else {}
    if "x" in state:  # chumpy Ch: the array lives in the state's x
        return _as_array(state["x"], key, path)
    if {"data", "indices", "indptr"} <= state.keys():
        kind = str(state.get("format", value.pickled_global.rsplit(".", 1)[-1]))
        if kind.startswith(("csc", "csr")):
            return _sparse_to_dense(state, compressed_columns=kind.startswith("csc"))
    raise UserError(f"The SMPL model file {path} stores `{key}` as a `{value.pickled_global}` object, "
                    f"which this loader cannot read. {GET_SMPL}")


def _checked(arrays: dict[str, Any], path: Path) -> dict[str, np.ndarray]:
    """The seven SMPL arrays with the expected shapes and dtypes, or a UserError naming the problem."""
    missing = [key for key in _LAYOUT if key not in arrays]
    if missing:
        raise UserError(f"The file {path} is not an SMPL body model: it has no {', '.join(missing)}. "
                        f"{GET_SMPL}")
    out = {key: _as_array(arrays[key], key, path) for key in _LAYOUT}
    vertices = out["v_template"].shape[0] if out["v_template"].ndim == 2 else None
    if vertices != NUM_VERTICES:
        other = _OTHER_MODELS.get(vertices or -1, "not an SMPL model")
        raise UserError(f"The file {path} has a template of shape {out['v_template'].shape}, SMPL has "
                        f"{NUM_VERTICES} vertices: this is {other}. {GET_SMPL}")
    for key, (shape, dtype) in _LAYOUT.items():
        got = out[key].shape
        fits = len(got) == len(shape) and all(want is None or want == n for want, n in zip(shape, got))
        if not fits or (key == "shapedirs" and got[-1] < 10):
            wanted = "x".join("B>=10" if n is None else str(n) for n in shape)
            raise UserError(f"The SMPL model file {path} has `{key}` of shape {'x'.join(map(str, got))}, "
                            f"expected {wanted} (SMPL+H and SMPL-X files do not fit). {GET_SMPL}")
        try:
            out[key] = np.ascontiguousarray(out[key], dtype=dtype)
        except (TypeError, ValueError):
            raise UserError(f"The SMPL model file {path} has `{key}` of type {out[key].dtype}, which is not "
                            f"numeric. {GET_SMPL}") from None
    return out


def _gender_from_name(path: Path) -> str | None:
    name = path.stem.lower()
    if "female" in name or "_f_" in name:
        return "FEMALE"
    if "neutral" in name:
        return "NEUTRAL"
    if "male" in name or "_m_" in name:
        return "MALE"
    return None


def _model_file(path: Path) -> Path:
    """The file itself, or the first known SMPL file name inside a folder (or its `smpl` subfolder)."""
    if not path.is_dir():
        if not path.exists():
            raise UserError(f"The SMPL model file {path} does not exist. {GET_SMPL}")
        return regular_file(path, "SMPL model file")
    for folder in (path, path / "smpl"):
        for name in MODEL_FILE_NAMES:
            if (folder / name).is_file():
                return folder / name
    raise UserError(f"The folder {path} holds no SMPL model (looked for {', '.join(MODEL_FILE_NAMES)}). "
                    f"{GET_SMPL}")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            check_archive_sizes(path, archive.files, "SMPL model file")
            return {key: archive[key] for key in archive.files}
    except ValueError as exc:  # object arrays (would need pickle) or not an npz at all
        raise UserError(f"The SMPL model file {path} could not be read as plain arrays ({exc}). "
                        f"{GET_SMPL}") from None
    except (OSError, EOFError, MemoryError) as exc:
        raise UserError(f"The SMPL model file {path} is damaged or not an .npz ({exc}). {GET_SMPL}") from None


def _body_extras(arrays: dict[str, Any], path: Path) -> dict[str, Any]:
    """The optional `body_name` and `keypoint_vertex_ids` of a non-SMPL body in SMPL's layout (the
    stand-in); an SMPL file has neither."""
    extras: dict[str, Any] = {}
    if "body_name" in arrays:
        name = np.asarray(arrays["body_name"])
        if name.dtype.kind != "U" or name.ndim != 0:
            raise UserError(f"The body model file {path} has a `body_name` that is not a text.")
        extras["name"] = str(name)
    if "keypoint_vertex_ids" in arrays:
        ids = np.asarray(arrays["keypoint_vertex_ids"])
        if (ids.shape != (NUM_KEYPOINT_VERTICES,) or ids.dtype.kind not in "iu" or ids.min() < 0
                or ids.max() >= NUM_VERTICES):
            raise UserError(f"The body model file {path} has `keypoint_vertex_ids` of shape {ids.shape}, "
                            f"expected {NUM_KEYPOINT_VERTICES} vertex indices below {NUM_VERTICES}.")
        extras["keypoint_vertex_ids"] = ids.astype(np.int64)
    return extras


def read_smpl_model(path: str | Path) -> SMPLModelData:
    """SMPL model arrays from a `.pkl` (official v1.0 with chumpy / scipy objects, or v1.1), an `.npz`,
    or a folder holding one of `MODEL_FILE_NAMES`. Never runs code from the file.

    Raises UserError (UnsafeFileError for files carrying code) with what is wrong and where to get SMPL.
    """
    path = _model_file(Path(path).expanduser())
    if path.suffix.lower() == ".npz":
        arrays: Any = _read_npz(path)
    else:
        try:
            arrays = load_pickle(path, what="SMPL model file")
        except UnsafeFileError:
            raise
        except UserError as exc:  # empty or damaged: say where a good copy comes from
            raise UserError(f"{exc} {GET_SMPL}") from None
    if not isinstance(arrays, dict):
        raise UserError(f"The file {path} is not an SMPL body model (it holds a {type(arrays).__name__}, "
                        f"not a dictionary of arrays). {GET_SMPL}")
    return SMPLModelData(**_checked(arrays, path), gender=_gender_from_name(path), source=path,
                         **_body_extras(arrays, path))


def read_body_model(path: str | Path | None) -> SMPLModelData:
    """The user's SMPL model (as `read_smpl_model`), or the project's stand-in body when `path` is None or
    empty: the product works before anyone has registered for SMPL."""
    if path is None or str(path) == "":
        if not STANDIN_BODY_PATH.is_file():
            raise UserError(f"No SMPL model was given and the stand-in body {STANDIN_BODY_PATH} is missing "
                            f"from this installation. {GET_SMPL}")
        return read_smpl_model(STANDIN_BODY_PATH)
    return read_smpl_model(path)
