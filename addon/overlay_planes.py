"""The overlay frames on image planes in the camera's view, just in front of the footage plane.

Each overlay kind is one plane parented to the camera and sized to fill its view exactly, like the footage
plane, a little nearer than it, so it covers the footage but stays behind the bodies. Its material shows the
PNG sequence unlit with its alpha (transparent where nobody is). The planes carry a custom property naming
their kind, which is how the panel's toggles find them.
"""
from __future__ import annotations

import bpy

from .camera_planes import camera_plane, node_material, set_image_user
from .overlay_frames import OverlaySequence

OVERLAY_PROPERTY = "pare_overlay"  # object custom property: the overlay kind of a plane
OVERLAY_GAP_M = 0.01  # each overlay plane sits this much nearer to the camera than the one behind it
OVERLAY_OPACITY = 0.8


def _load_sequence(sequence: OverlaySequence) -> bpy.types.Image:
    image = bpy.data.images.load(str(sequence.first_file), check_existing=False)
    if bpy.data.is_saved:  # a path relative to the .blend keeps working when the project folder moves
        try:
            image.filepath = bpy.path.relpath(str(sequence.first_file))
        except ValueError:  # another drive (Windows): keep the absolute path
            pass
    if sequence.frames > 1:
        image.source = "SEQUENCE"
    image.alpha_mode = "STRAIGHT"
    return image


def _overlay_material(name: str, image: bpy.types.Image, frame_start: int, frames: int) -> bpy.types.Material:
    """Unlit image colour, mixed with transparency by the image's alpha times an opacity users can change."""
    material = node_material(name)
    material.surface_render_method = "BLENDED"
    nodes, links = material.node_tree.nodes, material.node_tree.links
    texture = nodes.new("ShaderNodeTexImage")
    texture.image = image
    set_image_user(texture.image_user, frame_start, -1, frames)  # file number 0 at frame_start
    opacity = nodes.new("ShaderNodeMath")
    opacity.operation = "MULTIPLY"
    opacity.label = "Opacity"
    opacity.inputs[1].default_value = OVERLAY_OPACITY
    emission = nodes.new("ShaderNodeEmission")
    transparent = nodes.new("ShaderNodeBsdfTransparent")
    mix = nodes.new("ShaderNodeMixShader")
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(texture.outputs["Color"], emission.inputs["Color"])
    links.new(texture.outputs["Alpha"], opacity.inputs[0])
    links.new(opacity.outputs["Value"], mix.inputs["Fac"])
    links.new(transparent.outputs["BSDF"], mix.inputs[1])
    links.new(emission.outputs["Emission"], mix.inputs[2])
    links.new(mix.outputs["Shader"], output.inputs["Surface"])
    return material


def add_overlay_planes(camera: bpy.types.Object, sequences: list[OverlaySequence], frame_start: int,
                       footage_depth_m: float, focal_length_px: float, image_size: tuple[int, int],
                       collection: bpy.types.Collection, name: str) -> list[bpy.types.Object]:
    """One plane per sequence, in front of the footage plane at `footage_depth_m`."""
    planes = []
    for index, sequence in enumerate(sequences):
        label = f"{name} {sequence.kind}"
        material = _overlay_material(label, _load_sequence(sequence), frame_start, sequence.frames)
        depth = footage_depth_m - OVERLAY_GAP_M * (index + 1)
        plane = camera_plane(camera, label, material, depth, focal_length_px, image_size, collection)
        plane[OVERLAY_PROPERTY] = sequence.kind
        planes.append(plane)
    return planes


def overlay_planes(scene: bpy.types.Scene, kind: str) -> list[bpy.types.Object]:
    return [obj for obj in scene.objects if obj.get(OVERLAY_PROPERTY) == kind]


def set_overlay_visibility(scene: bpy.types.Scene, kind: str, visible: bool) -> None:
    """Show or hide (in viewports and renders) every overlay plane of `kind` in the scene."""
    for plane in overlay_planes(scene, kind):
        plane.hide_viewport = plane.hide_render = not visible

