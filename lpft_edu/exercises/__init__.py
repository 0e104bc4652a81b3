"""Self-check functions for the lessons' exercises, one module per lesson.

Each check returns True/False and prints a short verdict that a learner can act on. They
compute the expected answer from the library (never a hard-coded number), so a check and the
lesson can never disagree.
"""
from __future__ import annotations

import numpy as np


def verdict(ok: bool, message: str) -> bool:
    """Print a learner-facing verdict and return ``ok`` (so tests can assert on it)."""
    print(("Correct! " if ok else "Not yet. ") + message)
    return bool(ok)


def not_answered(answer) -> bool:
    return answer is None or answer is Ellipsis


def close(answer, expected, rtol: float = 1e-3, atol: float = 1e-6) -> bool:
    """Numeric comparison that tolerates answers computed by gradient descent or by hand."""
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False
    e = np.asarray(expected, dtype=float)
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=rtol, atol=atol))
