"""Image planes that fill a camera's view, and the node materials they use: the footage, the part-map overlays
and the occlusion sensitivity map are all shown this way, exactly aligned with the camera."""
from __future__ import annotations

import bpy

from .camera_math import footage_plane_size
from .footage_turn import plane_corner_uvs


def set_image_user(user: bpy.types.ImageUser, frame_start: int, offset: int, duration: int) -> None:
    """Play an image sequence or movie from scene frame `frame_start`; `offset` = first file number - 1."""
    user.frame_start = frame_start
    user.frame_offset = offset
    user.frame_duration = duration
    user.use_auto_refresh = True


def with_empty_nodes(block: bpy.types.Material | bpy.types.World) -> bpy.types.Material | bpy.types.World:
    """`block` (a new material or world) with an empty node tree. Blender 5.0 gives every material and world
    nodes (and deprecates `use_nodes`); 4.2 to 4.x need them switched on."""
    if block.node_tree is None:
        block.use_nodes = True
    block.node_tree.nodes.clear()
    return block


def node_material(name: str) -> bpy.types.Material:
    """A new material with an empty node tree."""
    return with_empty_nodes(bpy.data.materials.new(name))


def image_plane_material(name: str, image: bpy.types.Image, frame_start: int, offset: int,
                    duration: int) -> bpy.types.Material:
    """Emission only: the image renders with its own colours, unlit and unshaded."""
    material = node_material(name)
    nodes, links = material.node_tree.nodes, material.node_tree.links
    texture = nodes.new("ShaderNodeTexImage")
    texture.image = image
    set_image_user(texture.image_user, frame_start, offset, duration)
    emission = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(texture.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    return material


def camera_plane(camera: bpy.types.Object, name: str, material: bpy.types.Material, depth_m: float,
                 focal_length_px: float, image_size: tuple[int, int],
                 collection: bpy.types.Collection, turn: int = 0) -> bpy.types.Object:
    """A plane `depth_m` in front of the camera, parented to it, filling exactly the camera's view, its UVs
    spanning the image (0, 0 bottom-left) turned `turn` degrees clockwise (footage stored turned)."""
    width, height = footage_plane_size(depth_m, focal_length_px, *image_size)
    mesh = bpy.data.meshes.new(name)
    corners = [(-width / 2, -height / 2, 0.0), (width / 2, -height / 2, 0.0), (width / 2, height / 2, 0.0),
               (-width / 2, height / 2, 0.0)]
    mesh.from_pydata(corners, [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", plane_corner_uvs(turn))
    mesh.materials.append(material)
    plane = bpy.data.objects.new(name, mesh)
    collection.objects.link(plane)
    plane.parent = camera
    plane.location = (0.0, 0.0, -depth_m)  # the camera looks down its local -z
    plane.visible_shadow = False
    plane.hide_select = True
    return plane
