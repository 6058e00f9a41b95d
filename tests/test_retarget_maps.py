"""Bone maps: presets on real rig names, the automatic guess, JSON round trips, and limbs that cannot be
mapped reported by name (no Blender needed)."""
import json

import pytest

from pare_body_estimator.contract.errors import UserError
from pare_body_estimator.addon.retarget.bone_maps import (
    PRESETS, REQUIRED, guess_bone_map, load_bone_map, resolve_bone_map, save_bone_map)

MIXAMO_BONES = {  # bone: parent, as in a Mixamo character's FBX (fingers and ends left out but for two)
    "mixamorig1:Hips": None, "mixamorig1:Spine": "mixamorig1:Hips", "mixamorig1:Spine1": "mixamorig1:Spine",
    "mixamorig1:Spine2": "mixamorig1:Spine1", "mixamorig1:Neck": "mixamorig1:Spine2",
    "mixamorig1:Head": "mixamorig1:Neck", "mixamorig1:HeadTop_End": "mixamorig1:Head",
    **{bone: parent for side in ("Left", "Right") for bone, parent in (
        (f"mixamorig1:{side}Shoulder", "mixamorig1:Spine2"), (f"mixamorig1:{side}Arm", f"mixamorig1:{side}Shoulder"),
        (f"mixamorig1:{side}ForeArm", f"mixamorig1:{side}Arm"), (f"mixamorig1:{side}Hand", f"mixamorig1:{side}ForeArm"),
        (f"mixamorig1:{side}HandIndex1", f"mixamorig1:{side}Hand"), (f"mixamorig1:{side}UpLeg", "mixamorig1:Hips"),
        (f"mixamorig1:{side}Leg", f"mixamorig1:{side}UpLeg"), (f"mixamorig1:{side}Foot", f"mixamorig1:{side}Leg"),
        (f"mixamorig1:{side}ToeBase", f"mixamorig1:{side}Foot"),
        (f"mixamorig1:{side}Toe_End", f"mixamorig1:{side}ToeBase"))},
}
# A hand-made rig no preset knows: names in another style, a four-bone spine, twist helpers.
CUSTOM_BONES = {
    "Root": None, "Pelvis": "Root", "Back.1": "Pelvis", "Back.2": "Back.1", "Back.3": "Back.2", "Back.4": "Back.3",
    "Neck": "Back.4", "Head": "Neck",
    **{bone: parent for side in ("L", "R") for bone, parent in (
        (f"Clavicle.{side}", "Back.4"), (f"UpperArm.{side}", f"Clavicle.{side}"),
        (f"UpperArm_Twist.{side}", f"UpperArm.{side}"), (f"LowerArm.{side}", f"UpperArm.{side}"),
        (f"Hand.{side}", f"LowerArm.{side}"), (f"Thigh.{side}", "Pelvis"), (f"Shin.{side}", f"Thigh.{side}"),
        (f"Foot.{side}", f"Shin.{side}"), (f"Toe.{side}", f"Foot.{side}"))},
}


def resolve(spec, bones):
    return resolve_bone_map(spec, "Hero", list(bones), bones)


def test_the_mixamo_preset_matches_whatever_the_namespace():
    bone_map = resolve("mixamo", MIXAMO_BONES)
    assert bone_map["left_shoulder"] == "mixamorig1:LeftArm" and bone_map["left_collar"] == "mixamorig1:LeftShoulder"
    assert bone_map["spine3"] == "mixamorig1:Spine2" and len(bone_map) == len(PRESETS["mixamo"])


def test_auto_picks_the_fitting_preset():
    assert resolve("auto", MIXAMO_BONES) == resolve("mixamo", MIXAMO_BONES)
    ue5 = {bone: None for bone in PRESETS["ue5"].values()}
    assert resolve("auto", ue5) == PRESETS["ue5"]


def test_auto_guesses_an_unknown_rig_from_names_and_hierarchy():
    bone_map = guess_bone_map(list(CUSTOM_BONES), CUSTOM_BONES)
    assert all(joint in bone_map for joint in REQUIRED)
    assert {joint: bone_map[joint] for joint in ("pelvis", "left_collar", "left_shoulder", "left_elbow", "left_wrist",
                                                 "right_hip", "right_knee", "right_ankle", "right_foot", "head")} == {
        "pelvis": "Pelvis", "left_collar": "Clavicle.L", "left_shoulder": "UpperArm.L", "left_elbow": "LowerArm.L",
        "left_wrist": "Hand.L", "right_hip": "Thigh.R", "right_knee": "Shin.R", "right_ankle": "Foot.R",
        "right_foot": "Toe.R", "head": "Head"}
    assert [bone_map[joint] for joint in ("spine1", "spine2", "spine3")] == ["Back.1", "Back.3", "Back.4"]


def test_an_unmappable_limb_is_named():
    bones = {bone: parent for bone, parent in MIXAMO_BONES.items() if "LeftForeArm" not in bone}
    with pytest.raises(UserError, match=r"left forearm \(left_elbow\)"):
        resolve("mixamo", bones)
    with pytest.raises(UserError, match="left forearm"):
        resolve("ue5", MIXAMO_BONES)


def test_unknown_map_names_are_refused():
    with pytest.raises(UserError, match="Unknown bone map 'biped'"):
        resolve("biped", MIXAMO_BONES)


def test_a_map_saved_as_json_loads_back_and_is_checked(tmp_path):
    bone_map = resolve("mixamo", MIXAMO_BONES)
    save_bone_map(bone_map, tmp_path / "hero.json")
    assert load_bone_map(tmp_path / "hero.json") == bone_map
    assert resolve(str(tmp_path / "hero.json"), MIXAMO_BONES) == bone_map
    with pytest.raises(UserError, match="does not have: mixamorig1:Hips"):
        resolve(str(tmp_path / "hero.json"), {bone.replace("Hips", "Pelvis"): parent
                                              for bone, parent in MIXAMO_BONES.items()})
    (tmp_path / "bad.json").write_text(json.dumps({"format": "pare-body-bone-map", "version": 1,
                                                  "bones": {"left_arm": "LeftArm"}}))
    with pytest.raises(UserError, match="joints SMPL does not have: left_arm"):
        load_bone_map(tmp_path / "bad.json")
    with pytest.raises(UserError, match="not found"):
        load_bone_map(tmp_path / "missing.json")
