"""The add-on's numpy core, checked without Blender against the installed smplx.

Blender's rules are replayed here in numpy (pose bone matrix = parent pose . parent rest^-1 . rest . local
key; shape keys before the Armature modifier; skinning with pose . rest^-1), so a wrong bone frame, root
motion or pose-corrective weight shows up as a joint or vertex error against smplx's own SMPL forward.
"""
import pathlib
import sys

import numpy as np
import pytest
import torch
from smplx.lbs import lbs

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from pare_body_estimator.addon import body_parts, camera_math, rig_math, smpl_rest  # noqa: E402
from contract import skeleton  # noqa: E402
from contract.smpl_file import read_smpl_model  # noqa: E402

SMPL_PATH = pathlib.Path(__file__).parent / "reference" / "synthetic_SMPL_NEUTRAL.pkl"


@pytest.fixture(scope="module")
def model():
    return read_smpl_model(SMPL_PATH)


def smplx_forward(model, betas, rotmats, cam_t):
    """Reference: smplx's SMPL (shape + pose blend shapes + LBS) plus the camera translation, float64."""
    def t(a):
        return torch.as_tensor(np.asarray(a, dtype=np.float64))
    n = len(rotmats)
    verts, joints = lbs(t(np.repeat(betas[None], n, 0)), t(rotmats), t(model.v_template),
                        t(model.shapedirs[:, :, :10]), t(model.posedirs.reshape(-1, 207).T),
                        t(model.J_regressor), torch.as_tensor(smpl_rest.joint_parents(model)),
                        t(model.weights), pose2rot=False)
    return verts.numpy() + cam_t[:, None], joints.numpy() + cam_t[:, None]


def rodrigues(rotvecs):
    """(..., 3) axis-angle -> (..., 3, 3) exact rotations (Rodrigues' formula)."""
    rotvecs = np.asarray(rotvecs, dtype=np.float64)
    angle = np.linalg.norm(rotvecs, axis=-1)[..., None, None]
    x, y, z = np.moveaxis(rotvecs / np.maximum(angle[..., 0], 1e-300), -1, 0)
    zero = np.zeros_like(x)
    k = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2)
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def random_rotvecs(rng, count):
    """Axis-angle vectors with uniform axes and angles in [0, pi]."""
    axes = rng.normal(size=(count, 3))
    return axes / np.linalg.norm(axes, axis=1, keepdims=True) * rng.uniform(0, np.pi, (count, 1))


def quat_to_matrix(q):
    """(..., 4) unit quaternions (w, x, y, z) -> (..., 3, 3), the textbook formula."""
    w, x, y, z = np.moveaxis(np.asarray(q), -1, 0)
    return np.stack([np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
                     np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
                     np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], -2)


def homogeneous(rotation, translation):
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = rotation, translation
    return m


def blender_replay(model, betas, rotmats, cam_t):
    """What Blender shows for the rig built from the core: posed bone heads and deformed vertices, in the
    result camera frame."""
    parents = smpl_rest.joint_parents(model)
    w = rig_math.WORLD_FROM_SMPL
    joints = smpl_rest.rest_joints(model, betas)
    heads = joints @ w.T
    tails = smpl_rest.bone_tails(heads, parents, rig_math.BODY_FORWARD)
    frames = smpl_rest.bone_rest_frames(heads, tails, rig_math.BODY_FORWARD, rig_math.BODY_UP)
    rest = np.stack([homogeneous(frames[j], heads[j]) for j in range(24)])
    quats = rig_math.bone_rotations(rotmats, frames)
    locations = rig_math.root_locations(cam_t, joints[0], frames[0])
    corrective = rig_math.pose_corrective_weights(rotmats)
    shaped = model.v_template + smpl_rest.shape_offsets(model, betas)
    camera_from_world = rig_math.WORLD_FROM_RESULT_CAMERA.T
    weights = model.weights.astype(np.float64)
    weights /= weights.sum(axis=1, keepdims=True)  # the Armature modifier normalises; SMPL sums to 1 +- 2e-8
    all_heads, all_verts = [], []
    for f in range(len(rotmats)):
        pose = np.empty((24, 4, 4))
        for j in range(24):
            q = quats[f, j]
            local = homogeneous(quat_to_matrix(q), locations[f] if j == 0 else 0)
            base = rest[j] if parents[j] < 0 else pose[parents[j]] @ np.linalg.inv(rest[parents[j]]) @ rest[j]
            pose[j] = base @ local
        skin = pose @ np.linalg.inv(rest)
        mesh = (shaped + model.posedirs @ corrective[f]) @ w.T  # shape keys, stored in world axes
        per_bone = np.einsum("jab,vb->vja", skin[:, :3, :3], mesh) + skin[None, :, :3, 3]
        world = np.einsum("vj,vja->va", weights, per_bone)
        all_heads.append(pose[:, :3, 3] @ camera_from_world.T)
        all_verts.append(world @ camera_from_world.T)
    return np.stack(all_heads), np.stack(all_verts)


def test_rig_keys_reproduce_smpl_joints_and_vertices(model):
    rng = np.random.default_rng(3)
    n = 6
    rotmats = rodrigues(rng.normal(0, 0.6, (n, 24, 3)))
    rotmats[:, 0] = np.diag([1.0, -1.0, -1.0]) @ rotmats[:, 0]  # upright in the image
    rotmats[1, 5] = np.diag([-1.0, 1.0, -1.0])  # a 180-degree knee turn
    betas = rng.normal(0, 1.5, 10)
    cam_t = np.column_stack([rng.normal(0, 0.5, n), rng.normal(0, 0.3, n), rng.uniform(4, 12, n)])
    ref_verts, ref_joints = smplx_forward(model, betas, rotmats, cam_t)
    heads, verts = blender_replay(model, betas, rotmats, cam_t)
    assert np.abs(heads - ref_joints).max() < 1e-9
    assert np.abs(verts - ref_verts).max() < 1e-7  # the weights' float32 sums, times the body's size


def test_bone_layout_points_bones_at_children_with_orthonormal_axes(model):
    parents = smpl_rest.joint_parents(model)
    heads = smpl_rest.rest_joints(model, np.zeros(10)) @ rig_math.WORLD_FROM_SMPL.T
    tails = smpl_rest.bone_tails(heads, parents, rig_math.BODY_FORWARD)
    names = skeleton.JOINT_NAMES
    pelvis, spine1 = names.index("pelvis"), names.index("spine1")
    assert np.allclose(tails[pelvis] - heads[pelvis],
                       rig_math.BODY_FORWARD * np.linalg.norm(heads[spine1] - heads[pelvis]))
    assert np.allclose(tails[names.index("spine3")], heads[names.index("neck")])
    assert np.allclose(tails[names.index("left_knee")], heads[names.index("left_ankle")])
    assert (np.linalg.norm(tails - heads, axis=1) >= smpl_rest.MIN_BONE_LENGTH - 1e-12).all()
    frames = smpl_rest.bone_rest_frames(heads, tails, rig_math.BODY_FORWARD, rig_math.BODY_UP)
    assert np.allclose(frames @ np.swapaxes(frames, 1, 2), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(frames), 1.0)
    along = (tails - heads) / np.linalg.norm(tails - heads, axis=1, keepdims=True)
    assert np.allclose(frames[:, :, 1], along)
    assert heads[names.index("head"), 2] > heads[names.index("pelvis"), 2]  # upright in Blender's z-up world


def test_quaternions_match_matrices_and_stay_continuous():
    rng = np.random.default_rng(0)
    matrices = rodrigues(random_rotvecs(rng, 500))
    matrices[:3] = [np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]), np.diag([-1.0, -1, 1])]  # 180 degrees
    quats = rig_math.rotmat_to_quat(matrices)
    assert np.allclose(np.linalg.norm(quats, axis=-1), 1.0) and (quats[:, 0] >= 0).all()
    assert np.allclose(quat_to_matrix(quats), matrices, atol=1e-12)
    track = rodrigues(np.cumsum(rng.normal(0, 0.3, (200, 3)), axis=0))
    smooth = rig_math.make_continuous(rig_math.rotmat_to_quat(track))
    assert (np.sum(smooth[1:] * smooth[:-1], axis=-1) >= 0).all()
    assert np.allclose(quat_to_matrix(smooth), track, atol=1e-12)


def test_pose_corrective_weights_are_rotation_minus_identity_row_major():
    rotmats = rodrigues(random_rotvecs(np.random.default_rng(2), 2 * 24)).reshape(2, 24, 3, 3)
    weights = rig_math.pose_corrective_weights(rotmats)
    assert weights.shape == (2, 207)
    assert np.allclose(weights[1, 9 * 4 + 3 * 1 + 2], rotmats[1, 5, 1, 2])  # joint 5, row 1, column 2
    assert np.allclose(weights[0, 0], rotmats[0, 1, 0, 0] - 1)


def pixel_focal_length(settings: camera_math.CameraSettings) -> float:
    """Blender's rule: the focal length in pixels a camera with these settings renders with (HORIZONTAL fit)."""
    return settings.lens_mm * settings.resolution_x / settings.sensor_width_mm


def test_camera_settings_reproduce_the_pinhole_focal_length():
    settings = camera_math.camera_settings(1000.0, 640, 480)
    assert settings.sensor_fit == "HORIZONTAL" and (settings.resolution_x, settings.resolution_y) == (640, 480)
    assert pixel_focal_length(settings) == pytest.approx(1000.0, rel=1e-12)
    width, height = camera_math.footage_plane_size(10.0, 1000.0, 640, 480)
    assert (width, height) == pytest.approx((6.4, 4.8))
    # The camera looks along +y, up +z; result x right / y down / z forward follow from it.
    assert np.allclose(rig_math.WORLD_FROM_RESULT_CAMERA @ [0, 0, 1], [0, 1, 0])
    assert np.allclose(rig_math.WORLD_FROM_RESULT_CAMERA @ [0, -1, 0], [0, 0, 1])
    assert np.allclose(rig_math.WORLD_FROM_RESULT_CAMERA @ [1, 0, 0], [1, 0, 0])


def test_part_colours_are_distinct_and_follow_the_strongest_weight(model):
    colors = body_parts.PART_COLORS
    gaps = np.linalg.norm(colors[:, None] - colors[None], axis=-1) + np.eye(24)
    assert colors.shape == (24, 3) and gaps.min() > 0.05
    parts = body_parts.vertex_parts(model.weights)
    assert np.array_equal(parts, np.argmax(model.weights, axis=1))
    assert np.allclose(body_parts.vertex_colors(model.weights)[:, :3], colors[parts])
