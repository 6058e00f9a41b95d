"""Retargeting a person's SMPL motion onto an animator's own armature, and exporting it.

bone_maps (numpy-free, bpy-free): which target bone plays which SMPL joint; retarget_math (numpy only): the
rotations and root path; key_thinning (numpy only): fewer keys within a tolerance; bake (bpy): keys on the
target's own bones; export (bpy): Blender's FBX / BVH / glTF exporters; job (bpy): the headless entry.
"""
