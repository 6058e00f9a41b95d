"""The estimate command's contract with its callers (the Blender add-on, batch.py, users' scripts): the
environment variables that default its files and interpreter, and its exit statuses.

Standard library only and import-free, so the add-on (Blender's Python has no torch) shares these names
instead of repeating them.
"""
CHECKPOINT_ENV = "PARE_BODY_CHECKPOINT"  # default --checkpoint
SMPL_ENV = "PARE_BODY_SMPL"  # default --smpl
PYTHON_ENV = "PARE_BODY_PYTHON"  # the interpreter (with torch) the add-on runs the worker in

EXIT_USER_ERROR = 2  # a problem with the user's input or files; the message says what
EXIT_CANCELLED = 130  # Ctrl+C / SIGTERM: stopped, nothing written
