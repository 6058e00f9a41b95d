"""SMPL model files (official v1.0 chumpy/scipy pickle, v1.1, npz, folders) and the SMPL body forward."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import types
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from contract.skeleton import JOINT_NAMES
from inference.body_model import SMPLBody
from contract.errors import UnsafeFileError, UserError
from contract.smpl_file import read_smpl_model

sys.path.insert(0, str(Path(__file__).parent))
from pare_joints49 import (PARE_JOINT_INDEX, PARE_JOINT_NAMES, candidate_joints, pare_joints49,  # noqa: E402
                           read_extra_regressor)

REFERENCE = Path(__file__).parent / "reference"
SYNTHETIC = REFERENCE / "synthetic_SMPL_NEUTRAL.pkl"
KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    with SYNTHETIC.open("rb") as file:
        return pickle.load(file)


@pytest.fixture(scope="module")
def body() -> SMPLBody:
    return SMPLBody(read_smpl_model(SYNTHETIC))


@pytest.fixture(scope="module")
def extra_regressor() -> torch.Tensor:
    return read_extra_regressor(REFERENCE / "synthetic_J_regressor_extra.npy")


def _assert_model_equals(model, arrays) -> None:
    for key in KEYS:
        np.testing.assert_array_equal(getattr(model, key), arrays[key])
        assert getattr(model, key).dtype == arrays[key].dtype


# --- official v1.0 look-alike: chumpy `Ch` objects and a scipy CSC matrix, neither importable at load time


def _fake_class(module: str, name: str, state_names: tuple[str, ...]) -> type:
    """A class pickled as `module.name` whose instances carry `state_names` in their __dict__."""
    def __init__(self, **state):
        assert set(state) == set(state_names)
        self.__dict__.update(state)
    return type(name, (), {"__module__": module, "__init__": __init__})


def _csc_state(dense: np.ndarray, with_format: bool) -> dict:
    cols, rows = np.nonzero(dense.T)  # column-major order, as CSC stores it
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=dense.shape[1]))]).astype(np.int32)
    state = {"data": dense[rows, cols].astype(np.float64), "indices": rows.astype(np.int32), "indptr": indptr,
             "_shape": dense.shape, "maxprint": 50}
    return {**state, "format": "csc"} if with_format else state


@contextmanager
def _modules(names: dict[str, types.ModuleType | None]):
    """Temporarily set sys.modules entries (None makes `import name` fail)."""
    saved = {name: sys.modules.get(name, ...) for name in names}
    sys.modules.update(names)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is ...:
                del sys.modules[name]
            else:
                sys.modules[name] = module


@pytest.mark.parametrize("csc_module, with_format", [("scipy.sparse.csc", True), ("scipy.sparse._csc", False)])
def test_official_v1_pickle_without_chumpy_or_scipy(tmp_path, arrays, csc_module, with_format):
    ch_class = _fake_class("chumpy.ch", "Ch", ("x", "_dirty_vars"))
    csc_class = _fake_class(csc_module, "csc_matrix", tuple(_csc_state(arrays["J_regressor"], with_format)))
    fakes = {name: types.ModuleType(name) for name in ("chumpy", "chumpy.ch", "scipy", "scipy.sparse", csc_module)}
    fakes["chumpy.ch"].Ch = ch_class
    setattr(fakes[csc_module], "csc_matrix", csc_class)

    def ch(array):
        return ch_class(x=array.astype(np.float64), _dirty_vars=set())

    official = {
        "v_template": ch(arrays["v_template"]), "shapedirs": ch(arrays["shapedirs"]),
        "posedirs": arrays["posedirs"].astype(np.float64), "weights": ch(arrays["weights"]),
        "J_regressor": csc_class(**_csc_state(arrays["J_regressor"], with_format)),
        "J_regressor_prior": csc_class(**_csc_state(arrays["J_regressor"], with_format)),
        "J": ch(np.zeros((24, 3))), "kintree_table": arrays["kintree_table"].astype(np.uint32),
        "f": arrays["f"].astype(np.uint32), "bs_style": "lbs", "bs_type": "lrotmin",
        "vert_sym_idxs": np.arange(6890), "pose_training_info": {"nsubj": 1},
    }
    path = tmp_path / "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl"
    with _modules(fakes):
        path.write_bytes(pickle.dumps(official, protocol=2))
    blocked = {name: None for name in ("chumpy", "chumpy.ch", "scipy", "scipy.sparse", csc_module)}
    with _modules(blocked):
        model = read_smpl_model(tmp_path)  # a folder: the official file name is found inside
    assert model.source == path and model.gender == "NEUTRAL"
    for key in KEYS:
        np.testing.assert_allclose(getattr(model, key), arrays[key], rtol=0, atol=1e-7)
        assert getattr(model, key).dtype == arrays[key].dtype


def test_real_scipy_sparse_pickle_reads_without_scipy(tmp_path, arrays):
    import scipy.sparse

    official = {key: arrays[key] for key in KEYS}
    official["J_regressor"] = scipy.sparse.csc_matrix(arrays["J_regressor"].astype(np.float64))
    path = tmp_path / "SMPL_FEMALE.pkl"
    path.write_bytes(pickle.dumps(official, protocol=2))
    with _modules({"scipy": None, "scipy.sparse": None, "scipy.sparse._csc": None}):
        model = read_smpl_model(path)
    np.testing.assert_allclose(model.J_regressor, arrays["J_regressor"], rtol=0, atol=1e-7)
    assert model.gender == "FEMALE"


def test_v11_pickle_npz_and_folders_read_the_same(tmp_path, arrays):
    model = read_smpl_model(SYNTHETIC)
    _assert_model_equals(model, arrays)
    assert model.gender == "NEUTRAL" and model.source == SYNTHETIC

    np.savez(tmp_path / "SMPL_MALE.npz", **arrays)
    npz_model = read_smpl_model(tmp_path / "SMPL_MALE.npz")
    _assert_model_equals(npz_model, arrays)
    assert npz_model.gender == "MALE"

    (tmp_path / "smpl").mkdir()
    os.symlink(SYNTHETIC.resolve(), tmp_path / "smpl" / "SMPL_NEUTRAL.pkl")
    assert read_smpl_model(tmp_path).source == tmp_path / "smpl" / "SMPL_NEUTRAL.pkl"


def test_reading_needs_no_torch():
    """The Blender add-on reads SMPL files too, and Blender's Python has numpy but no torch."""
    script = ("import sys; sys.modules['torch'] = None\n"
              "from contract.smpl_file import read_smpl_model\n"
              f"print(read_smpl_model({str(SYNTHETIC)!r}).posedirs.shape)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).parents[1], check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(6890, 3, 207)"


@pytest.mark.parametrize("change, message", [
    ({"v_template": np.zeros((10475, 3), np.float32)}, "SMPL-X"),
    ({"v_template": np.zeros((778, 3), np.float32)}, "MANO"),
    ({"J_regressor": np.zeros((52, 6890), np.float32)}, r"J_regressor` of shape 52x6890, expected 24x6890"),
    ({"shapedirs": np.zeros((6890, 3, 8), np.float32)}, r"expected 6890x3xB>=10"),
    ({"posedirs": None}, "it has no posedirs"),
])
def test_wrong_content_is_explained(tmp_path, arrays, change, message):
    content = {key: value for key, value in {**arrays, **change}.items() if value is not None}
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(content, protocol=2))
    with pytest.raises(UserError, match=message) as info:
        read_smpl_model(path)
    assert "https://smpl.is.tue.mpg.de" in str(info.value) and "SMPL for Python" in str(info.value)


def test_missing_damaged_and_unsafe_files(tmp_path):
    with pytest.raises(UserError, match="does not exist.*https://smpl.is.tue.mpg.de"):
        read_smpl_model(tmp_path / "SMPL_NEUTRAL.pkl")
    with pytest.raises(UserError, match="holds no SMPL model.*SMPL for Python"):
        read_smpl_model(tmp_path)
    (tmp_path / "broken.pkl").write_bytes(b"\x80\x02}q\x00(X")
    with pytest.raises(UserError, match="could not be read.*smpl.is.tue.mpg.de"):
        read_smpl_model(tmp_path / "broken.pkl")
    np.savez(tmp_path / "objects.npz", v_template=np.array([None], dtype=object))
    with pytest.raises(UserError, match="could not be read as plain arrays"):
        read_smpl_model(tmp_path / "objects.npz")
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(UserError, match="not an SMPL body model"):
        read_smpl_model(tmp_path / "list.pkl")
    marker = tmp_path / "pwned"
    (tmp_path / "evil.pkl").write_bytes(b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    with pytest.raises(UnsafeFileError, match="os.system"):
        read_smpl_model(tmp_path / "evil.pkl")
    assert not marker.exists()


# --- the body forward


@pytest.mark.parametrize("golden", ["pare_hrnet32", "hmr_spin"])
def test_body_matches_the_goldens(body, extra_regressor, golden):
    reference = np.load(REFERENCE / f"{golden}_golden.npz")
    out = body(torch.from_numpy(reference["pred_pose"]), torch.from_numpy(reference["pred_shape"]))
    assert out.vertices.shape == (1, 6890, 3) and out.joints.shape == (1, 24, 3)
    assert out.vertices.dtype == torch.float32
    np.testing.assert_allclose(out.vertices.numpy(), reference["smpl_vertices"], rtol=0, atol=1e-5)
    joints49 = pare_joints49(out, extra_regressor).numpy()
    np.testing.assert_allclose(joints49, reference["smpl_joints3d"], rtol=0, atol=1e-5)


def test_each_of_the_49_joints_has_exactly_one_possible_source(body, extra_regressor):
    """The golden decides the mapping: no other of the 54 candidate joints lies near any golden joint."""
    reference = np.load(REFERENCE / "pare_hrnet32_golden.npz")
    out = body(torch.from_numpy(reference["pred_pose"]), torch.from_numpy(reference["pred_shape"]))
    candidates = candidate_joints(out, extra_regressor)[0].numpy()
    distance = np.linalg.norm(reference["smpl_joints3d"][0][:, None] - candidates[None], axis=-1)
    assert ((distance < 1e-4).sum(axis=1) == 1).all()
    np.testing.assert_array_equal(distance.argmin(axis=1), PARE_JOINT_INDEX)


def test_batches_of_any_size_match_single_bodies(body, extra_regressor):
    g = torch.Generator().manual_seed(0)
    rotations = torch.linalg.qr(torch.randn(3, 24, 3, 3, generator=g, dtype=torch.float64))[0]
    betas = torch.randn(3, 10, generator=g, dtype=torch.float64)
    batch = body(rotations, betas)  # float64 inputs are cast to the body's float32
    assert batch.vertices.dtype == torch.float32 and batch.keypoints.shape == (3, 21, 3)
    joints49 = pare_joints49(batch, extra_regressor)
    for i in range(3):
        single = body(rotations[i:i + 1], betas[i:i + 1])
        torch.testing.assert_close(batch.vertices[i:i + 1], single.vertices, rtol=0, atol=2e-6)
        torch.testing.assert_close(joints49[i:i + 1], pare_joints49(single, extra_regressor), rtol=0, atol=2e-6)


def test_rest_pose_joints_are_the_regressed_template(arrays):
    body = SMPLBody(read_smpl_model(SYNTHETIC))
    out = body(torch.eye(3).expand(2, 24, 3, 3), torch.zeros(2, 10))
    np.testing.assert_allclose(out.vertices[1].numpy(), arrays["v_template"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(out.joints[0].numpy(), arrays["J_regressor"] @ arrays["v_template"], atol=1e-5)
    assert tuple(body.faces.shape) == (13776, 3)


def test_joint_names():
    assert len(JOINT_NAMES) == 24 and JOINT_NAMES[0] == "pelvis" and JOINT_NAMES[23] == "right_hand"
    assert JOINT_NAMES[12:16] == ("neck", "left_collar", "right_collar", "head")
    assert len(PARE_JOINT_NAMES) == 49 and PARE_JOINT_NAMES[0] == "OP Nose" and PARE_JOINT_NAMES[25] == "Right Ankle"
