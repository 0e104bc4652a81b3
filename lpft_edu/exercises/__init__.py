"""Self-check functions for the lessons' exercises, one module per lesson.

Each check prints a short verdict that a learner can act on and returns None, so a notebook shows
the verdict and no ``Out[n]: True`` under it. Tests ask whether a check accepted an answer with
:func:`passed`. The checks compute the expected answer from the library (never a hard-coded
number), so a check and the lesson can never disagree.
"""
from __future__ import annotations

import numpy as np


_verdicts: list[bool] = []  # what the checks decided, newest last (read by ``passed``)


def verdict(ok: bool, message: str) -> None:
    """Print a learner-facing verdict; record it for :func:`passed`."""
    print(("Correct! " if ok else "Not yet. ") + message)
    del _verdicts[:]
    _verdicts.append(bool(ok))


def passed(check, *args, **kwargs) -> bool:
    """Run a self-check and return whether it accepted the answer (for tests and authors)."""
    del _verdicts[:]
    check(*args, **kwargs)
    if len(_verdicts) != 1:
        raise RuntimeError(f"{getattr(check, '__name__', check)} gave {len(_verdicts)} verdicts, expected exactly one")
    return _verdicts[0]


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
