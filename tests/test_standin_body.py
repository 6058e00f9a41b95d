"""The license-free stand-in body: SMPL's file layout, loaded like SMPL, anatomically placed, posable, shapable."""
from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))

from inference.body_model import SMPLBody  # noqa: E402
from contract.errors import UserError  # noqa: E402
from contract.smpl_file import STANDIN_BODY_PATH, read_body_model, read_smpl_model  # noqa: E402
from standin_body import proportions  # noqa: E402
from standin_body.body_shape import body_parts  # noqa: E402
from standin_body.build_mesh import build_mesh  # noqa: E402
from standin_body.mesh_ops import signed_volume, topology  # noqa: E402
from standin_body.model import rig  # noqa: E402
from standin_body.shape_space import directions  # noqa: E402

SYNTHETIC_SMPL = Path(__file__).parent / "reference" / "synthetic_SMPL_NEUTRAL.pkl"
H = proportions.STATURE_M
JOINT = {name: index for index, name in enumerate(proportions.JOINT_NAMES)}
REST = torch.eye(3).expand(1, 24, 3, 3)


@pytest.fixture(scope="module")
def model():
    return read_body_model(None)


@pytest.fixture(scope="module")
def body(model):
    return SMPLBody(model)


def _forward(body, pose=REST, betas=None):
    betas = torch.zeros(len(pose), 10) if betas is None else betas
    with torch.no_grad():
        return body(pose, betas)


def _rotation_y(degrees: float) -> torch.Tensor:
    a = np.radians(degrees)
    return torch.tensor([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]], dtype=torch.float32)


def test_the_default_body_is_the_stand_in_read_like_smpl(model):
    same = read_smpl_model(STANDIN_BODY_PATH)
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f"):
        np.testing.assert_array_equal(getattr(model, key), getattr(same, key))
    assert model.name == "stand-in" and model.is_standin and model.source == STANDIN_BODY_PATH
    smpl = read_body_model(SYNTHETIC_SMPL)
    assert smpl.name == "SMPL" and not smpl.is_standin and smpl.keypoint_vertex_ids is None


def test_missing_stand_in_and_bad_keypoint_ids_are_explained(monkeypatch, tmp_path, model):
    monkeypatch.setattr("contract.smpl_file.STANDIN_BODY_PATH", tmp_path / "gone.npz")
    with pytest.raises(UserError, match="stand-in body .* is missing"):
        read_body_model(None)
    with np.load(STANDIN_BODY_PATH) as archive:
        arrays = dict(archive)
    np.savez(tmp_path / "bad.npz", **{**arrays, "keypoint_vertex_ids": np.arange(21) + 6880})
    with pytest.raises(UserError, match="keypoint_vertex_ids"):
        read_smpl_model(tmp_path / "bad.npz")


def test_smpl_layout_and_invariants(model):
    with SYNTHETIC_SMPL.open("rb") as file:
        smpl = pickle.load(file)
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f"):
        assert getattr(model, key).shape == smpl[key].shape and getattr(model, key).dtype == smpl[key].dtype
    np.testing.assert_array_equal(model.kintree_table, smpl["kintree_table"])  # SMPL's tree, 2**32 - 1 root
    for rows in (model.weights, model.J_regressor):
        assert rows.min() >= 0
        np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-5)
    assert (model.weights > 0).sum(axis=1).max() <= 12  # local influence: a bone and its neighbours
    assert model.f.min() == 0 and model.f.max() == len(model.v_template) - 1
    shape = topology(model.f)
    assert shape == {"closed_oriented": True, "euler": 2, "components": 1}  # watertight, genus 0
    assert signed_volume(model.v_template.astype(np.float64), model.f) > 0.05  # outward; about 65 litres
    assert not model.posedirs.any()  # no pose correctives: documented in assets/body/README.md
    moving = np.abs(model.shapedirs).max(axis=(0, 1))
    assert (moving[:7] > 0.005).all() and not moving[7:].any()


def _winding_numbers(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Generalised winding number of a closed mesh at each point: 1 inside, 0 outside."""
    tri = vertices[faces][None] - points[:, None, None]  # (P, F, 3, 3)
    a, b, c = tri[:, :, 0], tri[:, :, 1], tri[:, :, 2]
    la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
    numerator = np.einsum("pfc,pfc->pf", a, np.cross(b, c))
    denominator = (la * lb * lc + np.einsum("pfc,pfc->pf", a, b) * lc + np.einsum("pfc,pfc->pf", a, c) * lb
                   + np.einsum("pfc,pfc->pf", b, c) * la)
    return 2 * np.arctan2(numerator, denominator).sum(axis=1) / (4 * np.pi)


def test_rest_joints_sit_where_the_proportions_put_them(model):
    vertices = model.v_template.astype(np.float64)
    joints = model.J_regressor.astype(np.float64) @ vertices
    np.testing.assert_allclose(joints, proportions.rest_joints(), atol=2e-5)
    np.testing.assert_allclose(_winding_numbers(joints, vertices, model.f), 1.0, atol=0.02)  # inside
    floor, top = vertices[:, 1].min(), vertices[:, 1].max()
    assert abs(top - floor - H) < 0.01 and abs(floor - proportions.FLOOR_Y) < 0.005
    assert -0.24 < joints[JOINT["pelvis"], 1] < -0.20  # where SMPL's pelvis is, so cameras agree
    above_floor = {name: (joints[JOINT[name], 1] - floor) / H for name in JOINT}
    # Drillis & Contini: hip (trochanter) 0.530, knee 0.285, ankle 0.039, shoulder 0.818, chin 0.870
    assert 0.50 < above_floor["left_hip"] < 0.53 and abs(above_floor["left_knee"] - 0.285) < 0.01
    assert 0.035 < above_floor["left_ankle"] < 0.06 and abs(above_floor["left_shoulder"] - 0.818) < 0.012
    assert abs(above_floor["neck"] - 0.870) < 0.01
    span = vertices[:, 0].max() - vertices[:, 0].min()
    assert 1.0 < span / H < 1.08  # arm span is about stature
    arm = np.linalg.norm(joints[JOINT["left_wrist"]] - joints[JOINT["left_shoulder"]])
    assert 0.29 < arm / H < 0.335  # Drillis & Contini's surface lengths from the acromion: 0.186 H + 0.146 H
    left = [index for name, index in JOINT.items() if name.startswith("left_")]
    right = [JOINT[name.replace("left_", "right_")] for name in JOINT if name.startswith("left_")]
    np.testing.assert_allclose(joints[left] * [-1, 1, 1], joints[right], atol=1e-3)  # mirror twins


def test_posing_moves_the_right_parts_and_keeps_the_skin_attached(model, body):
    rest = _forward(body)
    pose = REST.clone()
    pose[0, JOINT["left_elbow"]] = _rotation_y(-90)  # forearm swings forward
    bent = _forward(body, pose)
    assert torch.isfinite(bent.vertices).all()
    np.testing.assert_allclose(bent.joints[0, :JOINT["left_elbow"] + 1], rest.joints[0, :JOINT["left_elbow"] + 1],
                               atol=1e-5)
    wrist = bent.joints[0, JOINT["left_wrist"]] - bent.joints[0, JOINT["left_elbow"]]
    assert wrist[2] > 0.2 and abs(wrist[0]) < 0.02  # now pointing forward, same length
    tips = slice(11, 16)  # smplx keypoints: left thumb .. pinky tips
    assert (bent.keypoints[0, tips, 2] - rest.keypoints[0, tips, 2]).min() > 0.25
    still = model.weights[:, JOINT["left_elbow"]:].sum(axis=1) == 0
    torch.testing.assert_close(bent.vertices[0, still], rest.vertices[0, still], rtol=0, atol=1e-5)
    edges = np.concatenate([model.f[:, [0, 1]], model.f[:, [1, 2]], model.f[:, [2, 0]]])
    before = np.linalg.norm(np.diff(rest.vertices[0].numpy()[edges], axis=1), axis=-1)
    after = np.linalg.norm(np.diff(bent.vertices[0].numpy()[edges], axis=1), axis=-1)
    assert (after / before).max() < 2.0  # no edge tears open across the bent elbow


def test_stature_beta_changes_height_monotonically_by_population_deviations(body):
    betas = torch.zeros(5, 10)
    betas[:, 0] = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])
    out = _forward(body, REST.expand(5, 24, 3, 3), betas)
    heights = (out.vertices[:, :, 1].max(dim=1).values - out.vertices[:, :, 1].min(dim=1).values).numpy()
    assert (np.diff(heights) > 0.05).all()
    assert abs(heights[4] - heights[2] - 0.18) < 0.02 and abs(heights[2] - heights[0] - 0.18) < 0.02
    mass = torch.zeros(1, 10)
    mass[0, 1] = 2.0
    heavy = _forward(body, REST, mass).vertices[0].numpy()
    rest = _forward(body).vertices[0].numpy()
    assert abs(np.ptp(heavy[:, 1]) - np.ptp(rest[:, 1])) < 0.01  # the mass direction is not height
    waist = np.abs(rest[:, 1] + 0.10) < 0.02
    assert 0.10 < np.ptp(heavy[waist, 2]) / np.ptp(rest[waist, 2]) - 1 < 0.35  # +2 SD: a thicker waist


def test_joints_follow_the_shape_directions(model):
    regressed = np.einsum("jv,vck->jck", model.J_regressor.astype(np.float64), model.shapedirs)
    for k, direction in enumerate(directions()):
        np.testing.assert_allclose(regressed[:, :, k], direction.joints, atol=0.0035, err_msg=direction.name)


def test_keypoints_are_the_stand_ins_own_vertices(model, body):
    keypoints = _forward(body).keypoints[0].numpy()
    np.testing.assert_allclose(keypoints, model.v_template[model.keypoint_vertex_ids], rtol=0, atol=1e-6)
    nose, right_eye, left_eye, right_ear, left_ear = keypoints[:5]
    assert nose[2] > 0.12 and abs(nose[0]) < 0.005 and right_eye[0] < 0 < left_eye[0]
    assert right_ear[0] < -0.07 and left_ear[0] > 0.07 and min(right_eye[2], left_eye[2]) > 0.09
    for side, feet, hand in ((1, keypoints[5:8], keypoints[11:16]), (-1, keypoints[8:11], keypoints[16:21])):
        big_toe, small_toe, heel = feet
        assert big_toe[2] > 0.15 and heel[2] < -0.06 and side * (small_toe[0] - big_toe[0]) > 0.02
        assert (side * hand[:, 0] > 0.78).all() and hand[0, 2] > hand[1, 2] > hand[4, 2]  # thumb in front


def test_the_rig_regenerates_from_the_committed_mesh(model):
    arrays = rig(model.v_template.astype(np.float64), model.f, body_parts())
    for key in ("v_template", "weights", "J_regressor", "shapedirs", "posedirs", "kintree_table", "f"):
        np.testing.assert_allclose(arrays[key], getattr(model, key), rtol=0, atol=2e-6, err_msg=key)
    np.testing.assert_array_equal(arrays["keypoint_vertex_ids"], model.keypoint_vertex_ids)


def test_the_mesher_is_deterministic_and_watertight():
    """The full-resolution mesh takes about a minute; a coarse one exercises every step in seconds."""
    first = build_mesh(spacing=0.025, num_vertices=1500)
    second = build_mesh(spacing=0.025, num_vertices=1500)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[0].shape == (1500, 3) and first[1].shape == (2 * 1500 - 4, 3)
    assert topology(first[1]) == {"closed_oriented": True, "euler": 2, "components": 1}
    height = np.ptp(first[0][:, 1])
    assert abs(height - H) < 0.02
