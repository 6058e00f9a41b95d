"""A batch scene made ready to render, and its preview picture: one frame from the matched camera.

The batch path builds its scene from nothing, so it also lights it (a grey sky and a sun from behind the
camera), colours the bodies by body part and shows the footage plane with its own colours ("Standard" view
transform: the default AgX would tone-map the footage too). The preview is rendered with Cycles on the CPU,
which works headless, where EEVEE needs a GPU context: few samples and the denoiser where Blender has one,
at the footage's size capped on the long side, so a 960x540 frame takes seconds on two cores.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import bpy
from mathutils import Vector

from .body_mesh import PART_COLOR_LAYER
from .camera_planes import node_material, with_empty_nodes

PREVIEW_SAMPLES = 16
PREVIEW_MAX_SIDE = 960  # pixels on the long side
SKY_COLOR, SKY_STRENGTH = (0.8, 0.8, 0.8, 1.0), 0.6
SUN_STRENGTH = 3.0
# Where the sunlight travels, in world axes (the camera looks along +y, up +z): forward, down, a little right,
# so the bodies' fronts are lit and their shading shows their form.
SUN_DIRECTION = (0.35, 1.0, -0.6)
BODY_MATERIAL = "PARE body parts"


def _sky(scene: bpy.types.Scene) -> None:
    world = with_empty_nodes(bpy.data.worlds.new("PARE sky"))
    nodes, links = world.node_tree.nodes, world.node_tree.links
    background = nodes.new("ShaderNodeBackground")
    background.inputs["Color"].default_value = SKY_COLOR
    background.inputs["Strength"].default_value = SKY_STRENGTH
    links.new(background.outputs["Background"], nodes.new("ShaderNodeOutputWorld").inputs["Surface"])
    scene.world = world


def _sun(scene: bpy.types.Scene) -> None:
    data = bpy.data.lights.new("PARE sun", "SUN")
    data.energy = SUN_STRENGTH
    data.angle = math.radians(10.0)  # soft shadow edges
    sun = bpy.data.objects.new("PARE sun", data)
    sun.rotation_mode = "QUATERNION"
    sun.rotation_quaternion = Vector(SUN_DIRECTION).to_track_quat("-Z", "Y")  # a sun shines along its -Z
    scene.collection.objects.link(sun)


def _body_material() -> bpy.types.Material:
    """Principled shading coloured by the bodies' part-colour attribute."""
    material = node_material(BODY_MATERIAL)
    nodes, links = material.node_tree.nodes, material.node_tree.links
    colors = nodes.new("ShaderNodeVertexColor")
    colors.layer_name = PART_COLOR_LAYER
    shader = nodes.new("ShaderNodeBsdfPrincipled")
    shader.inputs["Roughness"].default_value = 0.6
    links.new(colors.outputs["Color"], shader.inputs["Base Color"])
    links.new(shader.outputs["BSDF"], nodes.new("ShaderNodeOutputMaterial").inputs["Surface"])
    return material


def make_renderable(scene: bpy.types.Scene) -> None:
    """Light the scene, colour every body mesh by part, and show the footage in its own colours."""
    _sky(scene)
    _sun(scene)
    bodies = [obj for obj in scene.objects
              if obj.type == "MESH" and PART_COLOR_LAYER in obj.data.color_attributes]
    if bodies:
        material = _body_material()
        for body in bodies:
            body.data.materials.append(material)
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"


def denoiser_available() -> bool:
    """Whether this Blender's Cycles has OpenImageDenoise (some builds lack it)."""
    try:
        import _cycles
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def preview_percentage(width: int, height: int, max_side: int = PREVIEW_MAX_SIDE) -> int:
    """The render size percentage that brings the long side to at most `max_side` pixels (never enlarges)."""
    return max(1, min(100, math.floor(100 * max_side / max(width, height))))


def render_preview(scene: bpy.types.Scene, path: Path, frame: int, samples: int = PREVIEW_SAMPLES) -> float:
    """Render scene frame `frame` from the scene camera into the PNG `path`; the seconds it took.

    Changes the scene's render settings (engine, samples, size): the batch path saves the .blend first."""
    started = time.perf_counter()
    scene.frame_set(frame)
    render = scene.render
    render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = denoiser_available()
    # The guiding passes (albedo, normal) used as rendered: Open Image Denoise's default "accurate" prefilter
    # denoises them first, which took half of the preview's 10 s on a 2-core EPYC (16 samples, 960x540), for
    # the same picture (pixels differ by at most 2 of 255): a flat footage plane and matte bodies give clean
    # guiding passes. The "fast" prefilter was faster still but changed pixels at the picture's corners.
    scene.cycles.denoising_prefilter = "NONE"
    # A box filter one pixel wide keeps every camera ray inside its pixel: the default wider filter sends the
    # border pixels' rays past the edge of the footage plane (it exactly fills the view), into the sky.
    scene.cycles.pixel_filter_type, scene.cycles.filter_width = "BOX", 1.0
    render.resolution_percentage = preview_percentage(render.resolution_x, render.resolution_y)
    render.film_transparent = False
    settings = render.image_settings
    settings.file_format, settings.color_mode, settings.color_depth = "PNG", "RGB", "8"
    bpy.ops.render.render()
    # Saved from the render result rather than through the output path, where '#' would become a frame number.
    bpy.data.images["Render Result"].save_render(str(path), scene=scene)
    if not path.is_file():
        raise RuntimeError(f"Blender rendered no preview at {path}")
    return time.perf_counter() - started
