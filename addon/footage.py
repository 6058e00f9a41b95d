"""The source footage behind the bodies: the camera's background and an image plane that also renders.

The result's `source` is a photo, a folder of images or a video. Blender plays a folder as an image
sequence when its files are numbered consecutively (it swaps the number in the first file's name per
frame); otherwise only the first image is shown. Source frame i appears at scene frame frame_start + i.
A missing or unreadable source is not an error: the bodies are the product, the footage only a reference.
"""
from __future__ import annotations

import re
from pathlib import Path

import bpy

from .camera_math import footage_plane_size

_TRAILING_NUMBER = re.compile(r"(\d+)$")


def _numbered_sequence(folder: Path) -> tuple[Path | None, int, bool]:
    """(first image, its number, whether all images are numbered 1 apart) for a folder of images."""
    images = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in bpy.path.extensions_image]
    numbered = [(int(m.group(1)), p) for p in images if (m := _TRAILING_NUMBER.search(p.stem))]
    if not images:
        return None, 0, False
    if len(numbered) != len(images):
        return sorted(images)[0], 0, False
    numbered.sort()
    numbers = [number for number, _ in numbered]
    return numbered[0][1], numbers[0], numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def load_footage(source: str, expected_size: tuple[int, int],
                 warnings: list[str]) -> tuple[bpy.types.Image | None, int]:
    """The footage as a Blender image (source FILE, MOVIE or SEQUENCE) and the frame offset that puts
    source frame 0 first; (None, 0) with a warning appended when it cannot be shown. A size other than the
    result's `expected_size` (W, H) is warned about: Blender ignores a photo's EXIF orientation, which the
    estimator applies."""
    path = Path(source) if source else None
    if path is None or not path.exists():
        warnings.append(f"The footage {source or '(none recorded)'} was not found, so the camera shows no "
                        f"background; the bodies are complete.")
        return None, 0
    offset, sequence = 0, False
    if path.is_dir():
        first, number, sequence = _numbered_sequence(path)
        if first is None:
            warnings.append(f"The footage folder {path} holds no image Blender can read; no background.")
            return None, 0
        if not sequence:
            warnings.append(f"The images in {path} are not numbered consecutively, so only {first.name} is "
                            f"shown behind the bodies.")
        path, offset = first, number - 1
    try:
        image = bpy.data.images.load(str(path), check_existing=True)
    except RuntimeError as error:
        warnings.append(f"Blender cannot read the footage {path} ({error}); no background.")
        return None, 0
    if sequence:
        image.source = "SEQUENCE"
    size = tuple(image.size)
    if size[0] and size != tuple(expected_size):
        warnings.append(f"The footage {path.name} is {size[0]}x{size[1]} pixels but the result was estimated "
                        f"on {expected_size[0]}x{expected_size[1]} (a rotated phone photo?): the background "
                        f"is stretched to the camera frame.")
    return image, offset


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


def _plane_material(name: str, image: bpy.types.Image, frame_start: int, offset: int,
                    duration: int) -> bpy.types.Material:
    """Emission only: the footage renders with its own colours, unlit and unshaded."""
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
                 collection: bpy.types.Collection) -> bpy.types.Object:
    """A plane `depth_m` in front of the camera, parented to it, filling exactly the camera's view, its UVs
    spanning the image (0, 0 bottom-left)."""
    width, height = footage_plane_size(depth_m, focal_length_px, *image_size)
    mesh = bpy.data.meshes.new(name)
    corners = [(-width / 2, -height / 2, 0.0), (width / 2, -height / 2, 0.0), (width / 2, height / 2, 0.0),
               (-width / 2, height / 2, 0.0)]
    mesh.from_pydata(corners, [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    mesh.materials.append(material)
    plane = bpy.data.objects.new(name, mesh)
    collection.objects.link(plane)
    plane.parent = camera
    plane.location = (0.0, 0.0, -depth_m)  # the camera looks down its local -z
    plane.visible_shadow = False
    plane.hide_select = True
    return plane


def add_footage(camera: bpy.types.Object, image: bpy.types.Image, offset: int, frame_start: int,
                duration: int, depth_m: float, focal_length_px: float, image_size: tuple[int, int],
                collection: bpy.types.Collection, name: str) -> bpy.types.Object:
    """Show `image` as the camera background and on a plane `depth_m` in front of the camera."""
    camera.data.show_background_images = True
    background = camera.data.background_images.new()
    background.image = image
    background.frame_method = "STRETCH"
    background.alpha = 1.0
    set_image_user(background.image_user, frame_start, offset, duration)
    material = _plane_material(name, image, frame_start, offset, duration)
    return camera_plane(camera, name, material, depth_m, focal_length_px, image_size, collection)
