"""PARE Body Estimator inference: photo / image folder / video -> SMPL bodies in a versioned result file.

Importing the package is cheap and torch-free; torch is imported by the modules that need it.
"""
