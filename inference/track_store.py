"""Per-person columns of what was measured (network outputs, landmarks), gathered while a clip streams through.

Small per-frame values (pose, betas, camera, landmarks) stay in memory. The 56x56 part maps (about 300 KB per
person per frame as float16) are spilled to raw files in a temporary folder and read back as memory maps, so a
long clip with several people never holds all its maps in RAM; the result writer streams them into the file.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from contract.result_file import MAP_ARRAYS as MAP_KEYS


class TrackStore:
    """Append rows per track id; read each track back as whole arrays. Use as a context manager."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="pare-body-maps-")
        self._columns: dict[int, dict[str, list[np.ndarray]]] = {}
        self._frames: dict[int, list[int]] = {}
        self._box: dict[int, list[np.ndarray]] = {}
        self._map_shapes: dict[str, tuple[int, ...]] = {}

    def __enter__(self) -> "TrackStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._folder.cleanup()

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
        return Path(self._folder.name) / f"track{track_id}_{key}.f16"
