"""The paper's 2D toy example of feature distortion (Kumar et al. 2022, Figure 2).

Setting: inputs x in R^2, one feature (k = 1) so the feature extractor
is a row vector b in R^2 and the head is a scalar v; the model predicts f(x) = v * (b . x).
The single training point x_id lies on the x-axis, out-of-distribution inputs point along the
y-axis, and labels come from a ground-truth linear predictor w*.

We train with plain gradient descent on the squared loss on x_id,

    L(v, b) = (v * (b . x_id) - y_id)^2,   y_id = w* . x_id,

so the gradients are dL/dv = 2 r (b . x_id) and dL/db = 2 r v x_id with residual r. The second
one is the whole story of feature distortion: b only ever moves along x_id, so b . x_ood is
frozen at its pretrained value while the head v is rescaled to fit x_id.

Numpy only: this module must not import torch (lessons 1-2 run without it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

X_ID = np.array([1.0, 0.0])
X_OOD = np.array([0.0, 1.0])
W_STAR = np.array([1.0, 1.0])
# Predictors this large mean gradient descent blew up; no sensible setting gets near it.
DIVERGENCE_LIMIT = 1e6
# Below this |b0 . x_id| the pretrained feature is (numerically) blind to the training point.
MIN_ID_PROJECTION = 1e-3


class ToyError(ValueError):
    """A setting of the toy that cannot be trained; the message says which control to move."""


def feature_at_angle(angle_deg: float, w_star: np.ndarray = W_STAR) -> np.ndarray:
    """Unit pretrained feature b0 at ``angle_deg`` (counter-clockwise) from w*'s direction."""
    base = np.arctan2(w_star[1], w_star[0])
    a = base + np.deg2rad(angle_deg)
    return np.array([np.cos(a), np.sin(a)])


@dataclass(frozen=True)
class ToySetup:
    """One configuration of the toy: pretrained feature angle, initial head, optimiser."""

    angle_deg: float = -10.0  # angle between b0 and w* (0 = perfect features)
    v0: float = 0.0  # initial head for FT (the paper leaves it open; 0 is a common choice)
    step: float = 0.1  # gradient-descent step size
    steps: int = 300  # steps per method (LP-FT: this many LP steps, then this many FT steps)

    @property
    def b0(self) -> np.ndarray:
        return feature_at_angle(self.angle_deg)

    @property
    def y_id(self) -> float:
        return float(W_STAR @ X_ID)

    def validate(self) -> None:
        """Raise :class:`ToyError` with a learner-facing fix for settings that make no sense."""
        if not np.isfinite([self.angle_deg, self.v0, self.step]).all():
            raise ToyError("All settings must be finite numbers.")
        if self.step <= 0:
            raise ToyError(f"The step size must be positive (got {self.step}); move the step slider up.")
        if int(self.steps) < 1:
            raise ToyError("Train for at least one step; move the steps slider up.")
        if abs(self.b0 @ X_ID) < MIN_ID_PROJECTION:
            raise ToyError(
                f"At {self.angle_deg:g} degrees the pretrained feature b0 is perpendicular to the "
                "training point x_id, so no head can fit it and linear probing is undefined. "
                "Move the angle slider a few degrees away."
            )


@dataclass(frozen=True)
class Trajectory:
    """Parameters along one gradient-descent run: heads v[t] and features b[t], t = 0..T."""

    name: str
    v: np.ndarray  # shape (T+1,)
    b: np.ndarray  # shape (T+1, 2)

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


def _check_finite(name: str, v: np.ndarray, b: np.ndarray, step: float) -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        w = v[:, None] * b
    if not np.isfinite(w).all() or np.abs(w).max() > DIVERGENCE_LIMIT:
        raise ToyError(
            f"Gradient descent diverged for {name} with step size {step:g}: the predictor grew "
            f"without bound. Move the step-size slider down (try {step / 4:.3g})."
        )


def linear_probe(b0: np.ndarray, v0: float, step: float, steps: int, y_id: float) -> Trajectory:
    """LP: gradient descent on the head v with the feature b = b0 frozen."""
    s = float(b0 @ X_ID)
    v = np.empty(steps + 1)
    v[0] = v0
    with np.errstate(over="ignore", invalid="ignore"):
        _lp_steps(v, s, step, steps, y_id)
    b = np.repeat(b0[None, :], steps + 1, axis=0)
    _check_finite("linear probing", v, b, step)
    return Trajectory("LP", v, b)


def _lp_steps(v, s, step, steps, y_id):
    for t in range(steps):
        r = v[t] * s - y_id
        v[t + 1] = v[t] - step * 2.0 * r * s


def fine_tune(b0: np.ndarray, v0: float, step: float, steps: int, y_id: float, name: str = "FT") -> Trajectory:
    """FT: gradient descent on head and feature jointly from (v0, b0)."""
    v = np.empty(steps + 1)
    b = np.empty((steps + 1, 2))
    v[0], b[0] = v0, b0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            r = v[t] * (b[t] @ X_ID) - y_id
            grad_v = 2.0 * r * (b[t] @ X_ID)
            grad_b = 2.0 * r * v[t] * X_ID  # lies along x_id: the OOD coordinate of b never moves
            v[t + 1] = v[t] - step * grad_v
            b[t + 1] = b[t] - step * grad_b
    _check_finite(name, v, b, step)
    return Trajectory(name, v, b)


def lp_then_ft(b0: np.ndarray, step: float, steps: int, y_id: float, v_init: float = 0.0) -> Trajectory:
    """LP-FT: ``steps`` of LP from ``v_init``, then ``steps`` of FT from the probed head."""
    lp = linear_probe(b0, v_init, step, steps, y_id)
    ft = fine_tune(b0, float(lp.v[-1]), step, steps, y_id, name="LP-FT")
    return Trajectory("LP-FT", np.concatenate([lp.v, ft.v[1:]]), np.concatenate([lp.b, ft.b[1:]]))


def lp_head_closed_form(b0: np.ndarray, y_id: float) -> float:
    """The head LP converges to: the unique v with v * (b0 . x_id) = y_id."""
    s = float(b0 @ X_ID)
    if abs(s) < MIN_ID_PROJECTION:
        raise ToyError("b0 is perpendicular to x_id: no head fits the training point.")
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

    def ood_feature_drift(self) -> float:
        """max_t |b_ft[t] . x_ood - b0 . x_ood|: zero (exactly) by the invariant."""
        return float(np.max(np.abs(self.ft.b @ X_OOD - self.setup.b0 @ X_OOD)))


def run_toy(setup: ToySetup) -> ToyResult:
    """Train LP, FT (from ``setup.v0``) and LP-FT (LP from 0, then FT) on the toy."""
    setup.validate()
    b0, y, steps = setup.b0, setup.y_id, int(setup.steps)
    return ToyResult(
        setup=setup,
        lp=linear_probe(b0, 0.0, setup.step, steps, y),
        ft=fine_tune(b0, setup.v0, setup.step, steps, y),
        lpft=lp_then_ft(b0, setup.step, steps, y),
    )


def ft_endpoint(b0: np.ndarray, v0: float, y_id: float) -> tuple[float, np.ndarray]:
    """Where fine-tuning's gradient flow ends, in closed form.

    Two facts pin it down: the OOD coordinate of b never moves, and the flow conserves
    v^2 - |b|^2 (balancedness), so v^2 - b_1^2 = v0^2 - (b0 . x_id)^2 =: c.
    At the end the fit is exact: v b_1 = y_id. Eliminating v gives b_1^4 + c b_1^2 - y_id^2 = 0,
    whose positive root is b_1^2; b_1 keeps the sign of b0 . x_id. Valid for v0 = 0 or any v0 whose
    flow does not pass b_1 through zero (tests compare it with small-step gradient descent).
    """
    s0 = float(b0 @ X_ID)
    if abs(s0) < MIN_ID_PROJECTION and abs(v0) < MIN_ID_PROJECTION:
        raise ToyError("b0 is perpendicular to x_id and v0 = 0: the gradient is zero and FT never starts.")
    c = v0**2 - s0**2
    b1 = np.sign(s0 if s0 != 0 else 1.0) * np.sqrt((-c + np.sqrt(c**2 + 4 * y_id**2)) / 2)
    b = b0.copy()
    b[0] = b1
    return float(y_id / b1), b


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
    """LP's and FT's converged OOD errors at each angle, from the closed-form endpoints."""
    angles = np.asarray(angles_deg, dtype=float)
    lp, ft = [], []
    y = float(W_STAR @ X_ID)
    target = float(W_STAR @ X_OOD)
    for a in angles:
        b0 = feature_at_angle(float(a))
        v_lp = lp_head_closed_form(b0, y)
        v_ft, b_ft = ft_endpoint(b0, v0, y)
        lp.append((v_lp * (b0 @ X_OOD) - target) ** 2)
        ft.append((v_ft * (b_ft @ X_OOD) - target) ** 2)
    return AngleSweep(angles, np.array(lp), np.array(ft))
