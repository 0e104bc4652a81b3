"""Self-checks for lesson 2's exercises (the linear-network theorems). Each expected answer is computed
from the library at check time, never hard-coded, so the lesson and the checks cannot disagree."""
from __future__ import annotations

import numpy as np

from lpft_edu import theory
from lpft_edu.exercises import close, not_answered, verdict
from lpft_edu.linear import construct_instance, lp_head, ratio_sweep, train

EXERCISE_1 = {"d": 6, "k": 2, "m": 2, "angle_deg": 40.0, "seed": 5}
EXERCISE_2 = {"d": 10, "k": 2, "m": 4, "angle_deg": 30.0, "phi": 0.9, "eps": 0.01, "seed": 0}
EXERCISE_3 = {"d": 10, "k": 2, "m": 4, "angle_deg": 30.0, "eps": 0.0, "seed": 1}
EXERCISE_4_EPS = np.geomspace(0.2, 0.002, 6)


def exercise_instance(number: int):
    """The instance an exercise is about (the same object the check uses)."""
    return construct_instance(**{1: EXERCISE_1, 2: EXERCISE_2, 3: EXERCISE_3}[number])


def check_cos_theta_max(answer) -> None:
    """Exercise 1: cos theta_max(R0, S-perp) for exercise_instance(1)."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    inst = exercise_instance(1)
    expected = theory.cos_theta_max(inst.B0, inst.S_perp)
    if close(answer, expected, rtol=1e-6, atol=1e-9):
        return verdict(True, f"cos theta_max = {expected:.6f}, i.e. theta_max = {np.degrees(np.arccos(expected)):.2f} degrees "
                             "(the construction asked for 40).")
    return verdict(False, "cos theta_max uses the largest principal angle between the feature space and S-perp. "
                          "Check which of your matrices have the spanning vectors as columns, and which angle "
                          "of the returned list is the largest.")


def check_bound(answer) -> None:
    """Exercise 2: the lower bound on FT's OOD loss (loss units, Theorem 3.3's shape) for exercise_instance(2)."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    inst = exercise_instance(2)
    expected = inst.loss_bound()
    if close(answer, expected, rtol=1e-6, atol=1e-12):
        ft = train(inst, "FT")
        return verdict(True, f"The bound is {expected:.4e}; FT's lowest OOD loss over training is {ft.ood_loss.min():.4e}.")
    root = max(inst.bound(), 0.0)
    if close(answer, root, rtol=1e-6):
        return verdict(False, "That is the bound on sqrt(OOD loss). Square it to bound the loss itself.")
    return verdict(False, "Feed the instance's measured angle cosine, head error, ||w*|| and eps to the bound "
                          "function; it bounds the square root of the loss. What does a negative value tell you, "
                          "and what do you do to get a bound on the loss itself?")


def check_lpft_head(answer, tol: float = 1e-12) -> None:
    """Exercise 3: a head from which FT, with perfect features, keeps OOD loss at zero (LP-FT's head)."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to the head vector first.")
    inst = exercise_instance(3)
    try:
        v = np.asarray(answer, float).reshape(inst.k)
    except (TypeError, ValueError):
        return verdict(False, f"`answer` should be a head vector of length k = {inst.k}.")
    run = train(inst.with_v0(v), "FT", steps=1000)
    worst = float(run.ood_loss.max())
    if worst < tol:
        return verdict(True, f"From this head FT's OOD loss stays below {worst:.1e} the whole time: the residual is "
                             "zero, so no gradient flows. That is LP-FT with perfect features (Proposition 3.7).")
    expected = lp_head(inst)
    return verdict(False, f"From this head FT's OOD loss reaches {worst:.2e}. Which head makes the training residual "
                          f"zero with B = B0? (Linear probing finds it; its norm here is {np.linalg.norm(expected):.3f}.)")


def check_ratio_slope(answer) -> None:
    """Exercise 4: the log-log slope of the LP/FT OOD ratio against eps."""
    if not_answered(answer):
        return verdict(False, "Set `answer` to a number first.")
    slope = ratio_sweep(EXERCISE_4_EPS).slope
    if close(answer, slope, rtol=0.0, atol=0.15):
        return verdict(True, f"The measured slope is {slope:.2f}: LP's OOD loss shrinks like eps^2 while FT's stays "
                             "above a positive bound, so the ratio falls like eps^2.")
    return verdict(False, "Fit a straight line to the points (log eps, log ratio) by least squares and take its "
                          "slope (numpy has a polynomial fit).")
