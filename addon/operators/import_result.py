"""Import Body Result: any format-v1 result file -> rigged, keyframed bodies under a matched camera.

Results computed elsewhere (a GPU machine, a render farm) come in the same way as the extension's own. The
operator is one undo step; a file that cannot be read changes nothing and says why in the info report.
Dropping a .npz on the 3D viewport opens this operator too (the file handler below).
"""
from __future__ import annotations

import os

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty

from ...contract.errors import UserError
from ...contract.options import SCENE_OPTIONS, checked_values
from ...contract.worker_protocol import SMPL_ENV
from ..preferences import addon_preferences
from ..scene_build import BuildOptions, import_result_file


class PAREBODY_OT_import_result(bpy.types.Operator):
    """Build rigged, keyframed SMPL bodies and a matched camera from a PARE body result file (.npz)"""

    bl_idname = "pare_body.import_result"
    bl_label = "Import Body Result"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="Result File", subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default="*.npz", options={"HIDDEN"})
    smpl_path: StringProperty(name="SMPL Model", subtype="FILE_PATH", default=os.environ.get(SMPL_ENV, ""),
                              description="SMPL body model file (SMPL_NEUTRAL.pkl or .npz) or its folder, for "
                                          "results computed with SMPL (stand-in results use the bundled body)")
    frame_start: IntProperty(name="Start Frame", default=1, description="Scene frame of the first source frame")
    pose_correctives: BoolProperty(name="Pose Correctives", default=True,
                                   description="Key SMPL's 207 pose-corrective shape keys per frame, so the "
                                               "mesh matches SMPL exactly (off: lighter, plain skinning)")

    def invoke(self, context, event):
        prefs = addon_preferences(context)
        if not self.smpl_path and prefs is not None:
            self.smpl_path = prefs.smpl_neutral
        if self.filepath:  # dropped on the viewport: the file is known
            return context.window_manager.invoke_props_dialog(self)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        smpl = bpy.path.abspath(self.smpl_path) if self.smpl_path else None
        try:
            options = BuildOptions(**checked_values({"frame_start": self.frame_start,
                                                     "pose_correctives": self.pose_correctives}, SCENE_OPTIONS))
            report = import_result_file(context, bpy.path.abspath(self.filepath), smpl, options,
                                        how_to_give_smpl=f"choose SMPL_NEUTRAL.pkl in the import options or the "
                                                         f"add-on's preferences, or set ${SMPL_ENV}")
        except UserError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        for warning in report.warnings:
            self.report({"WARNING"}, warning)
        self.report({"INFO"}, f"Imported {report.persons} person(s) over {report.frames} frame(s) into "
                              f"'{report.collection}', {report.body}")
        return {"FINISHED"}


class PAREBODY_FH_result(bpy.types.FileHandler):
    """Dropping a result .npz on the 3D viewport imports it."""

    bl_idname = "PAREBODY_FH_result"
    bl_label = "PARE Body Result"
    bl_import_operator = PAREBODY_OT_import_result.bl_idname
    bl_file_extensions = ".npz"

    @classmethod
    def poll_drop(cls, context):
        return context.area is not None and context.area.type == "VIEW_3D"


CLASSES = (PAREBODY_OT_import_result, PAREBODY_FH_result)
