"""`estimate-many --ray`: the clips spread over a Ray cluster, one task per clip, each scheduled with the GPUs it
asks for (Ray is an optional extra: `pip install -e ".[ray]"`; nothing else imports it).

"local" starts a Ray runtime on this machine; an address (`auto`, `ray://HOST:10001`) joins a running cluster,
whose workers need this project installed (the same `pip install -e ".[ray]"`) and the clip and output paths
reachable (a shared disk). Each task runs `many_clips.estimate_one`, so a clip's result is written atomically by
the worker that estimated it and a failed clip comes back as its message.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Mapping

from contract.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def estimate_on_ray(jobs: list[tuple[Path, Path]], options: Mapping[str, Any], address: str,
                    gpus_per_clip: float) -> Iterator[dict]:
    """Each (clip, result) as a Ray task; yields the outcomes in the order of `jobs` (see estimate_one)."""
    try:
        import ray
    except ImportError:
        raise UserError('--ray needs Ray: pip install -e ".[ray]" (or pip install "ray[default]")') from None
    from .many_clips import estimate_one

    if gpus_per_clip < 0:
        raise UserError(f"--ray-gpus-per-clip must be 0 or more, got {gpus_per_clip}")
    started = not ray.is_initialized()
    if started:
        path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        task = ray.remote(num_cpus=1, num_gpus=gpus_per_clip)(estimate_one)
        pending = [task.remote(str(clip), str(result), dict(options)) for clip, result in jobs]
        for reference in pending:
            yield ray.get(reference)
    finally:
        if started:
            ray.shutdown()
