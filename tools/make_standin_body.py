"""Make the license-free stand-in body, `assets/body/standin_body.npz`, and its preview picture.

    .venv/bin/python tools/make_standin_body.py [--out PATH] [--preview PATH] [--views FOLDER]

The body is an implicit surface built from public anthropometric proportions (`standin_body.body_shape`),
extracted by marching tetrahedra, simplified to SMPL's 6890 vertices and rigged to SMPL's 24 joints
(`standin_body.model`). It takes about a minute, most of it simplifying the mesh; the result is
deterministic. The .npz has SMPL's keys and layout, plus `body_name`, `keypoint_vertex_ids` and
`shape_direction_names`, and loads with `contract.smpl_file.read_smpl_model`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from standin_body.body_shape import body_parts  # noqa: E402
from standin_body.build_mesh import GRID_SPACING_M, NUM_VERTICES, build_mesh  # noqa: E402
from standin_body.model import rig  # noqa: E402

DEFAULT_OUT = ROOT / "assets" / "body" / "standin_body.npz"
DEFAULT_PREVIEW = ROOT / "assets" / "body" / "preview.png"


def make_arrays(spacing: float = GRID_SPACING_M, num_vertices: int = NUM_VERTICES) -> dict[str, np.ndarray]:
    """All arrays of the stand-in's file. The rig is computed from the float32 template the file keeps,
    so `rig(file's v_template, file's f, body_parts())` reproduces the file's other arrays."""
    parts = body_parts()
    vertices, faces = build_mesh(spacing, num_vertices, parts)
    return rig(vertices.astype(np.float32).astype(np.float64), faces, parts)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"could not write {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--preview", type=Path, default=DEFAULT_PREVIEW)
    parser.add_argument("--views", type=Path, help="also write larger check pictures into this folder")
    args = parser.parse_args(argv)
    start = time.time()
    arrays = make_arrays()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({len(arrays['v_template'])} vertices, {len(arrays['f'])} triangles) "
          f"in {time.time() - start:.0f} s")

    from standin_body.preview import preview, views  # torch only from here on

    _write_png(args.preview, preview(args.out))
    print(f"wrote {args.preview}")
    if args.views:
        for name, image in views(args.out).items():
            _write_png(args.views / f"{name}.png", image)
        print(f"wrote check pictures into {args.views}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
