"""Frame sources: photos, folders in natural order, videos streamed, frame ranges, clear errors."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from contract.errors import UserError
from inference.frames import FrameRange, natural_key, open_frames
from turned_files import mark_rotated


def write_video(path: Path, pictures: list[np.ndarray], fourcc: str = "mp4v", fps: float = 25.0) -> None:
    """The (H, W, 3) BGR pictures as a video of their size."""
    height, width = pictures[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    for picture in pictures:
        writer.write(picture)
    writer.release()


def grey(level: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A (H, W, 3) BGR picture of one grey `level`, W x H = `size`."""
    return np.full((size[1], size[0], 3), level, np.uint8)


def test_natural_order_puts_2_before_10():
    names = ["frame_10.png", "frame_2.png", "Frame_1.png"]
    assert sorted(names, key=natural_key) == ["Frame_1.png", "frame_2.png", "frame_10.png"]


@pytest.mark.parametrize("text,expected", [(None, (0, None)), ("5:", (5, None)), (":7", (0, 7)),
                                           ("2:9", (2, 9))])
def test_frame_range_parse(text, expected):
    r = FrameRange.parse(text, 2)
    assert (r.start, r.stop, r.stride) == (*expected, 2)


@pytest.mark.parametrize("text", ["9:2", "a:b", "3", "1:1"])
def test_frame_range_rejects_bad_text(text):
    with pytest.raises(UserError):
        FrameRange.parse(text)


def test_folder_in_natural_order_with_range_and_stride(tmp_path):
    for i in range(12):
        cv2.imwrite(str(tmp_path / f"f_{i}.png"), np.full((8, 10, 3), i * 20, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    source = open_frames(tmp_path, FrameRange(1, 11, 3))
    frames = list(source)
    assert (source.kind, source.width, source.height, source.fps) == ("folder", 10, 8, None)
    assert [i for i, _ in frames] == [1, 4, 7, 10] and source.frame_count == 4
    assert [int(image[0, 0, 0]) for _, image in frames] == [20, 80, 140, 200]


def test_video_streams_selected_frames(tmp_path):
    path = tmp_path / "clip.mp4"
    reds = [grey(0) for _ in range(10)]
    for i, picture in enumerate(reds):
        picture[:, :, 2] = i * 10  # BGR: the red channel encodes the frame number
    write_video(path, reds)
    source = open_frames(path, FrameRange(2, 8, 2))
    assert (source.kind, source.width, source.height) == ("video", 64, 48)
    assert source.fps == pytest.approx(25.0)
    frames = list(source)
    assert [i for i, _ in frames] == [2, 4, 6]
    reds = [int(image[..., 0].mean()) for _, image in frames]  # RGB now: red first
    assert all(abs(r - 10 * i) <= 4 for r, (i, _) in zip(reds, frames))


def test_sequence_of_mixed_sizes_is_refused(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((9, 8, 3), np.uint8))
    with pytest.raises(UserError, match="share one size"):
        list(open_frames(tmp_path))


@pytest.mark.parametrize("make,message", [
    (lambda p: p, "not found"),
    (lambda p: (p.mkdir(), p)[1], "no images"),
    (lambda p: (p.with_suffix(".txt").write_text("x"), p.with_suffix(".txt"))[1], "Unsupported input"),
    (lambda p: (p.with_suffix(".mp4").write_bytes(b"\0" * 100), p.with_suffix(".mp4"))[1], "Cannot read the video"),
])
def test_bad_inputs_say_what_is_wrong(tmp_path, make, message):
    with pytest.raises(UserError, match=message):
        open_frames(make(tmp_path / "input"))


@pytest.mark.parametrize("degrees,corner", [(0, (0, 0)), (90, (0, -1)), (180, (-1, -1)), (270, (-1, 0))])
def test_phone_rotation_metadata_turns_the_frames_upright(tmp_path, degrees, corner):
    """A portrait phone clip is stored as landscape frames marked "rotate 90": the estimate must see it upright,
    as Blender shows it, or everyone lies on their side and the camera's size is the wrong way round."""
    path = tmp_path / "phone.mp4"
    marked = grey(0)
    marked[:16, :16, 2] = 255  # a red mark in the stored frame's top-left corner
    write_video(path, [marked] * 3)
    mark_rotated(path, degrees)
    source = open_frames(path)
    turned = degrees in (90, 270)
    assert (source.width, source.height) == ((48, 64) if turned else (64, 48))
    frames = list(source)
    assert len(frames) == 3 and frames[0][1].shape == (source.height, source.width, 3)
    red = frames[0][1][..., 0]
    rows = slice(0, 12) if corner[0] == 0 else slice(-12, None)
    columns = slice(0, 12) if corner[1] == 0 else slice(-12, None)
    assert red[rows, columns].mean() > 200 and red.mean() < 255 * 16 * 16 / (64 * 48) + 5


def test_a_video_counted_short_is_read_to_its_end(tmp_path):
    """An MPEG program stream's frame count is estimated from its duration: this one says 87 of its 90. Without
    an end, every frame is read and the source reports what it really holds; with one, the end is kept."""
    path = tmp_path / "clip.mpg"
    write_video(path, [grey(i * 2) for i in range(90)], "PIM1")
    capture = cv2.VideoCapture(str(path))
    counted = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    assert counted < 90, "the container's count is no longer short: this test needs another clip"
    source = open_frames(path, FrameRange(0, None, 3))
    frames = [index for index, _ in source]
    assert frames == list(range(0, 90, 3))
    assert (source.total_frames, source.frame_count) == (90, 30)
    assert [index for index, _ in open_frames(path, FrameRange(0, 60, 3))] == list(range(0, 60, 3))


@pytest.mark.parametrize("suffix,fourcc,size", [(".mts", "PIM1", (64, 48)), (".m2ts", "PIM1", (64, 48)),
                                                (".ts", "PIM1", (64, 48)), (".3gp", "mp4v", (64, 48)),
                                                (".dv", "dvsd", (720, 576))])
def test_camcorder_and_old_phone_videos_are_read(tmp_path, suffix, fourcc, size):
    path = tmp_path / f"take{suffix.upper()}"  # camcorders write upper-case names
    write_video(path, [grey(20 * i, size) for i in range(12)], fourcc)
    source = open_frames(path)
    frames = list(source)
    assert (source.kind, source.width, source.height) == ("video", *size)
    assert [i for i, _ in frames] == list(range(12))
    assert all(abs(int(image.mean()) - 20 * i) <= 6 for i, image in frames)
