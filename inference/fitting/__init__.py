"""Fitting a body model (SMPL or the stand-in body) to detected body landmarks, SMPLify-style.

`fit.fit_landmarks` turns per-frame BlazePose landmarks (2D pixels, visibility, metric 3D "world" points)
into pose, shape and camera translation, optionally starting from another estimate (PARE) to refine it.
Only joints are used, never vertices, so any body with SMPL's 24-joint tree fits, whatever its mesh.
Importing this package is torch-free; its modules import torch.
"""
