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

from .camera_planes import camera_plane, image_plane_material, set_image_user
from .footage_turn import background_fit, turn_left_to_scene

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


def load_footage(source: str, expected_size: tuple[int, int], footage_turn: int,
                 warnings: list[str]) -> tuple[bpy.types.Image | None, int, int]:
    """The footage as a Blender image (source FILE, MOVIE or SEQUENCE), the frame offset that puts source
    frame 0 first and the clockwise degrees the scene must still turn it by to show it upright, as the
    estimate saw it (`footage_turn`, see footage_turn.py); (None, 0, 0) with a warning appended when it cannot
    be shown. A size other than the result's `expected_size` (W, H) once turned is warned about."""
    path = Path(source) if source else None
    if path is None or not path.exists():
        warnings.append(f"The footage {source or '(none recorded)'} was not found, so the camera shows no "
                        f"background; the bodies are complete.")
        return None, 0, 0
    offset, sequence = 0, False
    if path.is_dir():
        first, number, sequence = _numbered_sequence(path)
        if first is None:
            warnings.append(f"The footage folder {path} holds no image Blender can read; no background.")
            return None, 0, 0
        if not sequence:
            warnings.append(f"The images in {path} are not numbered consecutively, so only {first.name} is "
                            f"shown behind the bodies.")
        path, offset = first, number - 1
    try:
        image = bpy.data.images.load(str(path), check_existing=True)
    except RuntimeError as error:
        warnings.append(f"Blender cannot read the footage {path} ({error}); no background.")
        return None, 0, 0
    if sequence:
        image.source = "SEQUENCE"
    turn = turn_left_to_scene(footage_turn, image.source == "MOVIE", bpy.app.version)
    size = tuple(image.size)[::-1] if turn % 180 else tuple(image.size)
    if size[0] and size != tuple(expected_size):
        warnings.append(f"The footage {path.name} is {size[0]}x{size[1]} pixels but the result was estimated "
                        f"on {expected_size[0]}x{expected_size[1]} (a photo stored mirrored, which Blender shows as "
                        f"stored?): the background is stretched to the camera frame.")
    return image, offset, turn


def add_footage(camera: bpy.types.Object, image: bpy.types.Image, offset: int, turn: int, frame_start: int,
                duration: int, depth_m: float, focal_length_px: float, image_size: tuple[int, int],
                collection: bpy.types.Collection, name: str) -> bpy.types.Object:
    """Show `image`, turned `turn` degrees clockwise, as the camera background and on a plane `depth_m` in
    front of the camera."""
    camera.data.show_background_images = True
    background = camera.data.background_images.new()
    background.image = image
    background.rotation, background.frame_method, background.scale = background_fit(turn, *image_size)
    background.alpha = 1.0
    set_image_user(background.image_user, frame_start, offset, duration)
    material = image_plane_material(name, image, frame_start, offset, duration)
    return camera_plane(camera, name, material, depth_m, focal_length_px, image_size, collection, turn)
