"""The Blender side of PARE Body Estimator: scene building, the import operator, the panel and batch.py.

Importing this package imports nothing: the numpy core (`smpl_rest`, `rig_math`, `camera_math`,
`body_parts`) needs neither bpy nor torch, so it is tested without Blender; the modules that build the
scene import bpy themselves. The extension's entry point is the repository-root `__init__.py`.
"""
