"""Frame sources: one photo, a folder of images, or a video, streamed one frame at a time.

Frames are read lazily so a long or 4K clip never sits in memory whole. Every source reports the size, frame
rate (None for stills) and the number of frames it will yield, which go into the result file's `meta`.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from itertools import count as every
from pathlib import Path
from typing import Generator, Iterator, Sequence

import cv2
import numpy as np

from contract.errors import UserError
from contract.file_checks import regular_file
from contract.options import OPTIONS, check_frame_range, check_value
from contract.clips import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from .image_io import exif_turn, read_image_rgb

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class FrameRange:
    """Source frames `start <= i < stop` (stop None = to the end), every `stride`-th one."""

    start: int = 0
    stop: int | None = None
    stride: int = 1

    def indices(self, count: int) -> range:
        stop = count if self.stop is None else min(self.stop, count)
        return range(self.start, stop, self.stride)

    @staticmethod
    def parse(text: str | None, stride: int = 1) -> "FrameRange":
        """`"10:200"`, `"10:"`, `":50"` or None (checked as `contract.options` checks --frame-range); the end
        is exclusive, like a Python slice."""
        check_value(OPTIONS["stride"], stride)
        if not text:
            return FrameRange(0, None, stride)
        check_frame_range(text)
        start, _, stop = text.replace(" ", "").partition(":")
        return FrameRange(int(start or 0), int(stop) if stop else None, stride)


@dataclass
class FrameSource:
    """A stream of RGB frames with the facts the result file records about them."""

    path: Path
    kind: str  # "image", "folder" or "video"
    width: int
    height: int
    fps: float | None
    indices: Sequence[int]  # source frame indices this source will yield, in order (a range, or fewer)
    total_frames: int  # frames in the whole source (for videos as the container counts, until read past that)
    _files: list[Path] | None = None
    turn: int = 0  # clockwise degrees the stored pictures are turned by to be upright (rotation metadata, EXIF)
    open_end: bool = False  # a video read to its last frame (no end given): read past a count that fell short

    @property
    def frame_count(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (source frame index, HxWx3 uint8 RGB)."""
        if self.kind == "video":
            decoded = yield from _read_video(self.path, self.indices, self.open_end)
            if decoded > self.total_frames:  # the container counted short: the frames it really has
                log.info("%s holds %d frames, not the %d its container counts", self.path.name, decoded,
                         self.total_frames)
                self.total_frames = decoded
                self.indices = range(self.indices.start, decoded, self.indices.step)
            return
        for index in self.indices:
            try:
                image = read_image_rgb(self._files[index])
            except UserError as error:  # one bad file in a sequence: skip it, keep the rest
                log.warning("skipping frame %d: %s", index, error)
                continue
            if image.shape[:2] != (self.height, self.width):
                raise UserError(
                    f"{self._files[index].name} is {image.shape[1]}x{image.shape[0]} but the sequence is "
                    f"{self.width}x{self.height}: the images of one sequence must share one size")
            yield index, image


def frames_at(source: FrameSource, wanted: set[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (source frame index, RGB) of the wanted frames among the source's own, in order: a second look at
    some frames after the first pass (a video is decoded again up to the last one wanted)."""
    return iter(replace(source, indices=[index for index in source.indices if index in wanted], open_end=False))


def natural_key(name: str) -> list:
    """Sort key that puts frame_2 before frame_10, as animators' file browsers do."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def open_frames(path: str | Path, frame_range: FrameRange = FrameRange()) -> FrameSource:
    """Open a photo, an image folder or a video; raises UserError when it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"Input not found: {path}")
    regular_file(path, "input", folder_ok=True)  # a pipe or device would block or never end
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                       key=lambda p: natural_key(p.name))
        if not files:
            raise UserError(f"The folder {path} holds no images (looked for {', '.join(IMAGE_SUFFIXES)})")
        return _still_source(path, "folder", files, frame_range)
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return _still_source(path, "image", [path], frame_range)
    if suffix in VIDEO_SUFFIXES:
        return _video_source(path, frame_range)
    raise UserError(f"Unsupported input {path.name}: give an image ({', '.join(IMAGE_SUFFIXES)}), "
                    f"a folder of images, or a video ({', '.join(VIDEO_SUFFIXES)})")


def _still_source(path: Path, kind: str, files: list[Path], frame_range: FrameRange) -> FrameSource:
    indices = frame_range.indices(len(files))
    if len(indices) == 0:
        raise UserError(f"The frame range selects none of the {len(files)} image(s) in {path}")
    for position, index in enumerate(indices):  # the first readable image sets the sequence's size
        try:
            first = read_image_rgb(files[index])
        except UserError as error:
            if kind == "image":
                raise
            log.warning("skipping frame %d: %s", index, error)
            continue
        return FrameSource(path, kind, first.shape[1], first.shape[0], None, indices[position:], len(files), files,
                           exif_turn(files[index]))
    raise UserError(f"None of the {len(indices)} selected image(s) in {path} could be read (see the warnings "
                    "above): they are damaged or not images")


def _open_video(path: Path) -> cv2.VideoCapture:
    """A capture that turns frames upright as the file's rotation metadata says: phones store a portrait clip
    as landscape frames marked "rotate 90", and Blender shows such a clip turned (5.0 does), so the estimate
    must see the same picture. OpenCV's own turning is off by default in its pip builds."""
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return capture


def _video_source(path: Path, frame_range: FrameRange) -> FrameSource:
    capture = _open_video(path)
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok:
            raise UserError(f"Cannot read the video {path}: the file is corrupt or its codec is not supported")
        fps = capture.get(cv2.CAP_PROP_FPS) or None
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        turn = round(capture.get(cv2.CAP_PROP_ORIENTATION_META) / 90) % 4 * 90
    finally:
        capture.release()
    indices = frame_range.indices(max(count, 1))
    if len(indices) == 0:
        raise UserError(f"The frame range selects none of the {count} frame(s) of {path.name}")
    return FrameSource(path, "video", frame.shape[1], frame.shape[0], fps, indices, max(count, 1), turn=turn,
                       open_end=frame_range.stop is None)


def _read_video(path: Path, indices: Sequence[int], to_the_end: bool
                ) -> Generator[tuple[int, np.ndarray], None, int]:
    """Decode sequentially (seeking is unreliable in many codecs) and keep the wanted frames; returns how many
    frames were decoded. `to_the_end` (`indices` a range): every `step`-th frame from its start until the
    decoder runs out, however many the container counted (an MPEG program stream's count is an estimate from
    its duration, a few frames short or long)."""
    capture = _open_video(path)
    try:
        wanted = every(indices.start, indices.step) if to_the_end else iter(indices)
        target = next(wanted, None)
        index = 0
        while target is not None:
            ok = capture.grab()
            if not ok:
                return index  # the container promised more frames than it holds; the caller sees fewer
            if index == target:
                ok, frame = capture.retrieve()
                if not ok:
                    return index
                yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                target = next(wanted, None)
            index += 1
        return index
    finally:
        capture.release()
