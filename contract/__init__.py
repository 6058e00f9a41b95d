"""The torch-free contract between the two halves: what the estimator (`inference/`, torch) and the Blender
add-on (`addon/`, bpy) both rely on, and nothing else.

- `options`: every estimate and scene option, declared once (the CLI, batch.py, the worker's command line and
  the panel are derived from it); `clips`: what a clip is and how many-clips jobs name them.
- `worker_protocol`: the worker's progress events (versioned, see docs/progress_protocol.md), exit statuses
  and environment variables.
- `result_file`: the versioned result file (docs/result_format.md): writer, reader and validation, with
  `result_checks` (implausible values), `archive_limits` (oversized arrays), `file_checks` (regular files only)
  and `stale_files` (temporaries a killed writer left); `presence` (when a person is in the take) and
  `quality_report` (the per-person report in words).
- `smpl_file` and `safe_pickle`: reading SMPL / stand-in body files without running code stored in them.
- `skeleton`: SMPL's joint names, parents and sizes. `licensed_files`: where users get SMPL and PARE.
- `errors`: the errors a user can act on.

Nothing here imports torch or bpy (tests/test_options.py checks it), so Blender's own Python can import it.
"""
