"""Run-time switches shared by the lessons.

Fast mode shrinks data sets, step counts and grids so that the test suite can execute every
lesson on a 2-core machine. Lessons read it through :func:`fast_mode` rather than the
environment directly, so there is one place that defines what "fast" means.
"""
from __future__ import annotations

import os

FAST_ENV = "LPFT_FAST"


def fast_mode() -> bool:
    """True when the environment variable ``LPFT_FAST`` is set to 1/true/yes."""
    return os.environ.get(FAST_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def pick(full, fast):
    """Return ``fast`` in fast mode and ``full`` otherwise (for sizes and step counts)."""
    return fast if fast_mode() else full
