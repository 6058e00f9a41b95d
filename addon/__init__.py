"""The Blender side of PARE Body Estimator: the panel, its operators (one per module in `operators/`), the
Estimate Body run and its inference worker, scene building and the headless batch.py.

Importing this package imports nothing. The numpy core (`smpl_rest`, `rig_math`, `camera_math`, `body_parts`,
`overlay_math`, `overlay_frames`, `png_file`), the process plumbing (`worker`, `interpreter`,
`background_process`) and the Estimate Body run's state machine (`estimate_run`) need neither bpy nor torch, so
they are tested without Blender; the modules that touch Blender import bpy themselves. The extension's entry point
is the repository-root `__init__.py`.
"""
