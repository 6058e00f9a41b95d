"""Errors a user can act on.

Anything raised as `UserError` reaches the user as its message alone (CLI: one line on stderr, exit code 2;
add-on: the panel and the info report), never as a traceback. Messages say what is wrong and what to do.
"""


class UserError(Exception):
    """A problem with the user's input or files, explained in words they can act on."""


class UnsafeFileError(UserError):
    """A pickle-based file (checkpoint, SMPL model) that would run code when loaded; it is never loaded."""
