"""Blender operators of the extension, one per module."""
