"""Self-checks for lesson 1's exercises (the 2D toy)."""
from __future__ import annotations

import numpy as np

from lpft_edu.exercises import close, not_answered, verdict
from lpft_edu.toy import X_ID, ToySetup, fine_tune, lp_head_closed_form, run_toy


def _number(answer) -> float | None:
    try:
        value = float(np.asarray(answer, dtype=float))
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def check_lp_head(answer, angle_deg: float = 30.0) -> None:
    """Exercise 1: the head LP converges to for the pretrained feature at ``angle_deg``."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    setup = ToySetup(angle_deg=angle_deg)
    expected = lp_head_closed_form(setup.b0, setup.y_id)
    if close(answer, expected):
        return verdict(True, f"LP's head is y_id / (b0 . x_id) = {expected:.6f}.")
    return verdict(False, "With b frozen at b0, what must the prediction on x_id equal once LP has converged? "
                          "Write that as an equation in v and solve it.")


def check_ft_ood_error(answer, angle_deg: float = 30.0, v0: float = 0.0) -> None:
    """Exercise 2: FT's final OOD squared error at ``angle_deg`` with the default optimiser settings."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    ft = run_toy(ToySetup(angle_deg=angle_deg, v0=v0)).ft
    expected = float(ft.ood_error[-1])
    if close(answer, expected, rtol=1e-3, atol=1e-9):
        return verdict(True, f"FT ends with OOD error {expected:.6f}, although it fits x_id.")
    if _number(answer) is not None and close(answer, ft.ood_error[0], rtol=1e-3, atol=1e-9):
        return verdict(False, "That is FT's OOD error before training (step 0). The exercise asks for the last step.")
    return verdict(False, "Train all three methods at this angle with the default settings, take FT's trajectory "
                          "from the result, and read its OOD error at the last step (not at step 0).")


def check_no_distortion_head(answer, angle_deg: float = 30.0, tol: float = 1e-6) -> None:
    """Exercise 3: an initial head from which FT leaves the feature b untouched."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    v0 = _number(answer)
    if v0 is None:
        return verdict(False, "`answer` should be a single number (the initial head v0).")
    setup = ToySetup(angle_deg=angle_deg)
    ft = fine_tune(setup.b0, v0, steps=setup.steps, y_id=setup.y_id)
    moved = float(np.max(np.abs(ft.b - setup.b0)))
    if moved < tol:
        return verdict(True, f"From v0 = {v0:.6f} the residual on x_id is zero, so no gradient flows and b stays at b0. "
                             "That is exactly what LP-FT arranges: it starts FT from the LP head.")
    fits = v0 * float(setup.b0 @ X_ID)
    return verdict(False, f"From v0 = {v0:g}, b moved by {moved:.3g}. The prediction on x_id is {fits:.4f}, "
                          f"but the label is {setup.y_id:g}: when does the gradient vanish?")
