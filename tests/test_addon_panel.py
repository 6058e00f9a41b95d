"""The panel, the preferences and the environment setup, with the extension enabled in this process.

Background Blender has no UI to draw into, so the panels draw into a recording layout that checks every call
against Blender's own UILayout description: the method exists, its keyword arguments exist, a property drawn
exists on its data, an operator exists, an icon name is one Blender knows.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import types

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import addon_harness  # noqa: E402  (first: sets BLENDER_USER_RESOURCES before bpy loads)
import bpy  # noqa: E402
import pytest  # noqa: E402

LAYOUT_RNA = bpy.types.UILayout.bl_rna
ICONS = set(LAYOUT_RNA.functions["label"].parameters["icon"].enum_items.keys())


def operator_rna(idname):
    category, name = idname.split(".")
    return getattr(getattr(bpy.ops, category), name).get_rna_type()


class OperatorProperties:
    def __init__(self, idname):
        object.__setattr__(self, "rna", operator_rna(idname))

    def __setattr__(self, name, value):
        assert name in self.rna.properties.keys(), f"operator {self.rna.identifier} has no property {name}"


class RecordingLayout:
    """Stands in for bpy.types.UILayout; `calls` collects (method, args, kwargs) of the whole tree."""

    def __init__(self, calls=None):
        object.__setattr__(self, "calls", [] if calls is None else calls)

    def __setattr__(self, name, value):
        assert name in LAYOUT_RNA.properties.keys(), f"UILayout has no attribute {name}"

    def __getattr__(self, method):
        assert method in LAYOUT_RNA.functions.keys(), f"UILayout has no method {method}"
        parameters = LAYOUT_RNA.functions[method].parameters.keys()

        def call(*args, **kwargs):
            assert set(kwargs) <= set(parameters), f"{method}: unknown arguments {set(kwargs) - set(parameters)}"
            assert kwargs.get("icon", "NONE") in ICONS, kwargs["icon"]
            self.calls.append((method, args, kwargs))
            if method == "prop":
                data, name = args
                assert name in data.bl_rna.properties.keys(), f"{data} has no property {name}"
            if method == "operator":
                return OperatorProperties(args[0])
            return RecordingLayout(self.calls)
        return call


def draw(panel_class, context, data=None):
    """Draw a panel (or the preferences, with `data`) into a recording layout; the calls it made."""
    layout = RecordingLayout()
    if data is None:
        owner = types.SimpleNamespace(layout=layout)
    else:  # AddonPreferences.draw reads its own properties through self
        owner = types.SimpleNamespace(layout=layout, **{name: getattr(data, name)
                                                       for name in data.bl_rna.properties.keys()})
        owner.bl_rna = data.bl_rna
    panel_class.draw(owner, context)
    return layout.calls


@pytest.fixture()
def extension():
    bpy.ops.wm.read_homefile(use_empty=True)
    module = addon_harness.enable_extension()
    job = bpy.context.window_manager.pare_body_job
    job.running, job.error, job.message = False, "", ""
    return module


def test_the_panels_draw_in_every_state(extension):
    context, job = bpy.context, bpy.context.window_manager.pare_body_job
    main, advanced = bpy.types.PAREBODY_PT_body, bpy.types.PAREBODY_PT_advanced
    idle = draw(main, context)
    assert ("operator", ("pare_body.estimate_body",), {"icon": "ARMATURE_DATA"}) in idle
    assert not [c for c in idle if c[0] == "progress"]

    settings = context.scene.pare_body
    settings.use_frame_range, settings.person_choice, settings.overlay_attention = True, "ids", True
    expanded = [c[1][1] for c in draw(main, context) if c[0] == "prop"]
    assert {"first_frame", "last_frame", "person_ids", "attention_part"} <= set(expanded)

    job.running, job.progress, job.stage = True, 0.42, "Estimate 5/12"
    running = draw(main, context)
    assert ("progress", (), {"factor": pytest.approx(0.42), "type": "BAR", "text": "Estimate 5/12"}) in running
    assert [c for c in running if c[0] == "operator" and c[1] == ("pare_body.cancel_estimate",)]
    assert not [c for c in running if c[1] == ("pare_body.estimate_body",)]

    job.running = False
    job.error = ("The checkpoint /data/a/very/long/path/to/pare_checkpoint.ckpt is not a PARE checkpoint: use "
                 "pare_w_3dpw_checkpoint.ckpt from the PARE project's README.")
    message = [kwargs["text"] for method, _, kwargs in draw(main, context)
               if method == "label" and kwargs.get("icon") in ("ERROR", "BLANK1")]
    assert "".join(message).replace(" ", "") == job.error.replace(" ", "") and len(message) > 1  # every word
    assert max(map(len, message)) <= 300 // 7  # wrapped to the panel width (300 px without a region)

    assert {"smooth_min_cutoff", "smooth_beta", "bbox", "precision"} <= {
        c[1][1] for c in draw(advanced, context) if c[0] == "prop"}
    assert not bpy.types.PAREBODY_PT_overlays.poll(context)  # no overlay planes in the scene yet
    prefs = context.preferences.addons[addon_harness.PACKAGE].preferences
    drawn = draw(type(prefs), context, data=prefs)
    assert {"smpl_neutral", "smpl_female", "smpl_male", "checkpoint", "python", "device"} <= {
        c[1][1] for c in drawn if c[0] == "prop"}
    assert "Set Up Inference Environment" in [operator_rna(c[1][0]).name for c in drawn if c[0] == "operator"]


def test_the_overlay_panel_toggles_planes_and_shows_the_legend(extension):
    scene = bpy.context.scene
    planes = []
    for kind in ("attention", "segmentation"):
        plane = bpy.data.objects.new(f"overlay {kind}", bpy.data.meshes.new(kind))
        scene.collection.objects.link(plane)
        plane["pare_overlay"] = kind
        planes.append(plane)
    overlays = bpy.types.PAREBODY_PT_overlays
    assert overlays.poll(bpy.context)
    calls = draw(overlays, bpy.context)
    assert [c[1][1] for c in calls if c[0] == "prop"] == ["show_attention", "show_segmentation"]
    legend = [kwargs["text"] for method, _, kwargs in calls if method == "label" and "icon_value" in kwargs]
    assert len(legend) == 24 and legend[0] == "pelvis" and legend[-1] == "right hand"
    scene.pare_body.show_segmentation = False
    assert planes[1].hide_viewport and planes[1].hide_render and not planes[0].hide_viewport


def test_setup_refuses_without_online_access(extension):
    assert not bpy.app.online_access  # the bpy module's default, like a Blender where users never allowed it
    venv = pathlib.Path(bpy.utils.extension_path_user(addon_harness.PACKAGE, path="venv"))
    with pytest.raises(RuntimeError, match="does not allow online access"):
        bpy.ops.pare_body.setup_environment()
    assert not venv.exists()


PERSIST = r"""
import json, sys
import bpy
sys.path.insert(0, sys.argv[1])
import addon_harness
if sys.argv[2] == "write":
    addon_harness.enable_extension()
    prefs = bpy.context.preferences.addons[addon_harness.PACKAGE].preferences
    prefs.smpl_neutral, prefs.checkpoint = "/m/SMPL_NEUTRAL.pkl", "/m/pare.ckpt"
    prefs.python, prefs.device = "/v/python", "cpu"
    bpy.ops.wm.save_userpref()
else:
    bpy.ops.wm.read_userpref()  # what Blender does at startup (the bpy module starts from factory settings)
    addon = bpy.context.preferences.addons.get(addon_harness.PACKAGE)
    prefs = addon.preferences
    print("RESULT " + json.dumps([prefs.smpl_neutral, prefs.checkpoint, prefs.python, prefs.device,
                                  hasattr(bpy.types, "PAREBODY_PT_body")]))
"""


def test_preferences_persist_across_sessions(tmp_path):
    env = {**os.environ, "BLENDER_USER_RESOURCES": tempfile.mkdtemp(prefix="pare-blender-user-")}
    tests = str(pathlib.Path(__file__).resolve().parent)
    outputs = [subprocess.run([sys.executable, "-c", PERSIST, tests, step], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120) for step in ("write", "read")]
    lines = [line for line in outputs[1].stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, outputs[0].stderr + outputs[1].stderr
    assert json.loads(lines[0][7:]) == ["/m/SMPL_NEUTRAL.pkl", "/m/pare.ckpt", "/v/python", "cpu", True]
