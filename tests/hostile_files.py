"""Makers of valid and hostile inputs for tests/test_bad_input.py and tests/test_fuzz.py: a small valid result,
the same result with one thing broken, forged `.npy` headers, pickles that ask for terabytes."""
from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

from contract.result_file import PersonTrack, ResultMeta, write_result

FRAMES = 4


def rotations(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """(*shape, 3, 3) random proper rotations (QR of Gaussian matrices, signs fixed so det = +1)."""
    q, r = np.linalg.qr(rng.standard_normal((*shape, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]
    return q * np.sign(np.linalg.det(q))[..., None, None]


def valid_track(seed: int = 0, frames: int = FRAMES) -> PersonTrack:
    rng = np.random.default_rng(seed)
    cam_t = np.column_stack([rng.normal(0, 0.3, frames), rng.normal(0, 0.3, frames), rng.uniform(3, 6, frames)])
    joints3d = cam_t[:, None] + rng.normal(0, 0.4, (frames, 24, 3))
    return PersonTrack(
        frame=np.arange(frames, dtype=np.int64), bbox_xywh=np.tile(np.float32([100, 50, 200, 200]), (frames, 1)),
        pose_rotmat=rotations(rng, (frames, 24)).astype(np.float32),
        pose_axis_angle=rng.normal(0, 0.3, (frames, 72)).astype(np.float32),
        betas=rng.normal(0, 1, (frames, 10)).astype(np.float32), crop_cam=np.ones((frames, 3), np.float32),
        cam_t=cam_t.astype(np.float32), joints3d=joints3d.astype(np.float32),
        joints2d=(800 * joints3d[..., :2] / joints3d[..., 2:] + [320, 240]).astype(np.float32))


def valid_meta(source: str = "clip.mp4", frames: int = FRAMES) -> ResultMeta:
    return ResultMeta(image_width=640, image_height=480, fps=25.0, focal_length_px=800.0, frame_count=frames,
                      source=source, model="blazepose-fit", body_model="stand-in")


def write_valid_result(path: Path, source: str = "clip.mp4") -> Path:
    write_result(path, valid_meta(source), [valid_track()])
    return path


def archive_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def meta_of(arrays: dict[str, np.ndarray]) -> dict:
    return json.loads(str(arrays["meta"]))


def with_meta(arrays: dict[str, np.ndarray], **changes) -> dict[str, np.ndarray]:
    return {**arrays, "meta": np.array(json.dumps({**meta_of(arrays), **changes}))}


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    with open(path, "wb") as stream:
        np.savez(stream, **arrays)  # object arrays are pickled into the file: a reader must refuse them
    return path


def npy_claiming(shape: tuple[int, ...], dtype: str = "<f4", payload: bytes = b"\0" * 64) -> bytes:
    """A version-1.0 `.npy` whose header claims `shape` but that holds only `payload`."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def replace_member(source: Path, target: Path, name: str, data: bytes) -> Path:
    """A copy of the zip `source` with member `name` (e.g. 'person_0/betas.npy') replaced by `data`."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, data if info.filename == name else old.read(info.filename))
    return target


def pickle_with_huge_array() -> bytes:
    """numpy's own array reconstruction, asked for a 10 TB array (protocol 2, as SMPL pickles are)."""
    import numpy.core.multiarray as multiarray

    class Huge:
        def __reduce__(self):
            return multiarray._reconstruct, (np.ndarray, (10 ** 13,), b"b")
    return pickle.dumps({"v_template": Huge()}, protocol=2)


def pickle_with_huge_bytes() -> bytes:
    class Huge:
        def __reduce__(self):
            return bytearray, (10 ** 13,)
    return pickle.dumps([Huge()], protocol=2)


def pickle_with_long_range() -> bytes:
    class Huge:
        def __reduce__(self):
            return list, (range(10 ** 12),)
    stream = io.BytesIO()
    pickle.Pickler(stream, protocol=2).dump([Huge()])
    return stream.getvalue()
