"""Per-person columns of what was measured (network outputs, landmarks), gathered while a clip streams through.

Small per-frame values (pose, betas, camera, landmarks) stay in memory. The 56x56 part maps (about 300 KB per
person per frame as float16) are spilled to raw files in a temporary folder and read back as memory maps, so a
long clip with several people never holds all its maps in RAM; the result writer streams them into the file.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from contract.result_file import MAP_ARRAYS as MAP_KEYS
from contract.stale_files import remove_stale, temporary_path


SPILL_PREFIX = ".pare-body-maps-"


class TrackStore:
    """Append rows per track id; read each track back as whole arrays. Use as a context manager.

    The spill folder `.pare-body-maps-<pid>-<random>` lives in `folder` (best the output's folder, where a user
    looks; the system's temporary folder when None). A job that was killed cannot remove it, so each new store
    removes the folders of that name there whose process is gone and that are over an hour old
    (`contract.stale_files`)."""

    def __init__(self, folder: Path | None = None) -> None:
        parent = Path(tempfile.gettempdir()) if folder is None else Path(folder)
        remove_stale(parent, SPILL_PREFIX)
        self._folder = temporary_path(parent, SPILL_PREFIX)
        self._folder.mkdir()
        self._columns: dict[int, dict[str, list[np.ndarray]]] = {}
        self._frames: dict[int, list[int]] = {}
        self._box: dict[int, list[np.ndarray]] = {}
        self._map_shapes: dict[str, tuple[int, ...]] = {}

    def __enter__(self) -> "TrackStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

    def track_ids(self) -> list[int]:
        return sorted(self._frames)

    def add(self, track_id: int, frame: int, box_xywh: np.ndarray, outputs: dict[str, np.ndarray]) -> None:
        """One person in one frame: `outputs` are that row of the estimator's arrays (no batch axis)."""
        self._frames.setdefault(track_id, []).append(frame)
        self._box.setdefault(track_id, []).append(np.asarray(box_xywh, dtype=np.float64))
        columns = self._columns.setdefault(track_id, {})
        for key, value in outputs.items():
            if key in MAP_KEYS:
                self._map_shapes[key] = value.shape
                with open(self._map_path(track_id, key), "ab") as spill:
                    spill.write(np.ascontiguousarray(value, dtype=np.float16).tobytes())
            else:
                columns.setdefault(key, []).append(value)

    def frames(self, track_id: int) -> np.ndarray:
        return np.asarray(self._frames[track_id], dtype=np.int64)

    def boxes(self, track_id: int) -> np.ndarray:
        """(n, 4) x, y, w, h of the crop box in each frame."""
        return np.stack(self._box[track_id])

    def column_names(self, track_id: int) -> list[str]:
        """The per-frame outputs kept in memory for this track (maps not included)."""
        return list(self._columns.get(track_id, {}))

    def column(self, track_id: int, key: str) -> np.ndarray:
        """(n, ...) the stacked rows of one output."""
        return np.stack(self._columns[track_id][key])

    def maps(self, track_id: int, key: str) -> np.ndarray | None:
        """(n, C, 56, 56) float16, memory-mapped from the spill file; None when the model has no maps.

        Valid until `close()`."""
        path = self._map_path(track_id, key)
        if key not in self._map_shapes or not path.exists():
            return None
        shape = (len(self._frames[track_id]), *self._map_shapes[key])
        return np.memmap(path, dtype=np.float16, mode="r", shape=shape)

    def _map_path(self, track_id: int, key: str) -> Path:
        return self._folder / f"track{track_id}_{key}.f16"
