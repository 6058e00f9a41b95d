"""Write the `.npz` and its PNGs all or nothing: each to a hidden temporary file in the target folder first,
moved into place only when every one is complete (the same temporary-then-rename pattern as the result file)."""
from __future__ import annotations

import contextlib
import io
import os
import secrets
from pathlib import Path

import numpy as np


def picture_path(output: Path, name: str) -> Path:
    """`out/run.npz` + "mean" -> `out/run_mean.png`: the PNGs sit beside the npz, named after it."""
    return output.with_name(f"{output.stem}_{name}.png")


def write_all(output: Path, arrays: dict[str, np.ndarray], pictures: dict[Path, bytes]) -> None:
    """`arrays` as a compressed npz at `output` and each PNG's bytes at its path; on any failure (or a
    cancel) the temporaries are removed and no target is touched."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    contents = {output: buffer.getvalue(), **pictures}
    temporaries: dict[Path, Path] = {}
    try:
        for target, data in contents.items():
            temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
            temporaries[target] = temporary
            with open(temporary, "xb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        for target, temporary in temporaries.items():
            os.replace(temporary, target)
    except BaseException:
        for temporary in temporaries.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        raise
