"""Issue 10's checks measured in a built scene: the people's joints as Blender evaluates them, in its world.

`python bench/grounded_blend.py SHOT.blend` prints, per person, the floor height of their lowest foot joints,
trunk tilt, foot skate while on the ground and the share of foot-frames on the ground (the issue's own
measures, inference/grounding/metrics.py), and whether the scene camera moves. The test of the whole grounded
path (tests/test_grounded_scene.py) reads scenes through the same functions.
"""
from __future__ import annotations

import sys
from pathlib import Path

import bpy
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from contract.skeleton import JOINT_NAMES  # noqa: E402
from inference.grounding import metrics  # noqa: E402
from inference.grounding.rotations import rotation_angle_deg  # noqa: E402

FOOT_POINT_JOINTS = (7, 10, 8, 11)  # left heel (ankle), left toe, right heel, right toe: as the result stores them
OPENCV_FROM_BLENDER_CAMERA = np.diag([1.0, -1.0, -1.0])  # a Blender camera looks down -z with +y up


def person_rigs(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    """The people's armatures ("person_<i>"), in order."""
    rigs = [obj for obj in scene.objects if obj.type == "ARMATURE" and obj.name.startswith("person_")]
    return sorted(rigs, key=lambda obj: int(obj.name.split("_")[1].split(".")[0]))


def rig_joints(scene: bpy.types.Scene, rig: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    """(scene frames where the person is shown (n,), their 24 joints in world coordinates (n, 24, 3))."""
    frames, joints = [], []
    for frame in range(scene.frame_start, scene.frame_end + 1):
        scene.frame_set(frame)
        posed = rig.evaluated_get(bpy.context.evaluated_depsgraph_get())
        if posed.hide_viewport:
            continue
        world = np.array(posed.matrix_world)
        heads = np.array([posed.pose.bones[name].head for name in JOINT_NAMES])
        frames.append(frame)
        joints.append(heads @ world[:3, :3].T + world[:3, 3])
    return np.array(frames), np.array(joints)


def camera_matrices(scene: bpy.types.Scene, frames: np.ndarray) -> np.ndarray:
    """(F, 4, 4) the scene camera's matrix_world at scene `frames`."""
    poses = []
    for frame in frames:
        scene.frame_set(int(frame))
        poses.append(np.array(scene.camera.evaluated_get(bpy.context.evaluated_depsgraph_get()).matrix_world))
    return np.array(poses)


def camera_rotations(scene: bpy.types.Scene, frames: np.ndarray) -> np.ndarray:
    """(F, 3, 3) the scene camera's camera-to-world rotation at scene `frames`, in OpenCV camera axes."""
    return camera_matrices(scene, frames)[:, :3, :3] @ OPENCV_FROM_BLENDER_CAMERA


def use_action(rig: bpy.types.Object, action: bpy.types.Action) -> None:
    """Show `action` on the rig (e.g. its "... motion (unlocked)" action), on Blender's slotted actions too."""
    rig.animation_data.action = action
    if hasattr(action, "slots"):
        rig.animation_data.action_slot = action.slots[0]


def camera_turn_error_deg(cameras: np.ndarray, world_from_camera: np.ndarray) -> float:
    """Camera-to-world rotations (n, 3, 3) found and true -> the largest error (degrees) of the camera's turn
    since the first frame (the world's heading is free, so turns are compared, not absolute poses)."""
    found = np.swapaxes(cameras[0], -1, -2) @ cameras
    truth = np.swapaxes(world_from_camera[0], -1, -2) @ world_from_camera
    return float(rotation_angle_deg(np.swapaxes(found, -1, -2) @ truth).max())


def camera_tilt_error_deg(cameras: np.ndarray, world_from_camera: np.ndarray) -> float:
    """The largest angle (degrees) between the world's up direction as each camera sees it, found and true:
    the camera's pitch and roll against the floor."""
    found, truth = cameras[:, 2, :], np.asarray(world_from_camera)[:, 2, :]  # row 2: world Z in camera axes
    return float(np.degrees(np.arccos(np.clip(np.sum(found * truth, axis=-1), -1.0, 1.0))).max())


def grounding_figures(joints: np.ndarray) -> dict[str, float]:
    """(n, 24, 3) one person's world joints -> the issue's figures: floor level of the lowest foot joint (m),
    mean trunk tilt (degrees), median foot skate on the ground (mm / frame), share of foot-frames on it."""
    feet = joints[:, FOOT_POINT_JOINTS]
    return {"floor_level_m": metrics.person_floor_level(feet), "trunk_tilt_deg": metrics.trunk_tilt_deg(joints),
            "skate_mm": metrics.foot_skate_mm(feet), "contact_share": metrics.ground_contact_share(feet)}


def blend_figures(blend: Path, clip) -> list[dict[str, str]]:
    """A built synthetic shot (`bench_grounding`) and its clip (synthetic.WalkingClip, the truth) -> per motion
    of its one person (the shown one, and the unlocked one when kept) the figures, formatted."""
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    rig = person_rigs(scene)[0]
    shown = rig.animation_data.action
    unlocked = bpy.data.actions.get(f"{rig.name} motion (unlocked)")
    rows = []
    for name, action in (("locked" if unlocked else "as estimated", shown), ("unlocked", unlocked)):
        if action is None:
            continue
        use_action(rig, action)
        frames, joints = rig_joints(scene, rig)
        cameras = camera_rotations(scene, frames)
        figures = grounding_figures(joints)
        penetration, floating = metrics.penetration_and_float_mm(joints[:, FOOT_POINT_JOINTS])
        rows.append({"motion": name, "level": f"{1000 * figures['floor_level_m']:.1f}",
                     "tilt": f"{figures['trunk_tilt_deg']:.1f}", "skate": f"{figures['skate_mm']:.1f}",
                     "contact": f"{figures['contact_share']:.2f}", "float": f"{penetration:.1f} / {floating:.1f}",
                     "trajectory": f"{100 * metrics.trajectory_error_m(joints[:, 0], clip.joints_world[:, 0]):.1f}",
                     "camera": f"{camera_turn_error_deg(cameras, clip.world_from_camera):.2f}"})
    use_action(rig, shown)
    return rows


def main(path: str) -> None:
    bpy.ops.wm.open_mainfile(filepath=path)
    scene = bpy.context.scene
    for rig in person_rigs(scene):
        frames, joints = rig_joints(scene, rig)
        figures = grounding_figures(joints)
        print(rig.name, f"{len(frames)} frames", ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    poses = camera_matrices(scene, np.arange(scene.frame_start, scene.frame_end + 1))
    turn = np.degrees(np.arccos(np.clip((np.trace(poses[0, :3, :3].T @ poses[-1, :3, :3]) - 1) / 2, -1, 1)))
    print(f"camera: turned {turn:.2f} degrees from the first frame to the last, "
          f"moved {np.linalg.norm(poses[-1, :3, 3] - poses[0, :3, 3]):.3f} m, "
          f"static: {bool(np.all(poses == poses[0]))}")


if __name__ == "__main__":
    main(sys.argv[-1])
