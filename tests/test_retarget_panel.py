"""The Retarget & Export sub-panel's settings and operators, in the enabled extension: the map shown follows
the rig and the preset, an edited map that leaves a limb out is refused by name, a good one retargets, is saved
as JSON, and the rig's motion exports as glTF."""
import addon_harness  # noqa: F401  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import bpy
import numpy as np
import pytest

from test_addon_panel import draw  # draws a panel into a layout that checks every call against Blender's
from test_retarget import MEASURED, build_source_scene, measured_points, segment_angles, ue5_rig

MODULES = ("addon.retarget_properties", "addon.operators.retarget_motion", "addon.operators.export_motion",
           "addon.retarget_panel")


@pytest.fixture()
def registered():
    """The extension enabled (again: a factory reset in another test disables it), its retarget modules."""
    addon_harness.enable_extension()
    return [addon_harness.extension_module(name) for name in MODULES]


def test_the_panel_retargets_with_an_edited_map_saves_it_and_exports(registered, tmp_path):
    build_source_scene(tmp_path)
    addon_harness.enable_extension()  # the scene was made from factory settings, which disable it
    target = ue5_rig(np.random.default_rng(5))
    settings = bpy.context.scene.pare_body_retarget
    settings.source, settings.target = bpy.data.objects["person_0"], target
    rows = {entry.joint: entry for entry in settings.entries}
    assert rows["left_elbow"].bone == "lowerarm_l" and rows["spine3"].bone == "spine_05"
    assert settings.bone_map == "auto"

    rows["left_elbow"].bone = ""
    assert settings.bone_map == "CUSTOM"
    with pytest.raises(RuntimeError, match=r"left forearm \(left_elbow\)"):  # the operator's error report
        bpy.ops.pare_body.retarget_motion()
    assert "left forearm (left_elbow)" in settings.error
    assert target.animation_data is None or target.animation_data.action is None

    rows["left_elbow"].bone = "lowerarm_l"
    settings.save_map, settings.map_file = True, str(tmp_path / "ue5.json")
    frames = range(bpy.context.scene.frame_start, bpy.context.scene.frame_end + 1)
    source_points = measured_points(settings.source, {joint: joint for joint in rows}, frames)
    assert bpy.ops.pare_body.retarget_motion() == {"FINISHED"} and not settings.error
    angles = segment_angles(source_points, measured_points(target, MEASURED["UE5"], frames))
    assert np.percentile(angles, 95) <= 1.0

    settings.bone_map = "FILE"  # the saved map reads back into the panel
    assert {entry.joint: entry.bone for entry in settings.entries if entry.bone}["left_elbow"] == "lowerarm_l"

    assert bpy.ops.pare_body.export_motion(filepath=str(tmp_path / "hero.glb")) == {"FINISHED"}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(tmp_path / "hero.glb"))
    # Without a mesh glTF holds the rig as a node tree with its animation; Blender reads nodes back as empties.
    assert {"pelvis", "lowerarm_l", "head"} <= {obj.name for obj in bpy.data.objects} and bpy.data.actions


def test_the_sub_panel_draws_the_map_and_errors(registered, tmp_path):
    build_source_scene(tmp_path)
    addon_harness.enable_extension()
    panel, context = bpy.types.PAREBODY_PT_retarget, bpy.context
    settings = context.scene.pare_body_retarget
    settings.source, settings.target, settings.error = bpy.data.objects["person_0"], None, ""
    settings.entries.clear()
    empty = draw(panel, context)
    assert {"source", "target", "bone_map", "thin_degrees", "nla_strip"} <= {c[1][1] for c in empty if c[0] == "prop"}
    assert {c[1][0] for c in empty if c[0] == "operator"} == {"pare_body.retarget_motion", "pare_body.export_motion"}
    assert not [c for c in empty if c[0] == "prop_search"]

    settings.target, settings.show_map = ue5_rig(np.random.default_rng(6)), True
    rows = {c[2]["text"]: c[1][0].bone for c in draw(panel, context) if c[0] == "prop_search"}
    assert len(rows) == 24 and rows["Left forearm"] == "lowerarm_l" and rows["Left fingers"] == ""

    settings.error = "Cannot map the left forearm (left_elbow) onto 'UE5' with the edited bone map: no such bone."
    message = [c[2]["text"] for c in draw(panel, context)
               if c[0] == "label" and c[2].get("icon") in ("ERROR", "BLANK1")]
    assert "".join(message).replace(" ", "") == settings.error.replace(" ", "")
