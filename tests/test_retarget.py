"""Retarget a person's motion onto independently built rigs, then export and re-import it.

Target rigs, built here and saved to a TARGETS.blend: a Mixamo-named rig in an A-pose as an FBX import leaves it
(object turned 90 degrees about x, scale 0.01, centimetre bones), with random bone rolls and un-SMPL
proportions; a UE5-named rig in a T-pose facing away from the source, moved and turned; and a Rigify rig
generated from Blender's own human metarig. A synthetic one-person stand-in result is built into a scene, each
rig is retargeted through the headless entry, the source armature is deleted, and per frame the world
directions of upper arms, forearms, thighs, shins and the trunk must match the source's; the hips must follow
the source's path scaled by leg length. FBX and BVH exports, re-imported into an empty scene, must give back the
target's joint positions within 5 mm after one similarity alignment over all frames.
"""
import json
import math

import addon_harness  # noqa: F401  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import addon_utils
import bpy
import numpy as np
import pytest

from pare_body_estimator.contract.errors import UserError
from pare_body_estimator.contract.skeleton import JOINT_NAMES
from pare_body_estimator.addon.retarget import job
from pare_body_estimator.addon.retarget.bake import BakeOptions, bake_retarget
from pare_body_estimator.addon.retarget.bone_maps import PRESETS
from pare_body_estimator.addon.scene_build import BuildOptions, import_result_file

FRAMES = 16
SEGMENTS = {  # what is compared: a segment from one joint to another, on the source and on each target
    "left upper arm": ("left_shoulder", "left_elbow"), "right upper arm": ("right_shoulder", "right_elbow"),
    "left forearm": ("left_elbow", "left_wrist"), "right forearm": ("right_elbow", "right_wrist"),
    "left thigh": ("left_hip", "left_knee"), "right thigh": ("right_hip", "right_knee"),
    "left shin": ("left_knee", "left_ankle"), "right shin": ("right_knee", "right_ankle"),
    "trunk": ("hips", "neck"),  # hips: the midpoint of the thighs' heads
}
MIXAMO = {"pelvis": "Hips", "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot",
          "left_shoulder": "LeftArm", "left_elbow": "LeftForeArm", "left_wrist": "LeftHand", "neck": "Neck"}
UE5 = {"pelvis": "pelvis", "left_hip": "thigh_l", "left_knee": "calf_l", "left_ankle": "foot_l",
       "left_shoulder": "upperarm_l", "left_elbow": "lowerarm_l", "left_wrist": "hand_l", "neck": "neck_01"}
RIGIFY = {"pelvis": "ORG-spine", "left_hip": "ORG-thigh.L", "left_knee": "ORG-shin.L", "left_ankle": "ORG-foot.L",
          "left_shoulder": "ORG-upper_arm.L", "left_elbow": "ORG-forearm.L", "left_wrist": "ORG-hand.L",
          "neck": "ORG-spine.004"}  # measured on Rigify's ORG bones, which the deform bones follow


def sided(names: dict[str, str], right) -> dict[str, str]:
    """Add the right side to a left-side measuring map; `right` turns a left bone name into the right one."""
    return {**names, **{joint.replace("left", "right"): right(bone) for joint, bone in names.items()
                        if joint.startswith("left")}}


MEASURED = {"Mixamo": sided({j: f"mixamorig:{b}" for j, b in MIXAMO.items()}, lambda b: b.replace("Left", "Right")),
            "UE5": sided(UE5, lambda b: b[:-2] + "_r"), "rig": sided(RIGIFY, lambda b: b[:-2] + ".R")}


# --- the target rigs ------------------------------------------------------------------------------------------

def add_armature(name, bones, matrix_world, rng):
    """An armature object from (bone, parent, head, tail) rows, each bone with a random roll."""
    armature = bpy.data.objects.new(name, bpy.data.armatures.new(name))
    bpy.context.scene.collection.objects.link(armature)
    bpy.context.view_layer.objects.active = armature
    bpy.ops.object.mode_set(mode="EDIT")
    edit_bones = armature.data.edit_bones
    for bone_name, parent, head, tail in bones:
        bone = edit_bones.new(bone_name)
        bone.head, bone.tail, bone.roll = head, tail, rng.uniform(-math.pi, math.pi)
        if parent:
            bone.parent = edit_bones[parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    armature.matrix_world = matrix_world
    return armature


def chain(names, heads, parent, last_tail):
    """Rows for a chain of bones, each pointing at the next one's head, the first parented to `parent`."""
    tails = list(heads[1:]) + [last_tail]
    parents = [parent] + list(names[:-1])
    return [(n, p, tuple(h), tuple(t)) for n, p, h, t in zip(names, parents, heads, tails)]


def mixamo_rig(rng):
    """A-pose, centimetres, y up and facing +z in the armature, as an FBX import leaves Mixamo's characters."""
    rows = chain(["Hips", "Spine", "Spine1", "Spine2", "Neck", "Head", "HeadTop_End"],
                 [(0, 100, 0), (0, 110, -1), (0, 122, -1), (0, 135, -1), (0, 152, 0), (0, 162, 1), (0, 182, 1)],
                 None, (0, 190, 1))
    down = np.array([math.cos(math.radians(40)), -math.sin(math.radians(40)), 0.0])
    for side, sign in (("Left", 1), ("Right", -1)):
        mirror = np.array([sign, 1, 1])
        arm = np.array([17, 146, -1]) * mirror
        rows += chain([f"{side}{n}" for n in ("Shoulder", "Arm", "ForeArm", "Hand")],
                      [np.array([4, 146, -1]) * mirror, arm, arm + 30 * down * mirror, arm + 57 * down * mirror],
                      "Spine2", arm + 66 * down * mirror)
        rows += chain([f"{side}{n}" for n in ("UpLeg", "Leg", "Foot", "ToeBase", "Toe_End")],
                      [np.array(p) * mirror for p in ((10, 95, 0), (11, 52, 1), (11, 9, -3), (11, 1, 10), (11, 1, 18))],
                      "Hips", np.array([11, 1, 24]) * mirror)
    rows = [(f"mixamorig:{n}", p and f"mixamorig:{p}", h, t) for n, p, h, t in rows]
    fbx_import = np.diag([0.01, 0.01, 0.01, 1.0])
    fbx_import[:3, :3] = 0.01 * np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])  # 90 degrees about x
    return add_armature("Mixamo", rows, fbx_import.tolist(), rng)


def ue5_rig(rng):
    """T-pose, metres, z up, facing +y (away from the source), moved and turned about z by 20 degrees."""
    rows = [("root", None, (0, 0, 0), (0, 0.2, 0))]
    rows += chain(["pelvis", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05", "neck_01", "neck_02",
                   "head"], [(0, 0, z) for z in (0.98, 1.05, 1.12, 1.2, 1.28, 1.38, 1.5, 1.55, 1.6)], "root",
                  (0, 0, 1.8))
    for side, sign in (("l", -1), ("r", 1)):
        rows += chain([f"{n}_{side}" for n in ("clavicle", "upperarm", "lowerarm", "hand")],
                      [(sign * x, 0, 1.42) for x in (0.03, 0.17, 0.45, 0.71)], "spine_05", (sign * 0.8, 0, 1.42))
        rows += chain([f"{n}_{side}" for n in ("thigh", "calf", "foot", "ball")],
                      [(sign * 0.1, y, z) for y, z in ((0, 0.93), (0.01, 0.5), (-0.02, 0.08), (0.12, 0.01))],
                      "pelvis", (sign * 0.1, 0.18, 0.01))
    c, s = math.cos(math.radians(20)), math.sin(math.radians(20))
    return add_armature("UE5", rows, [[c, -s, 0, 1.5], [s, c, 0, -0.5], [0, 0, 1, 0], [0, 0, 0, 1]], rng)


def rigify_rig():
    """A rig generated by the rigify add-on that ships inside Blender, from its human metarig."""
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    bpy.ops.pose.rigify_generate()
    return bpy.context.object  # named "rig"


@pytest.fixture(scope="module")
def targets_blend(tmp_path_factory):
    path = tmp_path_factory.mktemp("targets") / "TARGETS.blend"
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rng = np.random.default_rng(3)
    mixamo_rig(rng)
    ue5_rig(rng)
    rigify_rig()
    bpy.context.scene.collection.objects.link(bpy.data.objects.new("Ground", bpy.data.meshes.new("Ground")))
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    return path


# --- the source ----------------------------------------------------------------------------------------------

def rotation_matrices(rotvecs):
    """(..., 3) axis-angle -> (..., 3, 3) (Rodrigues)."""
    angle = np.linalg.norm(rotvecs, axis=-1, keepdims=True)[..., None]
    axis = rotvecs / np.maximum(np.linalg.norm(rotvecs, axis=-1, keepdims=True), 1e-12)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    cross = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(*x.shape, 3, 3)
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def write_result(path, persons=1):
    """Stand-in people over FRAMES frames: a random, smoothly changing pose walking across the view (the
    second person, if any, the same a metre further away)."""
    rng = np.random.default_rng(11)
    t = np.linspace(0, 1, FRAMES)[:, None, None]
    rotvecs = rng.normal(0, 0.35, (1, 24, 3)) + 0.5 * np.sin(2 * np.pi * t + rng.uniform(0, 6, (1, 24, 3)))
    rotvecs[:, 0] = rng.normal(0, 0.2, 3) + 0.3 * np.sin(2 * np.pi * t[:, 0])
    rotmats = np.diag([1.0, -1.0, -1.0]) @ rotation_matrices(rotvecs)  # joint 0: upright, facing the camera
    rotmats[:, 1:] = rotation_matrices(rotvecs[:, 1:])
    cam_t = np.column_stack([np.linspace(-0.8, 0.8, FRAMES), 0.1 * np.sin(np.linspace(0, 6, FRAMES)),
                             np.linspace(6, 7, FRAMES)])
    meta = {"format": "pare-body-result", "version": 1, "image_width": 640, "image_height": 480, "fps": 25.0,
            "focal_length_px": 800.0, "frame_count": FRAMES, "source": "synthetic", "model": "blazepose-fit",
            "body_model": "stand-in", "persons": list(range(persons))}
    betas = np.tile(rng.normal(0, 1, 10), (FRAMES, 1)).astype(np.float32)
    arrays = {}
    for person in range(persons):
        arrays.update({f"person_{person}/frame": np.arange(FRAMES), f"person_{person}/betas": betas,
                       f"person_{person}/pose_rotmat": rotmats.astype(np.float32),
                       f"person_{person}/cam_t": (cam_t + [0, 0, person]).astype(np.float32)})
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def build_source_scene(folder, persons=1):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    write_result(folder / "result.npz", persons)
    report = import_result_file(bpy.context, folder / "result.npz", None, BuildOptions(pose_correctives=False),
                                name="PARE take")
    return report.collection


def joint_positions(armature, bones, frames):
    """(n, k, 3) world heads of `bones` over scene `frames`."""
    scene, out = bpy.context.scene, []
    for frame in frames:
        scene.frame_set(frame)
        world = np.array(armature.matrix_world)
        heads = np.array([armature.pose.bones[bone].head for bone in bones])
        out.append(heads @ world[:3, :3].T + world[:3, 3])
    return np.array(out)


def measured_points(armature, names, frames):
    """{joint (and "hips"): (n, 3) world positions} of the measured joints over `frames`."""
    joints = sorted(names)
    heads = joint_positions(armature, [names[j] for j in joints], frames)
    points = {joint: heads[:, index] for index, joint in enumerate(joints)}
    points["hips"] = (points["left_hip"] + points["right_hip"]) / 2
    return points


def segment_angles(source, target):
    """Angles (degrees) between the source's and the target's segments, every segment and frame."""
    angles = []
    for start, end in SEGMENTS.values():
        a, b = source[end] - source[start], target[end] - target[start]
        cosine = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        angles.append(np.degrees(np.arccos(np.clip(cosine, -1, 1))))
    return np.concatenate(angles)


def similarity_residual(a, b):
    """Largest distance between points a and b (k, 3) after the best similarity transform of b onto a."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    u, s, vt = np.linalg.svd((a - mean_a).T @ (b - mean_b))
    d = np.diag([1, 1, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / np.sum((b - mean_b) ** 2)
    return float(np.linalg.norm(a - (mean_a + scale * (b - mean_b) @ rotation.T), axis=1).max())


def reimported_joints(path, bones, frame_count):
    """Import `path` (.fbx or .bvh) into an empty scene -> (n, k, 3) world heads of `bones` over its frames."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if path.suffix == ".fbx":
        bpy.ops.import_scene.fbx(filepath=str(path))
    else:
        bpy.ops.import_anim.bvh(filepath=str(path), frame_start=1, update_scene_fps=True)
    armature = next(obj for obj in bpy.data.objects if obj.type == "ARMATURE")
    start = int(armature.animation_data.action.frame_range[0])
    return joint_positions(armature, bones, range(start, start + frame_count))


@pytest.fixture(scope="module", params=["Mixamo", "UE5", "rig"])
def retargeted(request, targets_blend, tmp_path_factory):
    """One target rig retargeted through the headless entry and exported, then the source deleted: the
    measured joints of both (the source's taken before), the files, the rig and its joints' world positions."""
    name = request.param
    folder = tmp_path_factory.mktemp(name)
    collection = build_source_scene(folder)
    scene = bpy.context.scene
    frames = range(scene.frame_start, scene.frame_end + 1)
    source = job.person_armatures(bpy.data.collections[collection])[0]
    source_points = measured_points(source, {joint: joint for joint in JOINT_NAMES}, frames)
    exports = [folder / f"{name}.fbx", folder / f"{name}.bvh"]
    written = job.retarget_and_export(bpy.context, collection, f"{targets_blend}:{name}", "auto", exports)
    bpy.data.objects.remove(source)
    target = bpy.data.objects[name]
    target_points = measured_points(target, MEASURED[name], frames)
    bones = list(MEASURED[name].values())
    return {"source": source_points, "target": target_points, "written": written, "object": target, "bones": bones,
            "joints": joint_positions(target, bones, frames)}


def leg_length(points):
    return np.mean([np.linalg.norm(points[f"{side}_knee"][0] - points[f"{side}_hip"][0])
                    + np.linalg.norm(points[f"{side}_ankle"][0] - points[f"{side}_knee"][0])
                    for side in ("left", "right")])


def test_limb_and_trunk_directions_follow_the_source(retargeted):
    angles = segment_angles(retargeted["source"], retargeted["target"])
    print(f"angles: median {np.median(angles):.2f}, 95th percentile {np.percentile(angles, 95):.2f}, "
          f"max {angles.max():.2f} degrees")
    assert np.median(angles) <= 3.0 and np.percentile(angles, 95) <= 8.0


def test_the_hips_follow_the_source_path_scaled_by_leg_length(retargeted):
    source, target = retargeted["source"], retargeted["target"]
    scale = leg_length(target) / leg_length(source)
    expected = scale * (source["hips"] - source["hips"][0])
    assert np.abs((target["hips"] - target["hips"][0]) - expected).max() <= 0.002
    assert np.linalg.norm(expected[-1]) > 0.5  # the person does walk across the view


def test_the_target_is_driven_by_its_own_keys_only(retargeted):
    target = retargeted["object"]
    fcurves = action_fcurves(target.animation_data.action, target)
    keyed = {fcurve.data_path.split('"')[1] for fcurve in fcurves}
    if target.name == "rig":  # Rigify: its FK controls, with the limbs switched to FK
        assert {"torso", "spine_fk.003", "upper_arm_fk.L", "forearm_fk.R", "thigh_fk.L", "shin_fk.R"} <= keyed
        switches = [f for f in fcurves if f.data_path.endswith('["IK_FK"]')]
        assert len(switches) == 4 and all(f.keyframe_points[0].co[1] == 1.0 for f in switches)
    else:
        assert set(retargeted["bones"]) <= keyed
    assert not target.animation_data.drivers or all(
        variable.targets[0].id in (None, target, target.data)
        for driver in target.animation_data.drivers for variable in driver.driver.variables)
    assert all(constraint.target in (None, target) for bone in target.pose.bones for constraint in bone.constraints
               if hasattr(constraint, "target"))


def action_fcurves(action, owner):
    """The F-curves of `owner`'s slot in `action` (Blender 4.4+ layers), or the legacy list."""
    if not hasattr(action, "layers"):
        return list(action.fcurves)
    channelbag = action.layers[0].strips[0].channelbag(owner.animation_data.action_slot)
    return list(channelbag.fcurves)


def test_fbx_and_bvh_reimports_reproduce_the_joints(retargeted):
    joints = retargeted["joints"]
    for path in retargeted["written"]:
        again = reimported_joints(path, retargeted["bones"], len(joints))
        residual = similarity_residual(joints.reshape(-1, 3), again.reshape(-1, 3))
        print(f"{path.name}: {residual * 1000:.2f} mm")
        assert residual <= 0.005, path.name


def scene_state():
    return sorted(obj.name for obj in bpy.data.objects), sorted(a.name for a in bpy.data.actions)


def test_bad_input_is_refused_before_anything_changes(targets_blend, tmp_path):
    collection = build_source_scene(tmp_path)
    before = scene_state()
    fbx = [tmp_path / "out.fbx"]
    for retarget, bone_map, exports, message in [
        (f"{tmp_path / 'none.blend'}:Mixamo", "auto", fbx, "not found"),
        (f"{targets_blend}:Nobody", "auto", fbx, "no object named 'Nobody'"),
        (f"{targets_blend}:Ground", "auto", fbx, "'Ground' in TARGETS.blend is a mesh, not an armature"),
        (f"{targets_blend}:Mixamo", "biped", fbx, "Unknown bone map 'biped'"),
        (f"{targets_blend}:Mixamo", "auto", [tmp_path / "out.obj"], "use a file ending in .fbx"),
        (f"{targets_blend}:UE5", "mixamo", fbx, r"left upper arm \(left_shoulder\)"),
        (f"{targets_blend}", "auto", fbx, "TARGET.blend:OBJECT"),
    ]:
        with pytest.raises(UserError, match=message):
            job.retarget_and_export(bpy.context, collection, retarget, bone_map, exports)
        assert scene_state() == before, message
    assert not list(tmp_path.glob("out.*"))


def test_each_of_two_people_gets_a_copy_and_a_file(targets_blend, tmp_path):
    collection = build_source_scene(tmp_path, persons=2)
    written = job.retarget_and_export(bpy.context, collection, f"{targets_blend}:UE5", "ue5", [tmp_path / "take.bvh"])
    assert [path.name for path in written] == ["take_person_0.bvh", "take_person_1.bvh"]
    assert all(path.stat().st_size > 1000 for path in written)
    copies = [bpy.data.objects[f"UE5 person_{index}"] for index in (0, 1)]
    assert copies[0].animation_data.action != copies[1].animation_data.action
    bpy.context.scene.frame_set(5)
    depth = [np.array(copy.matrix_world @ copy.pose.bones["pelvis"].head)[1] for copy in copies]
    assert depth[1] - depth[0] > 0.5  # the second person is a metre further from the camera, scaled


def test_thinned_keys_in_an_nla_strip_stay_within_the_tolerance(targets_blend, tmp_path):
    collection = build_source_scene(tmp_path)
    source = job.person_armatures(bpy.data.collections[collection])[0]
    scene = bpy.context.scene
    frames = range(scene.frame_start, scene.frame_end + 1)
    exact, thinned = (job.retarget_people(bpy.context, [source], targets_blend, "Mixamo", "mixamo", options)[0]
                      for options in (BakeOptions(), BakeOptions(thin_degrees=2.0, nla_strip=True)))
    animation = thinned.animation_data
    assert animation.action is None and len(animation.nla_tracks) == 1
    action = animation.nla_tracks[0].strips[0].action
    keys = [len(fcurve.keyframe_points) for fcurve in action_fcurves_of_strip(animation.nla_tracks[0].strips[0])]
    assert min(keys) < FRAMES and max(keys) <= FRAMES and action.name.startswith("Mixamo")
    names = MEASURED["Mixamo"]
    reference = measured_points(exact, names, frames)
    angles = segment_angles(reference, measured_points(thinned, names, frames))
    assert angles.max() <= 6.0  # within a few times 2 degrees, along a chain
    bone_map = {joint: f"mixamorig:{bone}" for joint, bone in PRESETS["mixamo"].items()}
    bake_retarget(bpy.context, source, thinned, bone_map, frames, BakeOptions(nla_strip=True))  # a second take
    assert len(animation.nla_tracks) == 2  # solved with the first take's strip muted; the upper strip plays
    assert segment_angles(reference, measured_points(thinned, names, frames)).max() <= 0.1


def action_fcurves_of_strip(strip):
    action = strip.action
    if not hasattr(action, "layers"):
        return list(action.fcurves)
    return list(action.layers[0].strips[0].channelbag(strip.action_slot).fcurves)
