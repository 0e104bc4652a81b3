"""Two-layer linear networks: the setting of Kumar et al. 2022, Section 3 (written out in docs/theory.md).

Inputs x in R^d, features B x (B in R^{k x d}), head v in R^k, prediction v^T B x. The truth is
y = w*^T x with w* = B*^T v*; B* and the pretrained B0 have orthonormal rows. Training inputs
(rows of X) span a subspace S of dimension m, with 1 <= m < d - k (over-parameterised: S-perp has
room for all k feature directions).

Losses (e = B^T v - w* is the error of the effective linear predictor):

* training loss  L(v, B) = ||X B^T v - Y||^2 = e^T M e,   M = X^T X;
* ID loss        e^T P_S e  (squared error averaged over isotropic inputs in S);
* OOD loss       e^T Sigma e, Sigma = E[x x^T] under the OOD distribution (identity by default).

Training is plain gradient descent on the training loss, with gradients
grad_v = 2 B M e and grad_B = 2 v (M e)^T:

* LP trains v with B = B0 frozen, from v = 0;
* FT trains (v, B) from (v0, B0);
* LP-FT is FT from (v_lp, B0), where v_lp is LP's limit (the minimum-norm least-squares head,
  which is where LP's gradient descent from v = 0 converges).

**Step rule** (so that gradient descent tracks gradient flow, the object of the theorems). Along
any (v, B) the Hessian of the training loss is bounded by

    lambda_hat = 2 lambda_max(M) (||B||_2^2 + ||v||^2) + 2 ||M e||.

We evaluate it at the start, with ||v||^2 replaced by ||v0||^2 + ||w*||^2 (the head may have to grow
to ||v*|| = ||w*||), and take eta = c / lambda_hat with c = STEP_C = 0.05: forty times below the
stability limit 2 / lambda_hat, so one step moves the parameters by a few percent of what the
local curvature allows and the discrete path follows the flow to O(c). Runs that are compared on
one time axis share the smallest eta their rules give. Time is reported as t = step * eta, the
gradient-flow time.

Numpy/scipy only: this module imports neither torch nor widgets nor matplotlib.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import orthogonal_procrustes

from lpft_edu import theory

STEP_C = 0.05
DEFAULT_STEPS = 2000
DEFAULT_RECORD_EVERY = 10
# A predictor this large means gradient descent blew up; no setting of the lesson gets near it.
DIVERGENCE_LIMIT = 1e6
METHODS = ("LP", "FT", "LP-FT")
# Singular values of X B0^T below this fraction of ||X|| ||B0|| are rounding noise (see feature_rank).
RANK_TOL = 1e-10
# Run.settled's rule: over the last 10% of the run no loss moved by more than 1% (or 1e-10 absolute).
SETTLE_WINDOW, SETTLE_RTOL, SETTLE_ATOL = 0.1, 0.01, 1e-10


class LinearSetupError(ValueError):
    """A setting of the linear model that cannot be built; the message says what to change.

    The message is a template whose fields name the parameters a learner can change, e.g.
    ``"Move {m} down to 5 or less"``. ``str(error)`` names the function arguments (for code that
    calls this module); an app shows the same message naming its own controls with
    :meth:`render` (a ``KeyError`` there means the app has no control for that parameter).
    """

    ARGUMENTS = {"d": "the argument d", "k": "the argument k", "m": "the argument m (dim S)",
                 "angle_deg": "the argument angle_deg", "phi": "the argument phi", "branch": "the argument branch",
                 "eps": "the argument eps", "w_norm": "the argument w_norm", "n": "the argument n",
                 "Sigma": "the argument Sigma", "head_orthogonal": "the argument head_orthogonal",
                 "c": "the step constant (argument c)"}

    def __init__(self, template: str):
        self.template = template
        super().__init__(self.render(self.ARGUMENTS))

    @property
    def parameters(self) -> set[str]:
        """The parameters the message asks the learner to change."""
        return {field for _, field, _, _ in string.Formatter().parse(self.template) if field}

    def render(self, names: dict[str, str]) -> str:
        """The message with each parameter named as ``names`` says (KeyError if one is missing)."""
        return self.template.format_map({p: names[p] for p in self.parameters})


# -- feature error (rotation-aligned distance) ----------------------------------------------------

def procrustes_rotation(B0: np.ndarray, B_star: np.ndarray) -> np.ndarray:
    """The k x k orthogonal U minimising ||B0 - U B*||_F (scipy's orthogonal Procrustes solver)."""
    # orthogonal_procrustes(A, C) minimises ||A R - C||_F; with A = B*^T, C = B0^T we get R = U^T.
    R, _ = orthogonal_procrustes(np.atleast_2d(B_star).T, np.atleast_2d(B0).T)
    return R.T


def feature_error(B0: np.ndarray, B_star: np.ndarray) -> float:
    """eps = d(B0, B*) = ||B0 - U B*||_2 with U the Procrustes rotation.

    Procrustes is Frobenius-optimal; for every instance this module constructs (B0 B*^T symmetric
    positive semi-definite) the same U = I is also optimal in the spectral norm, so this is exactly
    the paper's min over rotations of the spectral norm. For arbitrary pairs it is an upper bound.
    """
    U = procrustes_rotation(B0, B_star)
    return float(np.linalg.norm(np.atleast_2d(B0) - U @ np.atleast_2d(B_star), ord=2))


# -- instances -------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Instance:
    """One over-parameterised regression problem and a pretrained model for it."""

    X: np.ndarray  # (n, d) training inputs, spanning S
    B_star: np.ndarray  # (k, d) ground-truth features, orthonormal rows
    v_star: np.ndarray  # (k,) ground-truth head
    B0: np.ndarray  # (k, d) pretrained features, orthonormal rows
    v0: np.ndarray  # (k,) FT's initial head
    S: np.ndarray  # (d, m) orthonormal basis of S
    S_perp: np.ndarray  # (d, d - m) orthonormal basis of S-perp
    Sigma: np.ndarray  # (d, d) OOD second-moment matrix
    requested: dict = field(default_factory=dict)  # the construction's targets, for display

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @property
    def k(self) -> int:
        return self.B0.shape[0]

    @property
    def m(self) -> int:
        return self.S.shape[1]

    @property
    def w_star(self) -> np.ndarray:
        return self.B_star.T @ self.v_star

    @property
    def Y(self) -> np.ndarray:
        return self.X @ self.w_star

    @property
    def M(self) -> np.ndarray:
        return self.X.T @ self.X

    @property
    def P_S(self) -> np.ndarray:
        return self.S @ self.S.T

    # -- the quantities the theorems are about ---------------------------------------------------
    @property
    def eps(self) -> float:
        return feature_error(self.B0, self.B_star)

    @property
    def cos_theta_max(self) -> float:
        return theory.cos_theta_max(self.B0, self.S_perp)

    @property
    def phi(self) -> float:
        return theory.head_alignment_error(self.v0, self.v_star)

    @property
    def sigma_min(self) -> float:
        return float(np.linalg.eigvalsh(self.Sigma)[0])

    @property
    def w_norm(self) -> float:
        return float(np.linalg.norm(self.w_star))

    # -- the hypotheses the results need (docs/theory.md, "What each result needs") ----------------
    @property
    def feature_rank(self) -> int:
        """rank(X B0^T): Proposition 3.7 needs it to equal k (the training data see every feature)."""
        return feature_rank(self.X, self.B0)

    @property
    def features_inside_S(self) -> bool:
        """R0 lies inside S (no feature reads S-perp): then FT cannot distort what OOD inputs see."""
        return bool(np.linalg.norm(self.B0 @ self.S_perp, ord=2) <= 1e-9)

    @property
    def cos_theta_max_star_S(self) -> float:
        """cos theta_max(R*, S): Theorem 3.4 needs it non-zero (it is 0 whenever k > dim S)."""
        return theory.cos_theta_max(self.B_star, self.S)

    @property
    def cos_theta_max_star_S_perp(self) -> float:
        """cos theta_max(R*, S-perp): Theorem 3.4 needs it non-zero (it is ~0 when R* lies in S)."""
        return theory.cos_theta_max(self.B_star, self.S_perp)

    def bound(self) -> float:
        """This package's lower bound on sqrt(FT's OOD loss) (Theorem 3.3's shape; <= 0: vacuous)."""
        return theory.ft_lower_bound(self.cos_theta_max, self.phi, self.w_norm, self.eps, self.sigma_min)

    @property
    def vacuous_from_eps(self) -> float:
        """The feature error from which the bound says nothing: eps ||w*|| >= cos theta_max h(phi, ||w*||)."""
        return theory.vacuous_from_eps(self.cos_theta_max, self.phi, self.w_norm)

    def loss_bound(self) -> float:
        """The bound on FT's OOD loss itself: max(bound, 0)^2 (0: vacuous, it says nothing)."""
        return max(self.bound(), 0.0) ** 2

    def with_Sigma(self, Sigma: np.ndarray) -> "Instance":
        return Instance(self.X, self.B_star, self.v_star, self.B0, self.v0, self.S, self.S_perp,
                        _check_sigma(Sigma, self.d), dict(self.requested))

    def with_v0(self, v0: np.ndarray) -> "Instance":
        return Instance(self.X, self.B_star, self.v_star, self.B0, np.array(v0, float).reshape(self.k), self.S,
                        self.S_perp, self.Sigma, dict(self.requested))

    # -- losses, vectorised over leading axes of v (..., k) and B (..., k, d) --------------------
    def error(self, v: np.ndarray, B: np.ndarray) -> np.ndarray:
        return np.einsum("...k,...kd->...d", v, B) - self.w_star

    def train_loss(self, v, B) -> np.ndarray:
        e = self.error(v, B)
        return np.einsum("...d,de,...e->...", e, self.M, e)

    def id_loss(self, v, B) -> np.ndarray:
        e = self.error(v, B) @ self.S
        return np.einsum("...m,...m->...", e, e)

    def ood_loss(self, v, B) -> np.ndarray:
        e = self.error(v, B)
        return np.einsum("...d,de,...e->...", e, self.Sigma, e)


def check_dims(d: int, k: int, m: int) -> None:
    """Raise :class:`LinearSetupError` unless 1 <= m < d - k (and d, k >= 1)."""
    if k < 1:
        raise LinearSetupError(f"The network needs at least one feature (k = {k}): move {{k}} up.")
    if d < k + 2:
        raise LinearSetupError(f"With k = {k} features the input dimension must be at least k + 2 = {k + 2} "
                               f"(got d = {d}): move {{k}} down.")
    if m < 1:
        raise LinearSetupError(f"The training data must span at least one direction (dim S = {m}): "
                               "move {m} up to 1 or more.")
    if m >= d - k:
        raise LinearSetupError(
            f"dim S = {m} is too large: the theory needs dim S < d - k = {d} - {k} = {d - k}, so that the "
            f"directions the training data never sees (S-perp) have room for all {k} features. "
            f"Move {{m}} down to {d - k - 1} or less, or {{k}} down.")


def _random_orthonormal(rows: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """(rows, dim) with orthonormal rows, uniformly distributed (QR of a Gaussian, sign-fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, rows)))
    return (q * np.sign(np.diag(r))).T


def _check_sigma(Sigma, d: int) -> np.ndarray:
    Sigma = np.asarray(Sigma, float)
    if Sigma.shape != (d, d):
        raise LinearSetupError(f"{{Sigma}} must be a {d} x {d} matrix (got shape {Sigma.shape}).")
    if not np.allclose(Sigma, Sigma.T, atol=1e-12 * max(1.0, np.abs(Sigma).max())):
        raise LinearSetupError("{Sigma} is a second-moment matrix E[x x^T]: it must be symmetric.")
    if np.linalg.eigvalsh(Sigma)[0] <= 0:
        raise LinearSetupError("{Sigma} must be positive definite (the OOD inputs must reach every direction).")
    return Sigma


def head_with_error(v_star: np.ndarray, phi: float, branch: str = "below", orthogonal: float = 0.0,
                    rng: np.random.Generator | None = None) -> np.ndarray:
    """An initial head v0 with head alignment error exactly ``phi``.

    v0 = beta v*/||v*|| + (a part orthogonal to v*, of norm ``orthogonal``), with
    beta^2 ||v*||^2 = ||v*||^4 - phi^2 ("below": the head is shorter than v* along v*) or
    ||v*||^4 + phi^2 ("above"). The orthogonal part does not change phi (needs k >= 2).
    """
    v_star = np.atleast_1d(np.asarray(v_star, float))
    s2 = float(v_star @ v_star)
    if phi < 0 or not np.isfinite(phi):
        raise LinearSetupError(f"The head alignment error must be a non-negative number (got {phi}): change {{phi}}.")
    if branch == "below":
        if phi ** 2 > s2 ** 2 * (1 + 1e-12):
            raise LinearSetupError(
                f"With the initial head shorter than v*, the head alignment error can be at most "
                f"||v*||^2 = {s2:.3g} (got {phi:.3g}): move {{phi}} down to {s2:.3g} or less, or set {{branch}} "
                "to a head longer than v*.")
        inner2 = max(s2 ** 2 - phi ** 2, 0.0)
    elif branch == "above":
        inner2 = s2 ** 2 + phi ** 2
    else:
        raise ValueError(f"branch must be 'below' or 'above', not {branch!r}")
    v0 = np.sqrt(inner2 / s2) * v_star / np.sqrt(s2)
    if orthogonal:
        if v_star.size < 2:
            raise LinearSetupError("With k = 1 there is no direction orthogonal to v*: set {head_orthogonal} to 0.")
        rng = rng or np.random.default_rng(0)
        u = rng.standard_normal(v_star.size)
        u -= (u @ v_star) / s2 * v_star
        v0 = v0 + orthogonal * u / np.linalg.norm(u)
    return v0


def construct_instance(d: int = 10, k: int = 2, m: int = 4, *, angle_deg: float | None = None,
                       phi: float | None = None, eps: float = 0.0, n: int | None = None, w_norm: float = 1.0,
                       branch: str = "below", head_orthogonal: float = 0.0, head_scale: float = 1.0,
                       spread_angles: bool = False, Sigma: np.ndarray | None = None, rotate: bool = True,
                       seed: int = 0) -> Instance:
    """Build an instance with requested geometry (all targets are met to rounding error).

    * ``angle_deg``: the largest principal angle theta_max between R0 = rowspace(B0) and S-perp, so
      cos theta_max(R0, S-perp) = cos(angle_deg). Each feature row is b_i = cos(theta_i) f_i +
      sin(theta_i) s_i with orthonormal f_i in S-perp and s_i in S, theta_i = angle_deg (or, with
      ``spread_angles``, theta_1 = angle_deg and the others uniform in [0, angle_deg]); rows beyond
      dim S lie in S-perp. ``None``: B0 is a uniformly random orthonormal k x d matrix.
    * ``phi``: the head alignment error of v0 (see :func:`head_with_error`); ``None``: v0 is Gaussian
      with E||v0||^2 = head_scale^2.
    * ``eps``: the feature error d(B0, B*). B* = cos(a) B0 + sin(a) G with orthonormal rows G
      orthogonal to R0 and 2 sin(a/2) = eps (so eps <= sqrt(2)); then B0 B*^T is positive
      semi-definite and diagonal, U = I is the optimal rotation, and v* is directly comparable to v0.
    * ``n`` training inputs (default 4 m): Gaussian in S, whitened so that M = X^T X = P_S.
    * ``rotate``: apply a random rotation of R^d (False keeps S = first m coordinate axes: pictures).
    """
    check_dims(d, k, m)
    if not (0.0 <= eps <= np.sqrt(2.0)):
        raise LinearSetupError(f"The feature error eps must lie in [0, sqrt(2)] ~ [0, 1.41] (got {eps:g}): "
                               "change {eps}.")
    if angle_deg is not None and not (0.0 <= angle_deg <= 90.0):
        raise LinearSetupError(f"The principal angle must lie between 0 and 90 degrees (got {angle_deg:g}): "
                               "change {angle_deg}.")
    if w_norm <= 0:
        raise LinearSetupError("The ground truth w* must be non-zero: make {w_norm} positive.")
    rng = np.random.default_rng(seed)
    Q = _random_orthonormal(d, d, rng).T if rotate else np.eye(d)
    S, S_perp = Q[:, :m], Q[:, m:]

    if angle_deg is None:
        B0 = _random_orthonormal(k, d, rng)
    else:
        theta = np.zeros(k)
        j = min(k, m)  # rows that can lean into S; the rest lie in S-perp (theta = 0)
        theta[:j] = np.deg2rad(angle_deg)
        if spread_angles and j > 1:
            theta[1:j] = rng.uniform(0.0, np.deg2rad(angle_deg), j - 1)
        F = _random_orthonormal(k, d - m, rng) @ S_perp.T  # (k, d) orthonormal rows in S-perp
        E = _random_orthonormal(j, m, rng) @ S.T  # (j, d) orthonormal rows in S
        B0 = np.cos(theta)[:, None] * F
        B0[:j] += np.sin(theta[:j])[:, None] * E
        B0 = _random_orthonormal(k, k, rng) @ B0  # mix the rows: same row space, no special basis

    # B*: rotate (up to) every row of B0 by the angle a towards directions orthogonal to R0.
    a = 2.0 * np.arcsin(eps / 2.0)
    r = min(k, d - k)
    G = rng.standard_normal((r, d))
    G -= G @ B0.T @ B0
    # (r, d) orthonormal rows, orthogonal to R0. The signs are fixed (Gram-Schmidt's convention):
    # a raw Householder QR flips a row's sign whenever a pivot changes sign, and then B* (and the
    # OOD loss) would jump between neighbouring angles of the same seed.
    q, rr = np.linalg.qr(G.T)
    G = (q * np.sign(np.diag(rr))).T
    B_star = B0.copy()
    B_star[:r] = np.cos(a) * B0[:r] + np.sin(a) * G

    v_star = rng.standard_normal(k)
    v_star *= w_norm / np.linalg.norm(v_star)  # ||w*|| = ||v*|| since B* has orthonormal rows
    if phi is None:
        v0 = head_scale / np.sqrt(k) * rng.standard_normal(k)
    else:
        v0 = head_with_error(v_star, phi, branch, head_orthogonal, rng)

    n = 4 * m if n is None else int(n)
    if n < m:
        raise LinearSetupError(f"{n} training inputs cannot span a {m}-dimensional S: set {{n}} to at least {m}.")
    # Gaussian coefficients, whitened so that X^T X = P_S exactly: every direction of S is seen
    # equally, which keeps gradient descent well conditioned (the theory only needs X to span S).
    Z = rng.standard_normal((n, m))
    Z = Z @ np.linalg.inv(np.linalg.cholesky(Z.T @ Z)).T
    X = Z @ S.T
    Sigma = np.eye(d) if Sigma is None else _check_sigma(Sigma, d)
    requested = {"d": d, "k": k, "m": m, "angle_deg": angle_deg, "phi": phi, "eps": eps, "w_norm": w_norm,
                 "seed": seed}
    return Instance(X, B_star, v_star, B0, v0, S, S_perp, Sigma, requested)


# -- training ------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Run:
    """One gradient-descent run, recorded every few steps."""

    name: str
    t: np.ndarray  # (R,) gradient-flow time = step * eta of each record
    v: np.ndarray  # (R, k)
    B: np.ndarray  # (R, k, d)
    eta: float
    train_loss: np.ndarray  # (R,)
    id_loss: np.ndarray  # (R,)
    ood_loss: np.ndarray  # (R,)

    @property
    def final(self) -> dict[str, float]:
        return {"train": float(self.train_loss[-1]), "id": float(self.id_loss[-1]), "ood": float(self.ood_loss[-1])}

    def settled(self, window: float = SETTLE_WINDOW, rtol: float = SETTLE_RTOL, atol: float = SETTLE_ATOL) -> bool:
        """Whether the run's final numbers can be read as its limit, by a stated rule: over the last
        ``window`` of the run's time, no loss (training, ID, OOD) changed by more than ``rtol`` of its
        final value (or by more than ``atol``, for losses that are zero to rounding).

        A rule about the recorded run, not a proof: a run creeping away from a saddle point slowly
        enough can pass it. LP's limit is known exactly (:func:`lp_head`); compare with it instead.
        """
        start = int(np.searchsorted(self.t, (1.0 - window) * self.t[-1]))
        for loss in (self.train_loss, self.id_loss, self.ood_loss):
            tail = loss[start:]
            if np.max(np.abs(tail - tail[-1])) > rtol * abs(tail[-1]) + atol:
                return False
        return True


def feature_rank(X: np.ndarray, B0: np.ndarray) -> int:
    """rank(X B0^T): how many feature directions the training data see (k when every one is seen).

    Singular values below RANK_TOL * ||X||_2 * ||B0||_2 count as zero. A relative cut-off (numpy's
    default) would not do: when X B0^T is zero in exact arithmetic (every feature in S-perp), its
    computed entries are rounding noise ~1e-17, and relative to its own largest singular value
    that noise looks like full rank.
    """
    XB = X @ B0.T
    scale = np.linalg.norm(X, ord=2) * np.linalg.norm(B0, ord=2)
    return int(np.sum(np.linalg.svd(XB, compute_uv=False) > RANK_TOL * scale))


def lp_head(inst: Instance, B0: np.ndarray | None = None) -> np.ndarray:
    """LP's limit: the minimum-norm least-squares head for frozen features (LP's GD from v = 0 ends here).

    Directions of the head that the training data cannot see (singular values of X B0^T below the
    cut-off of :func:`feature_rank`) get 0, as LP's gradient descent from v = 0 leaves them.
    """
    B0 = inst.B0 if B0 is None else B0
    XB = inst.X @ B0.T
    s_max = float(np.linalg.norm(XB, ord=2))
    cutoff = RANK_TOL * np.linalg.norm(inst.X, ord=2) * np.linalg.norm(B0, ord=2)
    if s_max <= cutoff:  # the training data see none of the features: LP never moves from v = 0
        return np.zeros(B0.shape[0])
    return np.linalg.lstsq(XB, inst.Y, rcond=cutoff / s_max)[0]


def step_size(inst: Instance, v0: np.ndarray, B0: np.ndarray, c: float = STEP_C) -> float:
    """eta = c / lambda_hat, the step rule of the module docstring."""
    lam_M = float(np.linalg.eigvalsh(inst.M)[-1])
    e0 = B0.T @ v0 - inst.w_star
    w2 = float(inst.w_star @ inst.w_star)
    lam = 2.0 * lam_M * (np.linalg.norm(B0, ord=2) ** 2 + float(v0 @ v0) + w2) + 2.0 * np.linalg.norm(inst.M @ e0)
    return float(c / lam)


def _initial_state(inst: Instance, method: str) -> tuple[np.ndarray, np.ndarray, bool]:
    if method == "LP":
        return np.zeros(inst.k), inst.B0, False
    if method == "FT":
        return inst.v0, inst.B0, True
    if method == "LP-FT":
        return lp_head(inst), inst.B0, True
    raise ValueError(f"method must be one of {METHODS}, not {method!r}")


def gradient_descent(v0: np.ndarray, B0: np.ndarray, M: np.ndarray, w_star: np.ndarray, eta: np.ndarray,
                     train_B: np.ndarray, steps: int, record_every: int) -> tuple[np.ndarray, np.ndarray]:
    """Batched gradient descent on e^T M e, e = B^T v - w*, for b problems at once.

    Shapes: v0 (b, k), B0 (b, k, d), M (b, d, d), w_star (b, d), eta (b,), train_B (b,) bool.
    Returns v (R, b, k) and B (R, b, k, d) at steps 0, record_every, 2 record_every, ..., steps.
    One batch costs about as much per step as a single problem (the arrays are tiny), which is what
    makes the app's three runs and the lesson's phase diagram fast.
    """
    if steps % record_every:
        raise ValueError("steps must be a multiple of record_every")
    v = np.array(v0, float)
    B = np.array(B0, float)
    R = steps // record_every + 1
    vs = np.empty((R,) + v.shape)
    Bs = np.empty((R,) + B.shape)
    vs[0], Bs[0] = v, B
    eta_v = 2.0 * np.asarray(eta, float)[:, None]  # the gradients' factor 2 folded into the step
    eta_B = (eta_v * np.asarray(train_B, float)[:, None])[:, :, None]
    w_star = np.asarray(w_star, float)
    Mt = np.swapaxes(M, -1, -2)
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported by the caller, in words
        _descend(v, B, vs, Bs, Mt, w_star, eta_v, eta_B, record_every)
    return vs, Bs


def _descend(v, B, vs, Bs, Mt, w_star, eta_v, eta_B, record_every) -> None:
    for r in range(1, vs.shape[0]):
        for _ in range(record_every):
            # Batched matmuls on tiny arrays: cheaper per call than einsum, which matters at 10^3 steps.
            e = (v[:, None, :] @ B)[:, 0, :] - w_star  # B^T v - w*
            g = (e[:, None, :] @ Mt)[:, 0, :]  # M e
            gv = (B @ g[:, :, None])[:, :, 0]  # B M e
            B = B - eta_B * (v[:, :, None] * g[:, None, :])
            v = v - eta_v * gv
        vs[r], Bs[r] = v, B


def train_many(jobs: list[tuple[Instance, str]], steps: int = DEFAULT_STEPS, record_every: int = DEFAULT_RECORD_EVERY,
               c: float = STEP_C, eta: float | None = None, shared_eta: bool = True) -> list[Run]:
    """Train several (instance, method) pairs in one batch. All instances must share d and k.

    With ``shared_eta`` every run uses the smallest step the rule gives (one time axis for all);
    otherwise each run uses its own. ``eta`` overrides the rule.
    """
    if not jobs:
        return []
    shapes = {(inst.k, inst.d) for inst, _ in jobs}
    if len(shapes) > 1:
        raise ValueError("train_many needs instances of one shape (k, d); group them first.")
    states = [_initial_state(inst, method) for inst, method in jobs]
    if eta is None:
        etas = np.array([step_size(inst, v, B, c) for (inst, _), (v, B, _) in zip(jobs, states)])
        if shared_eta:
            etas[:] = etas.min()
    else:
        etas = np.full(len(jobs), float(eta))
    vs, Bs = gradient_descent(np.stack([s[0] for s in states]), np.stack([s[1] for s in states]),
                              np.stack([inst.M for inst, _ in jobs]), np.stack([inst.w_star for inst, _ in jobs]),
                              etas, np.array([s[2] for s in states]), steps, record_every)
    runs = []
    recorded = np.arange(vs.shape[0]) * record_every
    for i, (inst, method) in enumerate(jobs):
        v, B = vs[:, i], Bs[:, i]
        w = np.einsum("rk,rkd->rd", v, B)
        if not np.isfinite(w).all() or np.abs(w).max() > DIVERGENCE_LIMIT:
            raise LinearSetupError(f"Gradient descent diverged for {method}: the predictor grew without bound. "
                                   f"Use a smaller {{c}} (got {c:g}).")
        runs.append(Run(method, recorded * etas[i], v, B, float(etas[i]), inst.train_loss(v, B), inst.id_loss(v, B),
                        inst.ood_loss(v, B)))
    return runs


def train(inst: Instance, method: str = "FT", steps: int = DEFAULT_STEPS, record_every: int = DEFAULT_RECORD_EVERY,
          c: float = STEP_C, eta: float | None = None) -> Run:
    """One method on one instance: "LP" (head only, from v = 0), "FT" (from (v0, B0)) or "LP-FT"."""
    return train_many([(inst, method)], steps, record_every, c, eta)[0]


def run_methods(inst: Instance, steps: int = DEFAULT_STEPS, record_every: int = DEFAULT_RECORD_EVERY,
                c: float = STEP_C) -> dict[str, Run]:
    """LP, FT and LP-FT on one instance, in one batch, on a shared time axis."""
    runs = train_many([(inst, m) for m in METHODS], steps, record_every, c)
    return {run.name: run for run in runs}


# -- the lesson's experiments (batched, so each is one gradient-descent loop) --------------------

@dataclass(frozen=True, eq=False)
class RatioSweep:
    """Theorem 3.4: LP's OOD loss against FT's best OOD loss, as the feature error eps shrinks."""

    eps: np.ndarray
    lp_ood: np.ndarray  # LP's converged OOD loss (closed-form LP head)
    ft_best_ood: np.ndarray  # FT's smallest OOD loss over all recorded times

    @property
    def ratio(self) -> np.ndarray:
        return self.lp_ood / self.ft_best_ood

    @property
    def slope(self) -> float:
        """Slope of log(ratio) against log(eps): 2 means the ratio falls like eps^2."""
        return theory.log_log_slope(self.eps, self.ratio)


def ratio_sweep(eps_values, d: int = 10, k: int = 2, m: int = 4, angle_deg: float = 30.0, seed: int = 3,
                steps: int = DEFAULT_STEPS, record_every: int = 20) -> RatioSweep:
    """FT from a random Gaussian head and LP, for the same S, B0 and head, at each eps in ``eps_values``."""
    eps_values = np.asarray(eps_values, float)
    insts = [construct_instance(d, k, m, angle_deg=angle_deg, eps=float(e), seed=seed) for e in eps_values]
    ft = train_many([(inst, "FT") for inst in insts], steps, record_every, shared_eta=False)
    lp = np.array([float(inst.ood_loss(lp_head(inst), inst.B0)) for inst in insts])
    return RatioSweep(eps_values, lp, np.array([r.ood_loss.min() for r in ft]))


@dataclass(frozen=True, eq=False)
class PhaseDiagram:
    """FT's OOD loss and the lower bound (Theorem 3.3's shape) over a grid of (principal angle, head error)."""

    angles_deg: np.ndarray  # (A,)
    phis: np.ndarray  # (P,)
    ft_best_ood: np.ndarray  # (P, A): smallest OOD loss over training
    ft_final_ood: np.ndarray  # (P, A)
    bound: np.ndarray  # (P, A): max(bound, 0)^2, in loss units
    settings: dict


def phase_diagram(angles_deg, phis, d: int = 10, k: int = 2, m: int = 4, eps: float = 0.01, branch: str = "below",
                  seed: int = 0, steps: int = DEFAULT_STEPS, record_every: int = 20) -> PhaseDiagram:
    """One FT run per grid point (all in one batch; each with its own step from the step rule)."""
    angles_deg, phis = np.asarray(angles_deg, float), np.asarray(phis, float)
    insts = [construct_instance(d, k, m, angle_deg=float(a), phi=float(p), eps=eps, branch=branch, seed=seed)
             for p in phis for a in angles_deg]
    runs = train_many([(inst, "FT") for inst in insts], steps, record_every, shared_eta=False)
    shape = (len(phis), len(angles_deg))
    return PhaseDiagram(angles_deg, phis,
                        np.array([r.ood_loss.min() for r in runs]).reshape(shape),
                        np.array([r.ood_loss[-1] for r in runs]).reshape(shape),
                        np.array([inst.loss_bound() for inst in insts]).reshape(shape),
                        {"d": d, "k": k, "m": m, "eps": eps, "branch": branch, "seed": seed})


def drift_by_step(inst: Instance, cs=(0.05, 0.025), time: float | None = None, record_every: int = 10) -> dict[float, Run]:
    """FT on ``inst`` with step constants ``cs`` over the same gradient-flow time (the invariants' plot)."""
    base = step_size(inst, inst.v0, inst.B0, 1.0)
    time = 2000 * max(cs) * base if time is None else time
    out = {}
    for c in cs:
        steps = int(np.ceil(time / (c * base) / record_every)) * record_every
        out[c] = train(inst, "FT", steps=steps, record_every=record_every, eta=c * base)
    return out
