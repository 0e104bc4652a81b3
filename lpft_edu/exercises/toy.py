"""Self-checks for lesson 1's exercises (the 2D toy)."""
from __future__ import annotations

import numpy as np

from lpft_edu.exercises import close, not_answered, verdict
from lpft_edu.toy import X_ID, ToySetup, fine_tune, lp_head_closed_form, run_toy


def check_lp_head(answer, angle_deg: float = 30.0) -> None:
    """Exercise 1: the head LP converges to for the pretrained feature at ``angle_deg``."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    setup = ToySetup(angle_deg=angle_deg)
    expected = lp_head_closed_form(setup.b0, setup.y_id)
    if close(answer, expected):
        return verdict(True, f"LP's head is y_id / (b0 . x_id) = {expected:.6f}.")
    return verdict(False, "LP must make v * (b0 . x_id) equal y_id = w* . x_id. Solve that for v.")


def check_ft_ood_error(answer, angle_deg: float = 30.0, v0: float = 0.0, step: float = 0.1, steps: int = 200) -> None:
    """Exercise 2: FT's final OOD squared error for the given run."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    expected = float(run_toy(ToySetup(angle_deg, v0, step, steps)).ft.ood_error[-1])
    if close(answer, expected, rtol=1e-3, atol=1e-9):
        return verdict(True, f"FT ends with OOD error {expected:.6f}, although it fits x_id.")
    return verdict(False, "Run `run_toy(ToySetup(...))` with exactly these settings and read `.ft.ood_error[-1]`.")


def check_no_distortion_head(answer, angle_deg: float = 30.0, tol: float = 1e-6) -> None:
    """Exercise 3: an initial head from which FT leaves the feature b untouched."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    try:
        v0 = float(answer)
    except (TypeError, ValueError):
        return verdict(False, "`answer` should be a single number (the initial head v0).")
    setup = ToySetup(angle_deg=angle_deg)
    ft = fine_tune(setup.b0, v0, step=0.05, steps=400, y_id=setup.y_id)
    moved = float(np.max(np.abs(ft.b - setup.b0)))
    if moved < tol:
        return verdict(True, f"From v0 = {v0:.6f} the residual on x_id is zero, so no gradient flows and b stays at b0. "
                             "That is exactly what LP-FT arranges: it starts FT from the LP head.")
    fits = v0 * float(setup.b0 @ X_ID)
    return verdict(False, f"From v0 = {v0:g}, b moved by {moved:.3g}. The prediction on x_id is {fits:.4f}, "
                          f"but the label is {setup.y_id:g}: when does the gradient vanish?")
