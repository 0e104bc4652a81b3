"""The data layer's exceptions, in one module that fake.py, data.py and download.py all import.

Every one is a ``ValueError`` whose message is one line naming the file and the exact command that
fixes it, so a caller (the CLI, the lesson) prints ``str(exc)`` and stops - no traceback needed.
"""
from __future__ import annotations


class DataError(ValueError):
    """The data cannot be used: missing, corrupt, of the wrong format, or a download failed."""


class DataMissingError(DataError, FileNotFoundError):
    """A data file is missing; the message says which and the command that fixes it."""
