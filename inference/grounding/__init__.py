"""Grounded motion (issue 10): a floor and a Z-up world found from the people, foot contact, foot locking,
camera rotation from the background, and the metrics that measure them.

Plain numpy functions on one take's arrays (OpenCV camera axes in, a Z-up world out); the estimate job, the
result file and the scene builder call them. See docs/grounding.md for the method and the conventions.
"""
