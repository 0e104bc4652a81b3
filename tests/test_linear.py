"""lpft_edu.linear: instances have the requested geometry, training follows the invariants, and the
module stays free of torch, widgets and plotting."""
import subprocess
import sys

import numpy as np
import pytest

from lpft_edu import theory
from lpft_edu.linear import (LinearSetupError, check_dims, construct_instance, drift_by_step, feature_error,
                             head_with_error, lp_head, procrustes_rotation, run_methods, step_size, train)


@pytest.mark.parametrize("seed", range(12))
def test_constructed_instances_have_the_requested_angle_head_error_and_eps(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 5))
    d = int(rng.integers(k + 3, 14))
    m = int(rng.integers(1, d - k))
    angle = float(rng.uniform(0, 90))
    branch = "below" if seed % 2 else "above"
    w = float(rng.uniform(0.5, 2))
    phi = float(rng.uniform(0, w ** 2))
    eps = float(rng.uniform(0, 1.4))
    inst = construct_instance(d, k, m, angle_deg=angle, phi=phi, eps=eps, w_norm=w, branch=branch,
                              spread_angles=bool(seed % 3), head_orthogonal=0.5 if k > 1 else 0.0, seed=seed)
    assert abs(inst.cos_theta_max - np.cos(np.deg2rad(angle))) < 1e-8
    assert abs(inst.phi - phi) < 1e-8
    assert abs(inst.eps - eps) < 1e-8
    assert abs(np.linalg.norm(inst.w_star) - w) < 1e-10
    # The setting's structure: orthonormal rows, X spans exactly S, the optimal rotation is I.
    assert np.allclose(inst.B0 @ inst.B0.T, np.eye(k), atol=1e-12)
    assert np.allclose(inst.B_star @ inst.B_star.T, np.eye(k), atol=1e-12)
    assert np.linalg.matrix_rank(inst.X) == m
    assert np.allclose(inst.X @ inst.S_perp, 0, atol=1e-12)
    assert np.allclose(procrustes_rotation(inst.B0, inst.B_star), np.eye(k), atol=1e-10)


def test_feature_error_is_rotation_invariant():
    inst = construct_instance(8, 3, 2, eps=0.3, seed=1)
    U = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    assert feature_error(inst.B0, U @ inst.B_star) == pytest.approx(0.3, abs=1e-10)
    assert feature_error(inst.B0, inst.B0) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("d, k, m, fragment", [(10, 2, 8, r"argument m \(dim S\) down to 7"),
                                                (10, 2, 0, r"argument m \(dim S\) up"),
                                                (4, 3, 1, "argument k down"), (10, 0, 3, "argument k up")])
def test_bad_dimensions_say_which_argument_to_change(d, k, m, fragment):
    with pytest.raises(LinearSetupError, match=fragment):
        check_dims(d, k, m)


def test_setup_errors_render_with_an_apps_control_names():
    with pytest.raises(LinearSetupError) as info:
        check_dims(10, 2, 8)
    assert info.value.parameters == {"m", "k"}
    names = {"m": "the 'dim S' slider", "k": "the 'k' slider"}
    assert "Move the 'dim S' slider down to 7 or less, or the 'k' slider down." in info.value.render(names)
    with pytest.raises(KeyError):  # an app without a control for k cannot render it
        info.value.render({"m": "the 'dim S' slider"})


def test_other_bad_settings_are_clear_errors():
    with pytest.raises(LinearSetupError, match="argument phi down to 1 or less, or set the argument branch"):
        head_with_error(np.array([1.0, 0.0]), 1.5, branch="below")
    with pytest.raises(LinearSetupError, match="eps"):
        construct_instance(10, 2, 4, eps=2.0)
    with pytest.raises(LinearSetupError, match="positive definite"):
        construct_instance(5, 1, 2, Sigma=np.zeros((5, 5)))


@pytest.mark.parametrize("seed", range(8))
def test_invariant_1_holds_to_1e10_under_gradient_descent(seed):
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(1, 4))
    d = int(rng.integers(k + 3, 13))
    m = int(rng.integers(1, d - k))
    inst = construct_instance(d, k, m, eps=float(rng.uniform(0, 0.5)), head_scale=float(rng.uniform(0.2, 2)), seed=seed)
    for method in ("FT", "LP-FT"):
        run = train(inst, method, steps=2000)
        change = theory.sperp_feature_change(run.B, inst.B0, inst.S_perp)
        assert change.max() < 1e-10
        # ... while the features did move (in S), so the check is not vacuous.
        if method == "FT":
            assert np.abs(run.B[-1] - inst.B0).max() > 1e-3


@pytest.mark.parametrize("seed", range(4))
def test_invariant_2_drift_is_first_order_in_the_step(seed):
    inst = construct_instance(10, 2, 4, angle_deg=20 + 15 * seed, eps=0.05, seed=seed)
    runs = drift_by_step(inst, cs=(0.1, 0.05))
    drifts = {}
    for c, run in runs.items():
        drift = theory.balancedness_drift(run.v, run.B)
        predicted = theory.balancedness_drift_bound(run.eta, run.train_loss[0] - run.train_loss[-1], c)
        assert drift.max() <= 1.05 * predicted
        drifts[c] = drift[-1]
    assert 1.7 < drifts[0.1] / drifts[0.05] < 2.3  # halving the step halves the drift


def test_lp_head_ignores_rounding_noise_when_no_feature_is_seen():
    """At angle 0 every feature lies in S-perp and X B0^T is zero up to rounding (~1e-17): numpy's relative
    cut-off used to invert that noise into a head of norm ~1e13, and LP-FT then diverged."""
    inst = construct_instance(10, 2, 4, angle_deg=0.0, phi=0.9, eps=0.01, seed=0)
    assert np.abs(inst.X @ inst.B0.T).max() < 1e-14
    assert inst.feature_rank == 0
    assert np.array_equal(lp_head(inst), np.zeros(2))
    runs = run_methods(inst, steps=200)  # no divergence
    assert np.abs(runs["LP-FT"].v).max() < 1e-12  # it moves only by rounding noise
    # A small but real angle is still seen, and LP fits it.
    tilted = construct_instance(10, 2, 4, angle_deg=1.0, phi=0.9, eps=0.01, seed=0)
    assert tilted.feature_rank == 2
    v = lp_head(tilted)
    assert np.allclose(tilted.X.T @ (tilted.X @ tilted.B0.T @ v - tilted.Y) @ tilted.B0.T, 0, atol=1e-12)


def test_run_settled_rule():
    inst = construct_instance(10, 2, 4, angle_deg=30, phi=0.9, eps=0.01, seed=0)
    assert train(inst, "FT", steps=2000).settled()
    assert not train(inst, "FT", steps=40, record_every=4).settled()  # cut off while still falling


def test_lp_is_head_only_and_converges_to_least_squares():
    inst = construct_instance(10, 2, 4, angle_deg=45, eps=0.1, seed=5)
    runs = run_methods(inst, steps=3000)
    assert np.array_equal(runs["LP"].B[-1], inst.B0)
    assert np.allclose(runs["LP"].v[-1], lp_head(inst), atol=1e-5)
    assert np.array_equal(runs["LP-FT"].v[0], lp_head(inst))
    assert len({r.eta for r in runs.values()}) == 1  # one time axis for the three runs


def test_losses_have_their_definitions():
    inst = construct_instance(7, 2, 3, eps=0.2, seed=2)
    Sigma = np.diag(np.arange(1.0, 8.0))
    inst2 = inst.with_Sigma(Sigma)
    v, B = inst.v0, inst.B0
    e = B.T @ v - inst.w_star
    assert inst.train_loss(v, B) == pytest.approx(np.sum((inst.X @ B.T @ v - inst.Y) ** 2))
    assert inst.ood_loss(v, B) == pytest.approx(e @ e)
    assert inst2.ood_loss(v, B) == pytest.approx(e @ Sigma @ e)
    assert inst.id_loss(v, B) == pytest.approx(e @ inst.P_S @ e)
    assert inst2.sigma_min == pytest.approx(1.0)


def test_step_rule_is_below_the_stability_limit():
    inst = construct_instance(10, 3, 4, head_scale=2.0, seed=0)
    eta = step_size(inst, inst.v0, inst.B0)
    # Numerical Hessian's top eigenvalue at the start, by finite differences of the gradient.
    def grad(p):
        v, B = p[:3], p[3:].reshape(3, 10)
        g = inst.M @ (B.T @ v - inst.w_star)
        return np.concatenate([2 * B @ g, (2 * np.outer(v, g)).ravel()])
    p0 = np.concatenate([inst.v0, inst.B0.ravel()])
    H = np.array([(grad(p0 + 1e-6 * ei) - grad(p0 - 1e-6 * ei)) / 2e-6 for ei in np.eye(p0.size)])
    lam = np.linalg.eigvalsh((H + H.T) / 2)[-1]
    assert eta * lam < 0.05 + 1e-6  # eta = c / lambda_hat with lambda_hat >= the true curvature


def test_divergence_is_a_clear_error():
    inst = construct_instance(10, 2, 4, seed=0)
    with pytest.raises(LinearSetupError, match="diverged"):
        train(inst, "FT", steps=200, eta=5.0)


def test_pure_modules_import_no_torch_widgets_or_matplotlib():
    code = ("import sys, lpft_edu.linear, lpft_edu.theory; "
            "bad = [m for m in ('torch', 'ipywidgets', 'matplotlib') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
