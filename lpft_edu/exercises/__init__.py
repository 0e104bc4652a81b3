"""Self-check functions for the lessons' exercises, one module per lesson.

Each check prints a short verdict that a learner can act on and returns None, so a notebook shows
the verdict and no ``Out[n]: True`` under it. Tests ask whether a check accepted an answer with
:func:`passed`. The checks compute the expected answer from the library (never a hard-coded
number), so a check and the lesson can never disagree.
"""
from __future__ import annotations

import numpy as np


CORRECT = "Correct! "
NOT_YET = "Not yet. "

_verdicts: list[bool] = []  # what the checks decided since ``passed`` last cleared it (read by ``passed``)


def verdict(ok: bool, message: str) -> None:
    """Print a learner-facing verdict ("Correct! ..." or "Not yet. ..."); record it for :func:`passed`."""
    print((CORRECT if ok else NOT_YET) + message)
    _verdicts.append(bool(ok))
    del _verdicts[:-2]  # two are enough to tell "more than one"; a long session never grows the list


def passed(check, *args, **kwargs) -> bool:
    """Run a self-check and return whether it accepted the answer (for tests and authors).

    Raises RuntimeError when the check gave no verdict or more than one (a learner would see a
    contradiction, or nothing).
    """
    del _verdicts[:]
    check(*args, **kwargs)
    if len(_verdicts) != 1:
        raise RuntimeError(f"{getattr(check, '__name__', check)} gave {'no' if not _verdicts else 'more than one'} "
                           "verdict, expected exactly one")
    return _verdicts[0]


def not_answered(answer) -> bool:
    """True for the student version's placeholder ``...`` (or None), also inside a template such as
    ``{0: ..., 1: ...}`` or ``[..., ...]``: the learner has not filled it in yet."""
    if answer is None or answer is Ellipsis:
        return True
    if isinstance(answer, dict):
        return any(not_answered(v) for v in answer.values())
    if isinstance(answer, (list, tuple, set, frozenset)):
        return any(not_answered(v) for v in answer)
    if isinstance(answer, np.ndarray) and answer.dtype == object:
        return any(not_answered(v) for v in answer.ravel())
    return False


def close(answer, expected, rtol: float = 1e-3, atol: float = 1e-6) -> bool:
    """Numeric comparison that tolerates answers computed by gradient descent or by hand."""
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False
    e = np.asarray(expected, dtype=float)
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=rtol, atol=atol))
