"""The 2D toy example of feature distortion (after Kumar et al. 2022, Figure 2).

Setting: inputs x in R^2, one feature (k = 1), so the feature extractor is a row vector b in R^2
and the head is a scalar v; the model predicts f(x) = v * (b . x). The single training point x_id
lies on the x-axis, out-of-distribution inputs point along the y-axis, and labels come from a
ground-truth linear predictor w*.

We train with gradient descent on the squared loss on x_id,

    L(v, b) = (v * (b . x_id) - y_id)^2,   y_id = w* . x_id,

so the gradients are dL/dv = 2 r (b . x_id) and dL/db = 2 r v x_id with residual r. The second
one is the whole story of feature distortion: b only ever moves along x_id, so b . x_ood is
frozen at its pretrained value while the head v is rescaled to fit x_id.

Step sizes. The loss's curvature differs wildly between the methods and the angles (LP's is
2 (b0 . x_id)^2, which vanishes as b0 turns towards x_ood), so one fixed step cannot suit them
all: it is unstable for some and never converges for others. Each method therefore takes the
step ``step_factor / curvature`` with a bound on the curvature its loss has along its path
(:func:`lp_curvature`, :func:`ft_curvature_bound`). Gradient descent on a quadratic with step
eta and curvature lam contracts the error by |1 - eta * lam| per step: stable for a factor below
2, oscillating above 1, diverging above 2.

Numpy only: this module must not import torch (lessons 1-2 run without it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

X_ID = np.array([1.0, 0.0])
X_OOD = np.array([0.0, 1.0])
W_STAR = np.array([1.0, 1.0])
# Predictions this large mean gradient descent blew up; no sensible setting gets near it.
DIVERGENCE_LIMIT = 1e6
# Below this |b0 . x_id| the pretrained feature is (numerically) blind to the training point.
MIN_ID_PROJECTION = 1e-3
# A run has converged when, at its last step, the ID residual |v (b . x_id) - y_id| and the norm
# of the gradient of the loss it minimises are both at most these.
RESIDUAL_TOL = 1e-6
GRADIENT_TOL = 1e-6
# Small enough that gradient descent ends close to gradient flow (FT's OOD error within 0.006 of
# the closed form at every slider angle); with 500 steps every method converges at every angle.
DEFAULT_STEP_FACTOR = 0.1
DEFAULT_STEPS = 500
# The angle control of the app: (min, max, step) in degrees.
ANGLE_RANGE = (-85.0, 85.0, 0.25)
# What the app calls each setting: messages name the control a learner can move.
CONTROL_NAMES = {
    "angle_deg": "angle(b0, w*) [deg]",
    "v0": "FT initial head v0",
    "step_factor": "step size × curvature",
    "steps": "steps per method",
}


class ToyError(ValueError):
    """A setting of the toy that cannot be trained; the message says which control to move."""


def _control(field: str) -> str:
    return f"'{CONTROL_NAMES[field]}'"


def feature_at_angle(angle_deg: float, w_star: np.ndarray = W_STAR) -> np.ndarray:
    """Unit pretrained feature b0 at ``angle_deg`` (counter-clockwise) from w*'s direction.

    With w* = (1, 1): negative angles turn b0 towards x_id (reached at -45 degrees), positive
    angles towards x_ood (reached at +45 degrees, where b0 is blind to the training point)."""
    base = np.arctan2(w_star[1], w_star[0])
    a = base + np.deg2rad(angle_deg)
    return np.array([np.cos(a), np.sin(a)])


def slider_angles() -> np.ndarray:
    """Every angle the app's slider can take, in degrees."""
    lo, hi, step = ANGLE_RANGE
    return lo + step * np.arange(int(round((hi - lo) / step)) + 1)


def lp_curvature(b0: np.ndarray) -> float:
    """Second derivative of LP's loss in v: 2 (b0 . x_id)^2 (a constant: LP's loss is quadratic)."""
    return 2.0 * float(b0 @ X_ID) ** 2


def ft_curvature_bound(b0: np.ndarray, v0: float, y_id: float) -> float:
    """An upper bound on the largest Hessian eigenvalue of FT's loss along its gradient flow.

    With b1 = b . x_id and the ID prediction p = v b1, the Hessian in (v, b1) is
    2 g g^T + 2 r [[0, 1], [1, 0]] with g = (b1, v), so its largest eigenvalue is at most
    2 |g|^2 + 2 |r|. The flow conserves c = v^2 - b1^2 (balancedness) and moves p monotonically
    from p0 = v0 (b0 . x_id) to y_id, and |g|^2 = v^2 + b1^2 = sqrt(c^2 + 4 p^2). Gradient descent
    only shrinks |c| (each step multiplies it by 1 - 4 eta^2 r^2), so the bound carries over.
    """
    s = float(b0 @ X_ID)
    c = v0**2 - s**2
    p0 = v0 * s
    return 2.0 * math.sqrt(c**2 + 4.0 * max(p0**2, y_id**2)) + 2.0 * abs(p0 - y_id)


@dataclass(frozen=True)
class ToySetup:
    """One configuration of the toy: pretrained feature angle, initial head, optimiser."""

    angle_deg: float = -10.0  # angle between b0 and w* (0 = perfect features; < 0 towards x_id)
    v0: float = 0.0  # initial head for FT (the paper leaves it open; 0 is a common choice)
    step_factor: float = DEFAULT_STEP_FACTOR  # each method's step = step_factor / (its curvature bound)
    steps: int = DEFAULT_STEPS  # steps per method (LP-FT: this many LP steps, then this many FT steps)

    @property
    def b0(self) -> np.ndarray:
        return feature_at_angle(self.angle_deg)

    @property
    def y_id(self) -> float:
        return float(W_STAR @ X_ID)

    def validate(self) -> None:
        """Raise :class:`ToyError` with a learner-facing fix for settings that make no sense."""
        for field in ("angle_deg", "v0", "step_factor"):
            if not math.isfinite(getattr(self, field)):
                raise ToyError(f"{_control(field)} must be a finite number: move that slider.")
        if self.step_factor <= 0:
            raise ToyError(f"{_control('step_factor')} must be positive (got {self.step_factor:g}): move that slider up.")
        if int(self.steps) < 1:
            raise ToyError(f"Train for at least one step: move the {_control('steps')} slider up.")
        if abs(self.b0 @ X_ID) < MIN_ID_PROJECTION:
            raise ToyError(
                f"At {self.angle_deg:g} degrees the pretrained feature b0 is perpendicular to the "
                "training point x_id, so no head can fit it and linear probing is undefined. "
                f"Move the {_control('angle_deg')} slider a few degrees away."
            )


@dataclass(frozen=True)
class Trajectory:
    """Parameters along one gradient-descent run: heads v[t] and features b[t], t = 0..T."""

    name: str
    v: np.ndarray  # shape (T+1,)
    b: np.ndarray  # shape (T+1, 2)
    step: float = 0.0  # the step size of the (last) phase
    trains_feature: bool = True  # whether the (last) phase trains b too (False for LP)

    @property
    def w(self) -> np.ndarray:
        """Effective linear predictor w[t] = v[t] * b[t], shape (T+1, 2)."""
        return self.v[:, None] * self.b

    @property
    def id_error(self) -> np.ndarray:
        """Squared error on the training point x_id at every step."""
        return (self.w @ X_ID - W_STAR @ X_ID) ** 2

    @property
    def ood_error(self) -> np.ndarray:
        """Squared error on the OOD direction x_ood at every step."""
        return (self.w @ X_OOD - W_STAR @ X_OOD) ** 2

    @property
    def final_w(self) -> np.ndarray:
        return self.w[-1]

    @property
    def final_residual(self) -> float:
        """v (b . x_id) - y_id at the last step."""
        return float(self.v[-1] * (self.b[-1] @ X_ID) - W_STAR @ X_ID)

    @property
    def final_gradient_norm(self) -> float:
        """Norm of the gradient of the loss this run minimises, at its last step."""
        r = self.final_residual
        grad_v = 2.0 * r * float(self.b[-1] @ X_ID)
        grad_b = 2.0 * r * float(self.v[-1]) if self.trains_feature else 0.0
        return math.hypot(grad_v, grad_b)

    @property
    def converged(self) -> bool:
        """Both the ID residual and the gradient norm at the last step are within tolerance."""
        return abs(self.final_residual) <= RESIDUAL_TOL and self.final_gradient_norm <= GRADIENT_TOL


def _diverged(name: str, step_factor: float) -> ToyError:
    return ToyError(
        f"Gradient descent diverged for {name}: with {_control('step_factor')} = {step_factor:g} "
        "each step overshoots, and the predictor grew without bound. Move the "
        f"{_control('step_factor')} slider down (try {step_factor / 2:.3g}; below 2 LP is stable)."
    )


def _descend(v: float, b1: float, step: float, steps: int, y_id: float, train_feature: bool,
             name: str, step_factor: float) -> tuple[list[float], list[float]]:
    """Gradient descent on (v, b . x_id), in plain floats (fast, and the loop stops on blow-up)."""
    vs, b1s = [v], [b1]
    for _ in range(steps):
        r = v * b1 - y_id
        if not abs(r) < DIVERGENCE_LIMIT:  # also catches nan
            raise _diverged(name, step_factor)
        # Simultaneous update: both gradients at the current point.
        v, b1 = v - step * 2.0 * r * b1, (b1 - step * 2.0 * r * v) if train_feature else b1
        vs.append(v)
        b1s.append(b1)
    if not abs(v * b1 - y_id) < DIVERGENCE_LIMIT:
        raise _diverged(name, step_factor)
    return vs, b1s


def _trajectory(name, vs, b1s, b_ood, step, trains_feature) -> Trajectory:
    b = np.empty((len(vs), 2))
    b[:, 0], b[:, 1] = b1s, b_ood
    return Trajectory(name, np.asarray(vs, dtype=float), b, step, trains_feature)


def linear_probe(b0: np.ndarray, v0: float, steps: int, y_id: float, step_factor: float = DEFAULT_STEP_FACTOR) -> Trajectory:
    """LP: gradient descent on the head v with the feature b = b0 frozen.

    The step is step_factor / (2 (b0 . x_id)^2), so the residual shrinks by |1 - step_factor| per
    step at every angle."""
    step = step_factor / lp_curvature(b0)
    vs, b1s = _descend(float(v0), float(b0 @ X_ID), step, steps, y_id, False, "linear probing (LP)", step_factor)
    return _trajectory("LP", vs, b1s, float(b0 @ X_OOD), step, False)


def fine_tune(b0: np.ndarray, v0: float, steps: int, y_id: float, step_factor: float = DEFAULT_STEP_FACTOR,
              name: str = "FT") -> Trajectory:
    """FT: gradient descent on head and feature jointly from (v0, b0).

    The update to b is a multiple of x_id, so b . x_ood stays exactly b0 . x_ood (the code only
    updates b . x_id). The step is step_factor / ft_curvature_bound(b0, v0, y_id)."""
    step = step_factor / ft_curvature_bound(b0, v0, y_id)
    vs, b1s = _descend(float(v0), float(b0 @ X_ID), step, steps, y_id, True, f"fine-tuning ({name})", step_factor)
    return _trajectory(name, vs, b1s, float(b0 @ X_OOD), step, True)


def lp_then_ft(b0: np.ndarray, steps: int, y_id: float, step_factor: float = DEFAULT_STEP_FACTOR, v_init: float = 0.0) -> Trajectory:
    """LP-FT: ``steps`` of LP from ``v_init``, then ``steps`` of FT from the probed head.

    Once the probe has converged the FT phase starts with a residual of (numerically) zero, so
    every gradient vanishes and LP-FT stays at LP's solution."""
    lp = linear_probe(b0, v_init, steps, y_id, step_factor)
    ft = fine_tune(b0, float(lp.v[-1]), steps, y_id, step_factor, name="LP-FT")
    return Trajectory("LP-FT", np.concatenate([lp.v, ft.v[1:]]), np.concatenate([lp.b, ft.b[1:]]), ft.step, True)


def lp_head_closed_form(b0: np.ndarray, y_id: float) -> float:
    """The head LP converges to: the unique v with v * (b0 . x_id) = y_id."""
    s = float(b0 @ X_ID)
    if abs(s) < MIN_ID_PROJECTION:
        raise ToyError(f"b0 is perpendicular to x_id: no head fits the training point. "
                       f"Move the {_control('angle_deg')} slider a few degrees away.")
    return y_id / s


@dataclass(frozen=True)
class ToyResult:
    setup: ToySetup
    lp: Trajectory
    ft: Trajectory
    lpft: Trajectory

    @property
    def runs(self) -> tuple[Trajectory, Trajectory, Trajectory]:
        return (self.lp, self.ft, self.lpft)

    def summary(self) -> dict[str, dict[str, float]]:
        """Final ID and OOD squared errors per method."""
        return {
            t.name: {"id_error": float(t.id_error[-1]), "ood_error": float(t.ood_error[-1])}
            for t in self.runs
        }

    def not_converged(self) -> list[str]:
        """Names of the runs that have not converged (see :attr:`Trajectory.converged`)."""
        return [t.name for t in self.runs if not t.converged]

    def ood_feature_drift(self) -> float:
        """max_t |b_ft[t] . x_ood - b0 . x_ood|: zero (exactly) by the invariant."""
        return float(np.max(np.abs(self.ft.b @ X_OOD - self.setup.b0 @ X_OOD)))


def not_converged_note(result: ToyResult) -> str:
    """A learner-facing note naming the runs that have not converged ('' when all have)."""
    names = result.not_converged()
    if not names:
        return ""
    worst = max((t for t in result.runs if t.name in names), key=lambda t: abs(t.final_residual))
    return (f"Not converged after {int(result.setup.steps)} steps: {', '.join(names)} (ID residual "
            f"{abs(worst.final_residual):.1e}; converged means ID residual and gradient norm at most "
            f"{RESIDUAL_TOL:g}). Its numbers are not final: move the {_control('steps')} slider up, or "
            f"the {_control('step_factor')} slider towards 1.")


def run_toy(setup: ToySetup) -> ToyResult:
    """Train LP, FT (from ``setup.v0``) and LP-FT (LP from 0, then FT) on the toy."""
    setup.validate()
    b0, y, steps, f = setup.b0, setup.y_id, int(setup.steps), float(setup.step_factor)
    return ToyResult(
        setup=setup,
        lp=linear_probe(b0, 0.0, steps, y, f),
        ft=fine_tune(b0, setup.v0, steps, y, f),
        lpft=lp_then_ft(b0, steps, y, f),
    )


def ft_endpoint(b0: np.ndarray, v0: float, y_id: float) -> tuple[float, np.ndarray]:
    """Where fine-tuning's gradient flow ends, in closed form.

    Gradient flow is gradient descent in the limit of an infinitesimal step: the parameters
    follow d(v, b)/dt = -grad L. Two facts pin its end point down: the OOD coordinate of b never
    moves, and the flow conserves v^2 - |b|^2 (balancedness), so v^2 - b_1^2 = v0^2 - (b0 . x_id)^2
    =: c. At the end the fit is exact: v b_1 = y_id. Eliminating v gives b_1^4 + c b_1^2 - y_id^2 = 0,
    whose positive root is b_1^2; b_1 keeps the sign of b0 . x_id. Valid for v0 = 0 or any v0 whose
    flow does not pass b_1 through zero (tests compare it with small-step gradient descent).
    """
    s0 = float(b0 @ X_ID)
    if abs(s0) < MIN_ID_PROJECTION and abs(v0) < MIN_ID_PROJECTION:
        raise ToyError("b0 is perpendicular to x_id and v0 = 0: the gradient is zero and FT never starts. "
                       f"Move the {_control('angle_deg')} slider a few degrees away.")
    c = v0**2 - s0**2
    b1 = np.sign(s0 if s0 != 0 else 1.0) * np.sqrt((-c + np.sqrt(c**2 + 4 * y_id**2)) / 2)
    b = b0.copy()
    b[0] = b1
    return float(y_id / b1), b


def _flow_ood_errors(angle_deg: float, v0: float) -> tuple[float, float]:
    """(LP, FT) OOD squared errors at the gradient-flow end points for one angle."""
    b0 = feature_at_angle(angle_deg)
    y = float(W_STAR @ X_ID)
    target = float(W_STAR @ X_OOD)
    v_lp = lp_head_closed_form(b0, y)
    v_ft, b_ft = ft_endpoint(b0, v0, y)
    return (v_lp * (b0 @ X_OOD) - target) ** 2, (v_ft * (b_ft @ X_OOD) - target) ** 2


@dataclass(frozen=True)
class AngleSweep:
    """Final OOD errors of LP and FT (gradient-flow endpoints) over pretrained-feature angles."""

    angles_deg: np.ndarray
    lp_ood: np.ndarray
    ft_ood: np.ndarray

    def lp_wins(self) -> np.ndarray:
        """Boolean mask: angles where LP's OOD error is below FT's."""
        return self.lp_ood < self.ft_ood


def sweep_angles(angles_deg, v0: float = 0.0) -> AngleSweep:
    """LP's and FT's converged OOD errors at each angle, from the closed-form endpoints.

    Angles where b0 is (numerically) perpendicular to x_id are left out."""
    angles = [float(a) for a in np.asarray(angles_deg, dtype=float)
              if abs(feature_at_angle(float(a)) @ X_ID) >= MIN_ID_PROJECTION]
    errors = np.array([_flow_ood_errors(a, v0) for a in angles]).reshape(-1, 2)
    return AngleSweep(np.array(angles), errors[:, 0], errors[:, 1])


def lp_wins_interval(v0: float = 0.0) -> tuple[float, float]:
    """The open interval of angles (degrees, within the app's range) on which LP's converged OOD
    error is below FT's, for gradient flow from v0. Its ends are found to 1e-10 degrees.

    The set is one interval for v0 = 0 (a ValueError says so otherwise). Why it is lopsided: LP
    predicts tan(45 deg + angle) on x_ood (truth 1); FT from v0 = 0 predicts the same b0 . x_ood
    divided by a larger b . x_id, a shrunken version of LP's prediction. Below 0 degrees LP
    undershoots and FT undershoots more; above 0 LP overshoots and FT's shrinking first helps,
    then (from the upper end on) wins."""
    sweep = sweep_angles(slider_angles(), v0)
    wins = sweep.lp_wins().astype(int)
    changes = np.flatnonzero(np.diff(wins))
    if wins.sum() == 0 or len(changes) != 2 or wins[0] or wins[-1]:
        raise ValueError(f"For v0 = {v0:g} the angles where LP wins are not a single interval inside the range.")

    def gap(angle: float) -> float:
        lp, ft = _flow_ood_errors(angle, v0)
        return lp - ft

    a = sweep.angles_deg
    lo = brentq(gap, a[changes[0]], a[changes[0] + 1], xtol=1e-10)
    hi = brentq(gap, a[changes[1]], a[changes[1] + 1], xtol=1e-10)
    return float(lo), float(hi)
