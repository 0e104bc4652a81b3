"""The package's lower bound and lesson 2's quantities, checked numerically: the bound is never above
simulated FT (and its drift-corrected form holds step by step for gradient descent), the quantities
match their definitions, and the exercise checks accept right answers and refuse wrong ones.
Each result's hypotheses, inside and outside, are in tests/test_theory_hypotheses.py."""
import numpy as np
import pytest
from scipy.linalg import subspace_angles

from lpft_edu.exercises import passed
from lpft_edu import theory
from lpft_edu.exercises.theory import (check_bound, check_cos_theta_max, check_lpft_head, check_ratio_slope,
                                       exercise_instance)
from lpft_edu.linear import construct_instance, lp_head, train, train_many


def _random_settings(rng, i):
    """One instance spread across the app's slider ranges, plus things the app keeps fixed."""
    k = int(rng.integers(1, 5))
    d = int(rng.integers(k + 3, 13))
    m = int(rng.integers(1, d - k))
    w = float(rng.uniform(0.5, 2.0))
    branch = str(rng.choice(["below", "above"]))
    phi = float(rng.uniform(0, w ** 2 if branch == "below" else 3 * w ** 2))
    eps = float(rng.choice([0.0, rng.uniform(0, 0.05), rng.uniform(0, 0.3)]))
    kwargs = dict(angle_deg=float(rng.uniform(0, 90)), phi=phi, eps=eps, w_norm=w, branch=branch,
                  head_orthogonal=float(rng.uniform(0, 1)) if k > 1 else 0.0, spread_angles=bool(rng.integers(2)))
    if i % 5 == 0:  # a random Gaussian head instead of a constructed one
        kwargs.update(phi=None, head_scale=float(rng.uniform(0.1, 2.0)))
    if i % 7 == 0:  # a user-given OOD covariance
        A = rng.standard_normal((d, d))
        kwargs["Sigma"] = A @ A.T / d + 0.2 * np.eye(d)
    return d, k, m, kwargs


def test_bound_never_above_simulated_ft_over_240_random_instances():
    rng = np.random.default_rng(2022)
    groups = {}
    for i in range(240):
        d, k, m, kwargs = _random_settings(rng, i)
        groups.setdefault((k, d), []).append(construct_instance(d, k, m, seed=i, **kwargs))
    checked = nonvacuous = 0
    worst = 0.0  # the largest bound / (FT's lowest OOD loss): how tight the floor gets
    for insts in groups.values():
        runs = train_many([(inst, "FT") for inst in insts], steps=1500, record_every=10, shared_eta=False)
        for inst, run in zip(insts, runs):
            bound = inst.loss_bound()
            assert np.all(run.ood_loss >= bound), (inst.requested, bound, run.ood_loss.min())
            checked += 1
            if bound > 0:
                nonvacuous += 1
                worst = max(worst, bound / run.ood_loss.min())
    assert checked == 240
    # docs/theory.md states these: positive on 156 instances, 28% of FT's loss (53% in sqrt units) at the tightest.
    assert nonvacuous == 156
    assert 0.27 < worst < 0.29 and 0.52 < np.sqrt(worst) < 0.54


@pytest.mark.parametrize("seed", range(6))
def test_drift_corrected_bound_holds_at_every_step_of_gradient_descent(seed):
    """docs/theory.md, section 3: with the measured balancedness drift the bound is valid for the
    gradient-descent run itself, at each recorded step, even with a step twenty times the default."""
    rng = np.random.default_rng(500 + seed)
    k = int(rng.integers(1, 4))
    inst = construct_instance(10, k, int(rng.integers(1, 10 - k)), angle_deg=float(rng.uniform(0, 60)),
                              phi=float(rng.uniform(0.3, 1.0)), eps=float(rng.uniform(0, 0.02)), seed=seed)
    run = train(inst, "FT", steps=600, record_every=5, c=1.0)
    drift = theory.balancedness_drift(run.v, run.B)
    assert drift.max() > 1e-5  # a real drift, so the correction is exercised
    bounds = np.array([theory.ft_lower_bound(inst.cos_theta_max, inst.phi, inst.w_norm, inst.eps, drift=float(D))
                       for D in drift])
    assert np.all(np.sqrt(run.ood_loss) >= bounds)
    assert np.all(bounds <= inst.bound() + 1e-15)  # the drift only ever lowers the bound


def test_head_term_properties():
    assert theory.head_term(0.0, 1.0) == 0.0
    hs = [theory.head_term(p, 1.0) for p in (0.2, 0.5, 1.0, 2.0)]
    assert all(a < b for a, b in zip(hs, hs[1:]))  # grows with the head error
    # The fixed point it is defined by.
    h = theory.head_term(0.9, 1.3)
    assert abs(theory._head_residual_bound(h, 0.9, 1.3) - h) < 1e-12
    assert theory.head_term(0.9, 1.0) == pytest.approx(0.0979, abs=5e-5)  # the value docs/theory.md quotes
    # Drift lowers it, and a drift that eats the whole gap phi^2 leaves nothing.
    assert theory.head_term(0.9, 1.0, drift=0.01) < theory.head_term(0.9, 1.0)
    assert theory.head_term(0.9, 1.0, drift=0.81) == 0.0
    with pytest.raises(ValueError):
        theory.head_term(0.9, 1.0, drift=-1.0)


def test_bound_formula_and_vacuous_case():
    b = theory.ft_lower_bound(0.5, 1.0, 1.0, 0.0)
    assert b == pytest.approx(0.5 * theory.head_term(1.0, 1.0))
    assert theory.ft_lower_bound(0.5, 1.0, 1.0, 0.0, sigma_min=4.0) == pytest.approx(2 * b)
    assert theory.ft_ood_loss_lower_bound(0.5, 1.0, 1.0, 1.0) == 0.0  # large eps: vacuous
    threshold = theory.vacuous_from_eps(0.5, 1.0, 1.0)
    assert theory.ft_lower_bound(0.5, 1.0, 1.0, threshold) == pytest.approx(0.0, abs=1e-15)
    assert theory.ft_lower_bound(0.5, 1.0, 1.0, 0.99 * threshold) > 0


def test_principal_angle_matches_singular_value_definition():
    rng = np.random.default_rng(1)
    inst = construct_instance(9, 3, 3, seed=4)  # B0 random, not constructed
    sv = np.linalg.svd(theory.row_space(inst.B0).T @ inst.S_perp, compute_uv=False)
    assert inst.cos_theta_max == pytest.approx(sv[inst.k - 1], abs=1e-12)
    # Fewer dimensions than features: some feature direction is orthogonal to the subspace.
    assert theory.cos_theta_max(inst.B0, inst.S_perp[:, :2]) == 0.0
    X = rng.standard_normal((4, 9))
    assert theory.orthogonal_complement(X).shape == (9, 5)
    assert np.allclose(X @ theory.orthogonal_complement(X), 0, atol=1e-12)


def test_head_alignment_error_definition():
    assert theory.head_alignment_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    # phi = 0 does not mean the head is right: -v* and v* plus an orthogonal part give 0 too.
    assert theory.head_alignment_error([-1.0, 0.0], [1.0, 0.0]) == 0.0
    assert theory.head_alignment_error([1.0, 5.0], [1.0, 0.0]) == 0.0
    assert theory.head_alignment_error([0.0, 0.0], [2.0, 0.0]) == pytest.approx(4.0)
    assert theory.head_alignment_error(np.array([3.0]), np.array([1.0])) == pytest.approx(np.sqrt(8.0))


def test_lp_ft_ratio_rejects_zero_ft_loss():
    with pytest.raises(ValueError):
        theory.lp_ft_ood_ratio(1.0, [0.0, 1.0])


def test_exercise_checks_accept_solutions_and_reject_wrong_answers(capsys):
    inst = exercise_instance(1)
    assert passed(check_cos_theta_max, np.cos(subspace_angles(inst.B0.T, inst.S_perp)[0]))
    assert not passed(check_cos_theta_max, np.cos(subspace_angles(inst.B0.T, inst.S)[0]))  # the wrong subspace
    assert not passed(check_cos_theta_max, 0.5)
    assert not passed(check_cos_theta_max, None)
    inst = exercise_instance(2)
    assert passed(check_bound, inst.loss_bound())
    assert not passed(check_bound, max(inst.bound(), 0.0))
    inst = exercise_instance(3)
    assert passed(check_lpft_head, lp_head(inst))
    assert not passed(check_lpft_head, np.zeros(inst.k))
    assert not passed(check_lpft_head, "abc")
    assert passed(check_ratio_slope, 2.0)
    assert not passed(check_ratio_slope, 1.0)
    assert not passed(check_ratio_slope, ...)
    assert "Not yet." in capsys.readouterr().out
