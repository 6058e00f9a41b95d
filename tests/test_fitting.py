"""Landmark fitting: known SMPL poses are recovered from BlazePose-style landmarks made from them.

Ground truth: random plausible poses (moderate swings, small twists, inside the joint limits), bodies facing
roughly the camera 3-5 m away, landmarks placed by the fitter's own correspondence, projected by a pinhole
camera, with noise (1-2 px in the image, 1-2 cm in 3D) and 10% of the landmarks hidden (visibility ~0 and their
positions thrown far off). Errors are mean distances of the 24 SMPL joints in the camera frame.
"""
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.body_model import SMPLBody
from inference.fitting import priors
from inference.fitting.camera_init import view_ray_rotation
from inference.fitting.fit import FitSettings, fit_landmarks
from inference.fitting.kinematics import forward_kinematics, joint_shape_model
from inference.fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES, HIP_LANDMARKS, LandmarkModel
from inference.fitting.objective import project
from inference.models.rotation import axis_angle_to_rotmat
from contract.smpl_file import read_smpl_model

SYNTHETIC = Path(__file__).parent / "reference" / "synthetic_SMPL_NEUTRAL.pkl"
IMAGE_SIZE = (1280, 720)
FOCAL = float(np.hypot(*IMAGE_SIZE))
# Largest |angle| per axis (x, y, z) of the ground-truth poses, by joint kind; twists (x for arms, y for
# legs and spine) stay small, since no landmark shows them.
MAGNITUDES = {"hip": (0.6, 0.15, 0.3), "spine": (0.12, 0.1, 0.08), "knee": (1.2, 0.05, 0.05),
              "ankle": (0.3, 0.1, 0.15), "foot": (0.1, 0.05, 0.05), "neck": (0.25, 0.2, 0.15),
              "collar": (0.05, 0.05, 0.05), "head": (0.25, 0.3, 0.15), "shoulder": (0.3, 0.7, 0.7),
              "elbow": (0.3, 1.2, 0.05), "wrist": (0.3, 0.3, 0.5), "hand": (0.0, 0.0, 0.0)}


@pytest.fixture(scope="module")
def body() -> SMPLBody:
    return SMPLBody(read_smpl_model(SYNTHETIC))


def random_body_pose(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 23, 3) axis-angle, uniform within the magnitudes and the joint limits; a back bends as a whole
    (one bend shared by the three spine joints, give or take 0.03 rad each), as backs do."""
    kind = [next(k for k in MAGNITUDES if k in name) for name in priors.BODY_JOINT_NAMES]
    size = np.array([MAGNITUDES[k] for k in kind])
    lower = np.maximum(priors.JOINT_LOWER_LIMITS.numpy(), -size)
    upper = np.minimum(priors.JOINT_UPPER_LIMITS.numpy(), size)
    pose = lower + (upper - lower) * rng.random((n, 23, 3))
    spine = [i for i, k in enumerate(kind) if k == "spine"]
    pose[:, spine] = pose[:, spine[:1]] + rng.uniform(-0.03, 0.03, (n, len(spine), 3))
    return pose


def rotmats(axis_angle: np.ndarray) -> np.ndarray:
    return axis_angle_to_rotmat(torch.tensor(axis_angle, dtype=torch.float32)).numpy()


def facing_camera(yaw: np.ndarray, tilt: np.ndarray) -> np.ndarray:
    """(n, 3, 3) upright body (y up, facing +z) turned by yaw / tilted, seen by a y-down camera."""
    return np.diag([1.0, -1.0, -1.0]) @ rotmats(np.stack((tilt[:, 0], yaw, tilt[:, 1]), axis=1))


def random_scene(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Independent frames of one person: rotations (n, 24, 3, 3), betas (n, 10), cam_t (n, 3)."""
    root = facing_camera(np.deg2rad(rng.uniform(-60, 60, n)), np.deg2rad(rng.uniform(-10, 10, (n, 2))))
    pose = np.concatenate((root[:, None], rotmats(random_body_pose(rng, n))), axis=1)
    betas = np.repeat(rng.normal(0.0, 0.7, (1, 10)), n, axis=0)
    cam_t = np.stack((rng.uniform(-0.5, 0.5, n), rng.uniform(-0.3, 0.3, n), rng.uniform(3.0, 5.0, n)), axis=1)
    return pose, betas, cam_t


def moving_scene(rng: np.random.Generator, n: int, fps: float = 30.0):
    """A smooth 1-2 s motion: every joint angle oscillates about a plausible pose; the person turns and walks."""
    t = np.arange(n) / fps
    base, amplitude = random_body_pose(rng, 1)[0], 0.25 * (random_body_pose(rng, 1)[0] - random_body_pose(rng, 1)[0])
    waves = np.sin(2 * np.pi * rng.uniform(0.3, 1.0, (23, 3)) * t[:, None, None] + rng.uniform(0, 6.3, (23, 3)))
    pose = np.clip(base + amplitude * waves, priors.JOINT_LOWER_LIMITS.numpy(), priors.JOINT_UPPER_LIMITS.numpy())
    root = facing_camera(np.deg2rad(20) * np.sin(2 * np.pi * 0.2 * t), np.zeros((n, 2)))
    cam_t = np.stack((0.3 * np.sin(2 * np.pi * 0.1 * t), 0.1 + 0 * t, 4.0 + 0.3 * t), axis=1)
    return np.concatenate((root[:, None], rotmats(pose)), axis=1), np.repeat(rng.normal(0, 0.7, (1, 10)), n, 0), cam_t


def observe(body: SMPLBody, pose: np.ndarray, betas: np.ndarray, cam_t: np.ndarray, rng: np.random.Generator,
            pixel_noise: float = 1.0, world_noise: float = 0.01, hidden: float = 0.1):
    """-> image landmarks, visibility, world landmarks (detector conventions) and true camera-frame joints."""
    rest = joint_shape_model(body).rest_joints(torch.tensor(betas, dtype=torch.float32))
    joints, global_rot = forward_kinematics(torch.tensor(pose, dtype=torch.float32), rest)
    translation = torch.tensor(cam_t, dtype=torch.float32)[:, None]
    points = LandmarkModel().posed_landmarks(rest, joints, global_rot) + translation
    pixels = project(points, FOCAL, torch.tensor(IMAGE_SIZE, dtype=torch.float32) / 2)
    relative = points - points[:, list(HIP_LANDMARKS)].mean(dim=1, keepdim=True)
    world = relative @ view_ray_rotation(pixels[:, list(HIP_LANDMARKS)].mean(dim=1), IMAGE_SIZE, FOCAL)
    n = len(pose)
    visibility = rng.uniform(0.7, 1.0, (n, 33))
    gone = rng.random((n, 33)) < hidden
    visibility[gone] = rng.uniform(0.0, 0.05, gone.sum())
    pixels = pixels.numpy() + rng.normal(0, pixel_noise, (n, 33, 2)) + gone[..., None] * rng.normal(0, 40, (n, 33, 2))
    world = world.numpy() + rng.normal(0, world_noise, (n, 33, 3)) + gone[..., None] * rng.normal(0, 0.15, (n, 33, 3))
    return pixels, visibility, world, (joints + translation).numpy()


def joint_error_mm(joints: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return 1000 * np.linalg.norm(joints - truth, axis=-1).mean(axis=-1)


def jitter_mm(joints: np.ndarray) -> float:
    """Mean joint acceleration, mm per frame^2."""
    return float(1000 * np.linalg.norm(joints[2:] - 2 * joints[1:-1] + joints[:-2], axis=-1).mean())


def test_landmark_layout_is_mediapipes():
    assert len(BLAZEPOSE_LANDMARK_NAMES) == 33
    for index, name in ((0, "nose"), (2, "left_eye"), (8, "right_ear"), (11, "left_shoulder"), (16, "right_wrist"),
                        (21, "left_thumb"), (23, "left_hip"), (28, "right_ankle"), (32, "right_foot_index")):
        assert BLAZEPOSE_LANDMARK_NAMES[index] == name


def test_kinematics_match_the_body_and_landmarks_mirror(body):
    rng = np.random.default_rng(0)
    pose, betas, _ = random_scene(rng, 5)
    pose_t, betas_t = torch.tensor(pose, dtype=torch.float32), torch.tensor(betas + rng.normal(0, 1, betas.shape))
    rest = joint_shape_model(body).rest_joints(betas_t.float())
    joints, global_rot = forward_kinematics(pose_t, rest)
    np.testing.assert_allclose(joints.numpy(), body(pose_t, betas_t.float()).joints.numpy(), atol=1e-5)
    landmarks = LandmarkModel().posed_landmarks(rest, joints, global_rot)
    names = BLAZEPOSE_LANDMARK_NAMES
    for name in ("left_shoulder", "right_elbow", "left_wrist", "left_knee", "right_ankle"):
        np.testing.assert_allclose(landmarks[:, names.index(name)], joints[:, body_joint(name)], atol=1e-6)
    # The detector's hips sit above SMPL's hip joints and turn with the pelvis, not with the thigh.
    for name in ("left_hip", "right_hip"):
        offset = landmarks[:, names.index(name)] - joints[:, body_joint(name)]
        pelvis_up = global_rot[:, 0, :, 1]
        assert ((offset * pelvis_up).sum(dim=-1) > 0.03).all()
    model = LandmarkModel()
    at_rest = model.rest_landmarks(joint_shape_model(body).template[None])[0].numpy()
    for left, name in enumerate(names):
        if name.startswith("left") or name == "mouth_left":
            right = names.index(name.replace("left", "right"))
            assert at_rest[left][0] > at_rest[right][0]  # the body's left is +x at rest
            np.testing.assert_array_equal(model.offsets[left] * torch.tensor([-1.0, 1.0, 1.0]), model.offsets[right])


def body_joint(name: str) -> int:
    from contract.skeleton import JOINT_NAMES
    return JOINT_NAMES.index(name)


def test_priors_stop_backward_knees_and_elbows():
    pose = torch.zeros(2, 23, 3)
    pose[0, body_joint("left_knee") - 1, 0] = 1.2  # a normal bend
    pose[0, body_joint("left_elbow") - 1, 1] = -1.5
    pose[1, body_joint("left_knee") - 1, 0] = -0.5  # bent backwards
    pose[1, body_joint("right_elbow") - 1, 1] = -0.5
    penalty = priors.joint_limit_residuals(pose).square().sum(dim=1)
    assert penalty[0] == 0 and penalty[1] > 0.4


def test_recovers_known_poses(body):
    rng = np.random.default_rng(1)
    n = 24
    pose, betas, cam_t = random_scene(rng, n)
    pixels, visibility, world, truth = observe(body, pose, betas, cam_t, rng)
    start = time.perf_counter()
    result = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL)  # one person, unrelated frames
    seconds = time.perf_counter() - start
    error = joint_error_mm(result.joints3d, truth)
    print(f"\n{n} frames: mean joint error {error.mean():.1f} mm (worst frame {error.max():.1f}), "
          f"reprojection {result.reprojection_after_px.mean():.2f} px, {result.iterations} steps, "
          f"{1000 * seconds / n:.1f} ms per frame")
    assert all(np.isfinite(getattr(result, key)).all() for key in ("pose_rotmat", "betas", "cam_t", "joints3d"))
    assert error.mean() < 20.0 and np.median(error) < 20.0
    assert result.reprojection_after_px.mean() < 2.0
    assert result.iterations <= FitSettings().orient_iterations + FitSettings().iterations
    np.testing.assert_allclose(result.joints2d, project(torch.tensor(result.joints3d), FOCAL,
                                                        torch.tensor(IMAGE_SIZE) / 2).numpy(), atol=1e-3)
    rotations = torch.tensor(result.pose_rotmat, dtype=torch.float64)
    np.testing.assert_allclose((rotations @ rotations.transpose(-1, -2)).numpy(), np.eye(3)[None, None].repeat(n, 0)
                               .repeat(24, 1), atol=1e-5)


def raised_arms_pose(yaw: float) -> np.ndarray:
    """(3, 24, 3, 3): the left arm straight up past the vertical; both arms overhead with the shoulders
    shrugged (collar bones raised, as people raise them with their arms); the right arm up and forward,
    elbow bent, with a shrug. All beyond the joint ranges of a fit that held arms at or below the vertical."""
    poses = ({"left_shoulder": (0.0, 0.0, 1.9), "right_shoulder": (0.0, 0.0, 1.2)},
             {"left_collar": (0.0, 0.0, 0.8), "left_shoulder": (0.0, 0.0, 1.2),
              "right_collar": (0.0, 0.0, -0.8), "right_shoulder": (0.0, 0.0, -1.2)},
             {"right_collar": (0.0, 0.0, -0.7), "right_shoulder": (0.0, 0.9, -1.4), "right_elbow": (0.0, 0.8, 0.0),
              "left_shoulder": (0.0, 0.0, -1.2)})
    body_pose = np.zeros((len(poses), 23, 3))
    for row, angles in enumerate(poses):
        for name, value in angles.items():
            body_pose[row, body_joint(name) - 1] = value
    root = facing_camera(np.full(len(poses), yaw), np.zeros((len(poses), 2)))
    return np.concatenate((root[:, None], rotmats(body_pose)), axis=1)


@pytest.mark.parametrize("yaw", [0.0, 0.8])
def test_raised_arms_land_on_their_landmarks(body, yaw):
    """A raised arm must not be held down: shoulders, elbows and wrists land on their landmarks in the image."""
    rng = np.random.default_rng(7)
    pose = raised_arms_pose(yaw)
    n = len(pose)
    betas, cam_t = np.zeros((n, 10)), np.tile([0.0, 0.2, 3.0], (n, 1))
    pixels, visibility, world, truth = observe(body, pose, betas, cam_t, rng, pixel_noise=0.5, world_noise=0.01,
                                               hidden=0.0)
    result = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL, track_ids=np.arange(n))
    names = [f"{side}_{joint}" for side in ("left", "right") for joint in ("shoulder", "elbow", "wrist")]
    miss = np.linalg.norm(result.joints2d[:, [body_joint(name) for name in names]]
                          - pixels[:, [BLAZEPOSE_LANDMARK_NAMES.index(name) for name in names]], axis=-1)
    assert miss.max() < 4.0
    assert joint_error_mm(result.joints3d, truth).max() < 20.0


def test_one_shape_per_person(body):
    rng = np.random.default_rng(2)
    pose, betas, cam_t = random_scene(rng, 6)
    pixels, visibility, world, _ = observe(body, pose, betas, cam_t, rng)
    result = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL, track_ids=[7, 7, 7, 3, 3, 3])
    assert np.array_equal(result.betas[0], result.betas[2]) and np.array_equal(result.betas[3], result.betas[5])
    assert not np.array_equal(result.betas[0], result.betas[3])


def test_video_fit_is_smoother_than_per_frame(body):
    rng = np.random.default_rng(3)
    pose, betas, cam_t = moving_scene(rng, 40)
    pixels, visibility, world, truth = observe(body, pose, betas, cam_t, rng, pixel_noise=2.0, world_noise=0.02)
    per_frame = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL, temporal_weight=0.0)
    video = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL, temporal_weight=1.0)
    print(f"\njitter {jitter_mm(per_frame.joints3d):.1f} -> {jitter_mm(video.joints3d):.1f} mm/frame^2 "
          f"(truth {jitter_mm(truth):.1f}), error {joint_error_mm(per_frame.joints3d, truth).mean():.1f} -> "
          f"{joint_error_mm(video.joints3d, truth).mean():.1f} mm")
    assert jitter_mm(video.joints3d) < 0.5 * jitter_mm(per_frame.joints3d)
    assert joint_error_mm(video.joints3d, truth).mean() < joint_error_mm(per_frame.joints3d, truth).mean()


def test_strided_video_fit_keeps_its_ends_on_the_landmarks(body):
    """Every other frame (--stride 2) links each pair of rows by half: the track's ends, with one half link
    each, once smoothed towards half their neighbour's translation and dragged the whole track off."""
    rng = np.random.default_rng(4)
    pose, betas, cam_t = moving_scene(rng, 24, fps=15.0)
    pixels, visibility, world, truth = observe(body, pose, betas, cam_t, rng, pixel_noise=2.0, world_noise=0.02)
    frames = 2 * np.arange(len(pose))
    per_frame = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL, frames=frames)
    video = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL, temporal_weight=1.0, frames=frames)
    print(f"\nerror {joint_error_mm(per_frame.joints3d, truth).mean():.1f} -> "
          f"{joint_error_mm(video.joints3d, truth).mean():.1f} mm, ends "
          f"{joint_error_mm(video.joints3d, truth)[[0, -1]]}")
    assert joint_error_mm(video.joints3d, truth).mean() < joint_error_mm(per_frame.joints3d, truth).mean()
    assert joint_error_mm(video.joints3d, truth)[[0, -1]].max() < 100


def test_smoothing_links_only_nearby_frames_of_one_person():
    from inference.fitting.fit import _links
    links = _links(np.array([4, 4, 4, 4, 9, 9]), np.array([0, 1, 3, 10, 11, 12]))
    np.testing.assert_allclose(links.numpy(), [1.0, 0.5, 0.0, 0.0, 1.0])


def test_refines_a_perturbed_init(body):
    """PARE refinement: start from a pose, shape and camera that are off, and get the reprojection down."""
    rng = np.random.default_rng(4)
    n = 12
    pose, betas, cam_t = random_scene(rng, n)
    pixels, visibility, world, truth = observe(body, pose, betas, cam_t, rng)
    init = {"pose_rotmat": pose @ rotmats(rng.normal(0, 0.12, (n, 24, 3))),  # every joint ~12 degrees off
            "betas": betas + rng.normal(0, 0.5, betas.shape),
            "cam_t": cam_t * np.array([1.0, 1.0, 1.1]) + rng.normal(0, 0.05, cam_t.shape)}  # 10% too far
    result = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL, init=init, track_ids=np.arange(n))
    print(f"\nreprojection {result.reprojection_before_px.mean():.1f} -> {result.reprojection_after_px.mean():.2f} px, "
          f"joint error {joint_error_mm(result.joints3d, truth).mean():.1f} mm")
    assert (result.reprojection_after_px < 0.2 * result.reprojection_before_px).all()
    assert joint_error_mm(result.joints3d, truth).mean() < 25.0


def test_bad_input_never_gives_nans(body):
    rng = np.random.default_rng(5)
    pose, betas, cam_t = random_scene(rng, 4)
    pixels, visibility, world, _ = observe(body, pose, betas, cam_t, rng)
    pixels[0, :5] = np.nan  # broken landmarks
    world[1, 3] = np.inf
    visibility[2] = 0.0  # nobody seen
    pixels[3] = pixels[3, :1]  # every landmark on one pixel
    init = {"pose_rotmat": np.full((4, 24, 3, 3), np.nan)}
    for kwargs in ({}, {"init": init}, {"temporal_weight": 1.0}):
        result = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL, **kwargs)
        for key in ("pose_rotmat", "betas", "cam_t", "joints3d", "joints2d", "reprojection_before_px",
                    "reprojection_after_px"):
            assert np.isfinite(getattr(result, key)).all(), key
        assert (result.cam_t[:, 2] > 0).all()
    empty = fit_landmarks(body, np.zeros((0, 33, 2)), np.zeros((0, 33)), np.zeros((0, 33, 3)), IMAGE_SIZE, FOCAL)
    assert empty.pose_rotmat.shape == (0, 24, 3, 3)
    with pytest.raises(ValueError, match="world_landmarks"):
        fit_landmarks(body, pixels, visibility, world[:, :17], IMAGE_SIZE, FOCAL)


def test_a_hip_left_unseen_still_places_the_body(body):
    """Landmarks that lay on another person are left unseen (NaN), a hip among them at times
    (`captured_landmarks`): the detector's 3D is then turned along the ray through the hip that is left, not
    through a point halfway to the picture's corner."""
    rng = np.random.default_rng(11)
    n = 8
    pose, betas, cam_t = random_scene(rng, n)
    cam_t[:, :2] = [1.2, -0.8]  # off the picture's centre, where the view ray's turn matters
    pixels, visibility, world, truth = observe(body, pose, betas, cam_t, rng, hidden=0.0)
    left_hip = HIP_LANDMARKS[0]
    pixels[:, list(range(11)) + [left_hip]] = np.nan  # the face and one hip taken
    visibility[:, list(range(11)) + [left_hip]] = 0.0
    result = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL)
    error = joint_error_mm(result.joints3d, truth)
    print(f"\nface and a hip unseen: mean joint error {error.mean():.1f} mm")
    assert error.mean() < 25.0


def test_jacobian_matches_central_differences(body):
    """At a zero-residual point the analytic Jacobian must equal central differences (float64)."""
    from inference.fitting.fit import _observations, _weights
    from inference.fitting.kinematics import JointShapeModel
    from inference.fitting.problem import FRAME_SIZE, FitProblem, State
    rng = np.random.default_rng(6)
    pose, betas, cam_t = random_scene(rng, 3)
    pixels, visibility, world, _ = observe(body, pose, betas, cam_t, rng, pixel_noise=0, world_noise=0, hidden=0)
    visibility[:, 25:] = 0.1  # doubted landmarks: the 2D and 3D terms weigh them differently
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        shape = joint_shape_model(body)
        landmark_model = LandmarkModel()
        landmark_model.blend, landmark_model.offsets = landmark_model.blend.double(), landmark_model.offsets.double()
        obs = _observations(pixels, visibility, world, IMAGE_SIZE, FOCAL, landmark_model.weights,
                            FitSettings().unseen_3d_visibility)
        obs = type(obs)(obs.pixels.double(), obs.world.double(), obs.weights.double(), obs.weights_3d.double(),
                        obs.visibility.double(), obs.focal_px, obs.centre.double())
        problem = FitProblem(JointShapeModel(shape.template.double(), shape.directions.double()), landmark_model, obs,
                             _weights(FitSettings(), temporal_weight=1.0))
        truth = State.from_translation(torch.tensor(pose, dtype=torch.float64), torch.tensor(cam_t))
        rows, betas_rows = torch.arange(3), torch.tensor(betas)
        analytic = problem.evaluate(truth, betas_rows, rows, jacobian=True)
        step = 1e-6
        for k in range(FRAME_SIZE):
            offset = torch.zeros(3, FRAME_SIZE)
            offset[:, k] = step
            ahead = problem.evaluate(truth.moved(offset), betas_rows, rows, jacobian=False).residuals
            behind = problem.evaluate(truth.moved(-offset), betas_rows, rows, jacobian=False).residuals
            np.testing.assert_allclose(analytic.frame_jacobian[..., k], (ahead - behind) / (2 * step), atol=1e-6)
        for k in range(10):
            offset = torch.zeros(10)
            offset[k] = step
            ahead = problem.evaluate(truth, betas_rows + offset, rows, jacobian=False).residuals
            behind = problem.evaluate(truth, betas_rows - offset, rows, jacobian=False).residuals
            np.testing.assert_allclose(analytic.betas_jacobian[..., k], (ahead - behind) / (2 * step), atol=1e-6)
    finally:
        torch.set_default_dtype(default)


def test_package_import_is_torch_free():
    code = "import sys, inference.fitting; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


LEG_LANDMARKS = [i for i, name in enumerate(BLAZEPOSE_LANDMARK_NAMES)
                 if any(part in name for part in ("knee", "ankle", "heel", "foot_index"))]


def test_legs_the_picture_cuts_off_follow_the_detectors_3d_guess(body):
    """Legs below the frame edge: the detector doubts them (visibility ~0) and its pixels are guesses, but its 3D
    landmarks still know the legs bend; the fit follows them rather than holding the legs straight."""
    rng = np.random.default_rng(3)
    n = 12
    pose, betas, cam_t = random_scene(rng, n)
    for side in ("left", "right"):  # knees bent as when walking, sitting or kicking
        pose[:, body_joint(f"{side}_knee")] = rotmats(np.stack([rng.uniform(0.6, 1.4, n), np.zeros(n), np.zeros(n)], 1))
    pixels, visibility, world, truth = observe(body, pose, betas, cam_t, rng, hidden=0.0, world_noise=0.02)
    visibility[:, LEG_LANDMARKS] = rng.uniform(0.0, 0.03, (n, len(LEG_LANDMARKS)))
    pixels[:, LEG_LANDMARKS] += rng.normal(0, 40, (n, len(LEG_LANDMARKS), 2))
    legs = [body_joint(f"{side}_{joint}") for side in ("left", "right") for joint in ("knee", "ankle")]

    def leg_error_mm(settings: FitSettings) -> float:
        joints = fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL, settings=settings).joints3d
        relative = joints[:, legs] - joints[:, :1]
        return float(1000 * np.linalg.norm(relative - (truth[:, legs] - truth[:, :1]), axis=-1).mean())

    guessed, prior_only = leg_error_mm(FitSettings()), leg_error_mm(FitSettings(unseen_3d_visibility=0.0))
    print(f"\nunseen legs, joint error from the pelvis: {guessed:.0f} mm (prior alone: {prior_only:.0f} mm)")
    assert guessed < 0.7 * prior_only
