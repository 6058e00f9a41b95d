"""The Blender scene a clip is rendered in: a clothed body in a textured room, lit by a sun and the sky.

Cycles on the CPU (EEVEE and Workbench need a GPU context that the headless `bpy` module lacks) at a few
samples, without the denoiser unless the camera moves: the grain passes for a camera's sensor noise, and it
renders twice as fast.
The body is one mesh whose vertices are replaced every frame; its faces take a material by the body part they
belong to (largest skinning weight), so it reads as skin, shirt, trousers and shoes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from contract.skeleton import JOINT_NAMES
from contract.smpl_file import read_body_model

from .camera_path import CameraTrack

SENSOR_WIDTH_MM = 36.0
ROOM_HALF_SIZE_M = 9.0
ROOM_HEIGHT_M = 4.0
SKIN_PARTS = ("neck", "head", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand")
SHOE_PARTS = ("left_ankle", "right_ankle", "left_foot", "right_foot")
TROUSER_PARTS = ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee")
# Everything else (spine, collars, upper arms) is the shirt.
Colour = tuple[float, float, float]


@dataclass(frozen=True)
class Outfit:
    skin: Colour
    shirt: Colour
    trousers: Colour
    shoes: Colour = (0.05, 0.04, 0.035)


def _node_material(name: str) -> tuple[bpy.types.Material, bpy.types.NodeTree, bpy.types.Node]:
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    tree = material.node_tree
    return material, tree, tree.nodes["Principled BSDF"]


def _cloth(name: str, colour: Colour, roughness: float, weave_scale: float) -> bpy.types.Material:
    """A matte material whose colour varies a little with a fine noise, like fabric or skin in soft light."""
    material, tree, shader = _node_material(name)
    noise, ramp = tree.nodes.new("ShaderNodeTexNoise"), tree.nodes.new("ShaderNodeValToRGB")
    noise.inputs["Scale"].default_value = weave_scale
    ramp.color_ramp.elements[0].color = (*[0.75 * c for c in colour], 1.0)
    ramp.color_ramp.elements[1].color = (*colour, 1.0)
    tree.links.new(noise.outputs["Fac"], ramp.inputs["Fac"])
    tree.links.new(ramp.outputs["Color"], shader.inputs["Base Color"])
    shader.inputs["Roughness"].default_value = roughness
    return material


def _textured_surface(name: str, pattern: str, colours: tuple[Colour, Colour], scale: float) -> bpy.types.Material:
    """Floor tiles (checker) or a brick wall, broken up by noise so no two metres look alike."""
    material, tree, shader = _node_material(name)
    texture = tree.nodes.new("ShaderNodeTexChecker" if pattern == "checker" else "ShaderNodeTexBrick")
    texture.inputs["Color1"].default_value = (*colours[0], 1.0)
    texture.inputs["Color2"].default_value = (*colours[1], 1.0)
    texture.inputs["Scale"].default_value = scale
    noise, mix = tree.nodes.new("ShaderNodeTexNoise"), tree.nodes.new("ShaderNodeMix")
    mix.data_type, mix.blend_type = "RGBA", "MULTIPLY"
    mix.inputs["Factor"].default_value = 0.35
    noise.inputs["Scale"].default_value = 3.0
    coordinates = tree.nodes.new("ShaderNodeTexCoord")
    tree.links.new(coordinates.outputs["Object"], texture.inputs["Vector"])
    tree.links.new(texture.outputs["Color"], mix.inputs["A"])
    tree.links.new(noise.outputs["Color"], mix.inputs["B"])
    tree.links.new(mix.outputs["Result"], shader.inputs["Base Color"])
    shader.inputs["Roughness"].default_value = 0.8
    return material


def _add_mesh(name: str, vertices: np.ndarray, faces: np.ndarray, material: bpy.types.Material,
              placement: np.ndarray | None = None) -> bpy.types.Object:
    """A mesh object; `placement` (4, 4) puts its local coordinates (which textures follow) in the world."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(vertices.tolist(), [], faces.tolist())
    mesh.materials.append(material)
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    if placement is not None:
        obj.matrix_world = Matrix(placement.tolist())
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _add_room() -> None:
    """A floor and four brick walls around the origin, so every view has texture behind the person. Each wall
    is a rectangle in its own x (along the wall) and y (up), so the bricks lie level."""
    size, height = ROOM_HALF_SIZE_M, ROOM_HEIGHT_M
    floor = _textured_surface("floor", "checker", ((0.55, 0.5, 0.42), (0.3, 0.26, 0.2)), 0.5)
    wall = _textured_surface("wall", "brick", ((0.45, 0.2, 0.12), (0.6, 0.35, 0.25)), 0.6)
    corners = np.array([[-size, -size, 0.0], [size, -size, 0.0], [size, size, 0.0], [-size, size, 0.0]])
    two_triangles = np.array([[0, 1, 2], [0, 2, 3]])
    _add_mesh("floor", corners, two_triangles, floor)
    rectangle = np.array([[0.0, 0.0, 0.0], [2 * size, 0.0, 0.0], [2 * size, height, 0.0], [0.0, height, 0.0]])
    for index in range(4):
        along = (corners[(index + 1) % 4] - corners[index]) / (2 * size)
        placement = np.eye(4)
        placement[:3, 0], placement[:3, 1] = along, [0.0, 0.0, 1.0]
        placement[:3, 2], placement[:3, 3] = np.cross(along, [0.0, 0.0, 1.0]), corners[index]
        _add_mesh(f"wall_{index}", rectangle, two_triangles, wall, placement)


def _add_lights() -> None:
    world = bpy.data.worlds.new("sky")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.55, 0.6, 0.7, 1.0)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.8
    bpy.context.scene.world = world
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy, sun.data.angle = 3.0, np.radians(8.0)
    sun.rotation_euler = (np.radians(40.0), np.radians(15.0), np.radians(30.0))
    bpy.context.scene.collection.objects.link(sun)


def _body_part_of_faces(faces: np.ndarray) -> np.ndarray:
    """(F,) the SMPL joint each triangle belongs to: the largest skinning weight of its first vertex."""
    return read_body_model(None).weights.argmax(axis=1)[faces[:, 0]]


def add_person(faces: np.ndarray, rest_vertices: np.ndarray, outfit: Outfit) -> bpy.types.Object:
    """The body mesh with skin, shirt, trousers and shoes by body part; its vertices are set per frame."""
    materials = [_cloth("shirt", outfit.shirt, 0.9, 120.0), _cloth("skin", outfit.skin, 0.5, 40.0),
                 _cloth("trousers", outfit.trousers, 0.85, 150.0), _cloth("shoes", outfit.shoes, 0.4, 60.0)]
    part = _body_part_of_faces(faces)
    slot = np.zeros(len(faces), np.int32)
    for index, names in ((1, SKIN_PARTS), (2, TROUSER_PARTS), (3, SHOE_PARTS)):
        slot[np.isin(part, [JOINT_NAMES.index(name) for name in names])] = index
    person = _add_mesh("person", rest_vertices, faces, materials[0])
    for material in materials[1:]:
        person.data.materials.append(material)
    person.data.polygons.foreach_set("material_index", slot)
    person.data.polygons.foreach_set("use_smooth", np.ones(len(faces), bool))
    person.data.update()
    return person


def new_scene(camera: CameraTrack, samples: int, denoise: bool) -> bpy.types.Scene:
    """An empty scene with the room, the lights, a camera of the clip's intrinsics and the render settings."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    _add_room()
    _add_lights()
    camera_data = bpy.data.cameras.new("camera")
    camera_data.sensor_fit, camera_data.sensor_width = "HORIZONTAL", SENSOR_WIDTH_MM
    camera_data.lens = camera.focal_px * SENSOR_WIDTH_MM / camera.width
    scene.camera = bpy.data.objects.new("camera", camera_data)
    scene.collection.objects.link(scene.camera)
    render = scene.render
    render.engine = "CYCLES"
    render.resolution_x, render.resolution_y, render.resolution_percentage = camera.width, camera.height, 100
    scene.cycles.device, scene.cycles.samples = "CPU", samples
    scene.cycles.use_denoising, scene.cycles.max_bounces = denoise, 2
    render.use_persistent_data = True  # only the body changes between frames: keep the rest synced
    scene.cycles.pixel_filter_type, scene.cycles.filter_width = "BOX", 1.0
    render.image_settings.file_format = "PNG"
    return scene


def place_camera(scene: bpy.types.Scene, rotation: np.ndarray, position: np.ndarray) -> None:
    """Put the scene camera where the track says: Blender cameras look down local -z with +y up, so their
    world matrix's axes are the camera frame's x, -y and -z."""
    axes = rotation.T @ np.diag([1.0, -1.0, -1.0])
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = axes, position
    scene.camera.matrix_world = Matrix(matrix.tolist())


def render_frame(scene: bpy.types.Scene, person: bpy.types.Object, vertices: np.ndarray, path: Path) -> None:
    """Set the body's vertices (V, 3) and render the camera's view into the PNG `path`."""
    person.data.vertices.foreach_set("co", vertices.astype(np.float32).ravel())
    person.data.update()
    bpy.ops.render.render()
    bpy.data.images["Render Result"].save_render(str(path), scene=scene)
