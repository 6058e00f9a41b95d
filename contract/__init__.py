"""The torch-free contract between the two halves: what the estimator (`inference/`, torch) and the Blender
add-on (`addon/`, bpy) both rely on, and nothing else.

- `options`: every estimate option, declared once (the CLI, batch.py, the worker's command line and the panel
  are derived from it or checked against it).
- `worker_protocol`: the worker's progress events (versioned, see docs/progress_protocol.md), exit statuses
  and environment variables.
- `result_file`: the versioned result file (docs/result_format.md): writer, reader and validation.
- `smpl_file` and `safe_pickle`: reading SMPL / stand-in body files without running code stored in them.
- `skeleton`: SMPL's joint names, parents and sizes. `licensed_files`: where users get SMPL and PARE.
- `errors`: the errors a user can act on.

Nothing here imports torch or bpy (tests/test_contract.py checks it), so Blender's own Python can import it.
"""
