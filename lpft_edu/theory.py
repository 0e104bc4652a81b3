"""Quantities from the linear theory of Kumar et al. 2022 (Section 3), as plain functions on arrays.

Notation (docs/theory.md): inputs x in R^d, features B x with B in R^{k x d} (orthonormal
rows for B0 and B*), head v in R^k, prediction v^T B x, truth w* = B*^T v*. The training inputs
span S (dim m); S-perp is its orthogonal complement; R0 = rowspace(B0).

Everything here is numpy/scipy only and computes nothing about training: it turns arrays into the
numbers the theorems talk about. Principal angles come from :func:`scipy.linalg.subspace_angles`
(numerically careful for angles near 0 and 90 degrees, which a naive arccos of singular values is
not), and subspace bases from :func:`scipy.linalg.null_space` / :func:`scipy.linalg.orth`.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import null_space, orth, subspace_angles
from scipy.optimize import brentq

__all__ = [
    "row_space",
    "orthogonal_complement",
    "principal_angles",
    "cos_theta_max",
    "head_alignment_error",
    "head_term",
    "ft_lower_bound",
    "ft_ood_loss_lower_bound",
    "vacuous_from_eps",
    "balancedness",
    "balancedness_drift",
    "balancedness_drift_bound",
    "sperp_feature_change",
    "lp_ft_ood_ratio",
    "log_log_slope",
]


# -- subspaces and angles -------------------------------------------------------------------------

def row_space(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis (as columns, d x r) of the row space of ``A``."""
    return orth(np.atleast_2d(A).T)


def orthogonal_complement(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis (as columns) of the complement of ``A``'s row space: S-perp when ``A = X``."""
    return null_space(np.atleast_2d(A))


def principal_angles(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Principal angles (radians, largest first) between the column spaces of ``A`` and ``B``."""
    return subspace_angles(np.atleast_2d(A), np.atleast_2d(B))


def cos_theta_max(B0: np.ndarray, basis: np.ndarray) -> float:
    """cos theta_max(R0, V): the cosine of the largest principal angle between the feature row space
    R0 = rowspace(B0) (dimension k) and the subspace V spanned by the columns of ``basis``.

    Equals the k-th largest singular value of E^T F for orthonormal bases E of R0 and F of V, i.e. the
    smallest length of the part in V of a unit vector of R0. With V = S-perp it is 1 when every
    feature direction lies in S-perp (the training data cannot see the features at all) and 0 when
    some feature direction lies inside S. When dim V < k, some unit vector of R0 is orthogonal to V
    and the value is 0 (``subspace_angles`` would only compare dim V directions).
    """
    B0 = np.atleast_2d(B0)
    basis = np.atleast_2d(basis)
    if basis.shape[1] < np.linalg.matrix_rank(B0):
        return 0.0
    angles = principal_angles(B0.T, basis)
    return float(np.cos(angles[0]))


def head_alignment_error(v0: np.ndarray, v_star: np.ndarray) -> float:
    """phi = sqrt(|(v0^T v*)^2 - (v*^T v*)^2|).

    It is what the balancedness invariant remembers of the initial head. phi = 0 exactly when
    v0^T v* = +-||v*||^2: for v0 = v*, but also for v0 = -v* and for v* plus any vector orthogonal
    to v*. So phi = 0 does not by itself mean that the head is right; it means that the bound
    below has nothing to say.
    """
    v0, v_star = np.atleast_1d(v0).astype(float), np.atleast_1d(v_star).astype(float)
    return float(np.sqrt(abs(float(v0 @ v_star) ** 2 - float(v_star @ v_star) ** 2)))


# -- a lower bound on FT's OOD loss (the shape of Theorem 3.3) ---------------------------------------
#
# The paper's Theorem 3.3 bounds FT's OOD loss from below by an expression that grows with
# cos theta_max(R0, S-perp) and with the head alignment error phi and falls with the feature error
# eps. This package does not reproduce the paper's constants: it proves its own bound of that shape
# from the two invariants of fine-tuning (proof in `head_term` and, written for a reader, in
# docs/theory.md) and uses only that bound.

def _head_residual_bound(delta: float, phi: float, a: float, drift: float = 0.0) -> float:
    """R(delta): lower bound on ||B^T v - B0^T v*|| whenever ||v - v*|| <= delta (see head_term)."""
    norm_B = np.sqrt(1.0 + (a + delta) ** 2 + drift)  # ||B||_2^2 <= 1 + ||v||^2 (+ drift) by balancedness
    gap = max(phi ** 2 - a ** 2 * delta * (2.0 * a + delta) - a ** 2 * drift, 0.0)
    return gap / (a * (1.0 + norm_B)) - delta * norm_B


def head_term(phi: float, w_norm: float, drift: float = 0.0) -> float:
    """h(phi, ||w*||): the head-error factor of the bound (zero iff phi = 0, with ``drift`` = 0).

    Setting: B0 and B* have orthonormal rows and B* is aligned with B0 (replace (B*, v*) by
    (U B*, U v*) for the optimal rotation U: w* does not change), a = ||v*|| = ||w*||,
    P = projector onto S-perp, c = cos theta_max(R0, S-perp). Along gradient flow from (v0, B0) let
    e = B^T v - B0^T v* and delta = ||v - v*||.

    1. Invariant 1 (B P = B0 P) gives P e = P B0^T (v - v*), so ||e|| >= c * delta.
    2. Invariant 2 (B B^T = I + v v^T - v0 v0^T) gives ||B^T v*||^2 - a^2 = (v.v*)^2 - (v0.v*)^2:
       +-phi^2 at v = v*, and it moves by at most a^2 delta (2a + delta) otherwise. Also
       ||B||_2^2 <= 1 + (a + delta)^2. Since e = (B - B0)^T v* + B^T (v - v*) and ||B0^T v*|| = a,
       ||e|| >= | ||B^T v*|| - a | - ||B||_2 delta >= R(delta), a decreasing function with R(0) > 0.
    3. So ||e|| >= max(c delta, R(delta)). With h the fixed point h = R(h): if delta >= h then
       ||e|| >= c h; if delta < h then ||e|| >= R(delta) >= R(h) = h >= c h (c <= 1). Hence
       ||e(t)|| >= c h at every t.

    Feature error and the OOD covariance enter last: B^T v - w* = e + (B0 - B*)^T v*, so
    ||B^T v - w*|| >= c h - eps a, and L_ood >= sigma_min(Sigma) ||B^T v - w*||^2.

    ``drift`` (for gradient descent, where invariant 2 holds only approximately): an upper bound D on
    the spectral norm of (v v^T - B B^T)(t) - (v0 v0^T - B0 B0^T). Step 2 then loses a^2 D from the
    gap and gains D in ||B||_2^2, and the same argument gives a valid bound at that step
    (invariant 1 holds exactly for gradient descent).
    """
    if w_norm <= 0:
        raise ValueError("The bound needs a non-zero ground truth w*.")
    if drift < 0:
        raise ValueError("The drift is a norm: it cannot be negative.")
    if _head_residual_bound(0.0, phi, w_norm, drift) <= 0:
        return 0.0
    hi = _head_residual_bound(0.0, phi, w_norm, drift)  # R(hi) <= R(0) = hi, so the root lies in [0, hi]
    return float(brentq(lambda x: _head_residual_bound(x, phi, w_norm, drift) - x, 0.0, hi, xtol=1e-14, rtol=1e-12))


def ft_lower_bound(cos_theta: float, phi: float, w_norm: float, eps: float, sigma_min: float = 1.0,
                   drift: float = 0.0) -> float:
    """This package's lower bound on sqrt(FT's OOD loss) (negative or zero means vacuous):

        sqrt(L_ood(v_ft(t), B_ft(t))) >= sqrt(sigma_min(Sigma)) * ( cos theta_max(R0, S-perp) * h(phi, ||w*||)
                                                                   - eps * ||w*|| )

    for every time t of gradient flow, with h from :func:`head_term` (proof there and in
    docs/theory.md). Same shape as the paper's Theorem 3.3; the constant is ours. Checked against
    simulated fine-tuning on hundreds of random instances in tests/test_theory.py.
    """
    if sigma_min < 0:
        raise ValueError("sigma_min(Sigma) must be non-negative.")
    return float(np.sqrt(sigma_min) * (cos_theta * head_term(phi, w_norm, drift) - eps * w_norm))


def ft_ood_loss_lower_bound(cos_theta: float, phi: float, w_norm: float, eps: float, sigma_min: float = 1.0) -> float:
    """:func:`ft_lower_bound` in units of the OOD loss itself: max(bound, 0)^2 (0: the bound says nothing)."""
    return max(ft_lower_bound(cos_theta, phi, w_norm, eps, sigma_min), 0.0) ** 2


def vacuous_from_eps(cos_theta: float, phi: float, w_norm: float) -> float:
    """The feature error from which the bound is vacuous: eps * ||w*|| >= cos theta_max * h(phi, ||w*||)."""
    return float(cos_theta * head_term(phi, w_norm) / w_norm)


# -- the two invariants of fine-tuning ------------------------------------------------------------

def balancedness(v: np.ndarray, B: np.ndarray) -> np.ndarray:
    """v v^T - B B^T (k x k), for one (v, B) or stacked along leading axes (..., k) and (..., k, d)."""
    v, B = np.asarray(v, float), np.asarray(B, float)
    return v[..., :, None] * v[..., None, :] - B @ np.swapaxes(B, -1, -2)


def balancedness_drift(v: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Frobenius norm of balancedness(t) - balancedness(0) along a trajectory (T+1, k), (T+1, k, d).

    Invariant 2: exactly zero for gradient flow; gradient descent with step eta drifts by O(eta).
    """
    bal = balancedness(v, B)
    return np.linalg.norm(bal - bal[0], axis=(-2, -1))


def balancedness_drift_bound(eta: float, loss_decrease: float, c: float = 0.0) -> float:
    """What the step size predicts for the balancedness drift of gradient descent.

    One step changes v v^T - B B^T by exactly eta^2 (g_v g_v^T - G_B G_B^T) (the O(eta) terms cancel),
    whose Frobenius norm is at most eta^2 ||grad L||^2. Summing, and using the descent lemma
    L_{t+1} <= L_t - eta (1 - c/2) ||grad L_t||^2 for eta = c / (Hessian bound), gives

        ||drift|| <= eta * (L(0) - L(T)) / (1 - c/2):

    first order in the step, and never more than eta times the training loss at the start.
    """
    return float(eta * loss_decrease / (1.0 - c / 2.0))


def sperp_feature_change(B: np.ndarray, B0: np.ndarray, S_perp: np.ndarray) -> np.ndarray:
    """max over unit x in S-perp of ||(B(t) - B0) x||, for each t (spectral norm of (B(t)-B0) F).

    Invariant 1: features of directions the training data never spans do not move. The rows of
    FT's gradient lie in S, so this is zero for gradient descent too, up to rounding.
    """
    diff = (np.asarray(B, float) - np.asarray(B0, float)) @ S_perp
    return np.linalg.norm(diff, ord=2, axis=(-2, -1))


# -- Theorem 3.4 ----------------------------------------------------------------------------------

def lp_ft_ood_ratio(lp_loss: float, ft_losses) -> float:
    """L_ood(LP) / L_ood(FT at its best recorded time): Theorem 3.4 says this tends to 0 as B0 -> B*.

    Dividing by FT's *smallest* OOD loss over training makes it the strongest form of the claim
    ("at any t": no early-stopping time rescues FT).
    """
    best_ft = float(np.min(np.asarray(ft_losses, float)))
    if best_ft <= 0:
        raise ValueError("FT reached zero OOD loss, so the ratio is undefined (is eps or phi zero?).")
    return float(lp_loss) / best_ft


def log_log_slope(x, y) -> float:
    """Least-squares slope of log y against log x (how fast a ratio falls with eps)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])
