"""The lesson 2 theorems, checked numerically: the bound is never above simulated FT, the LP/FT ratio
falls with eps, LP-FT keeps perfect features perfect, and the quantities match their definitions."""
import numpy as np
import pytest
from scipy.linalg import subspace_angles

from lpft_edu.exercises import passed
from lpft_edu import theory
from lpft_edu.exercises.theory import (check_bound, check_cos_theta_max, check_lpft_head, check_ratio_slope,
                                       exercise_instance)
from lpft_edu.linear import construct_instance, lp_head, phase_diagram, ratio_sweep, run_methods, train, train_many


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
    worst = 0.0
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
    assert nonvacuous >= 120  # the check has teeth: most instances have a positive bound
    assert 0.05 < worst < 1.0  # and the bound is not trivially loose everywhere


def test_transcribed_constant_is_crossed_by_gradient_flow():
    """Why the lesson re-derives the head term: k = 1, v0 = 0, feature almost inside S."""
    inst = construct_instance(6, 1, 3, angle_deg=89.0, phi=1.0, eps=0.0, seed=0)
    ft = train(inst, "FT", steps=4000)
    assert np.sqrt(ft.ood_loss.min()) < inst.paper_notes_bound()
    assert np.sqrt(ft.ood_loss.min()) > inst.bound() > 0


def test_head_term_properties():
    assert theory.head_term(0.0, 1.0) == 0.0
    hs = [theory.head_term(p, 1.0) for p in (0.2, 0.5, 1.0, 2.0)]
    assert all(a < b for a, b in zip(hs, hs[1:]))  # grows with the head error
    # The fixed point it is defined by.
    h = theory.head_term(0.9, 1.3)
    assert abs(theory._head_residual_bound(h, 0.9, 1.3) - h) < 1e-12


def test_bound_formula_and_vacuous_case():
    b = theory.ft_lower_bound(0.5, 1.0, 1.0, 0.0)
    assert b == pytest.approx(0.5 * theory.head_term(1.0, 1.0))
    assert theory.ft_lower_bound(0.5, 1.0, 1.0, 0.0, sigma_min=4.0) == pytest.approx(2 * b)
    assert theory.ft_ood_loss_lower_bound(0.5, 1.0, 1.0, 1.0) == 0.0  # large eps: vacuous


def test_principal_angle_matches_singular_value_definition():
    rng = np.random.default_rng(1)
    inst = construct_instance(9, 3, 3, seed=4)  # B0 random, not constructed
    sv = np.linalg.svd(theory.row_space(inst.B0).T @ inst.S_perp, compute_uv=False)
    assert inst.cos_theta_max == pytest.approx(sv[inst.k - 1], abs=1e-12)
    X = rng.standard_normal((4, 9))
    assert theory.orthogonal_complement(X).shape == (9, 5)
    assert np.allclose(X @ theory.orthogonal_complement(X), 0, atol=1e-12)


def test_head_alignment_error_definition():
    assert theory.head_alignment_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert theory.head_alignment_error([0.0, 0.0], [2.0, 0.0]) == pytest.approx(4.0)
    assert theory.head_alignment_error(np.array([3.0]), np.array([1.0])) == pytest.approx(np.sqrt(8.0))


def test_lp_ft_ratio_falls_with_eps_like_eps_squared():
    sweep = ratio_sweep(np.geomspace(0.2, 1e-3, 6))
    assert np.all(np.diff(sweep.ratio) < 0)  # eps decreasing -> ratio decreasing
    assert sweep.ratio[-1] < 1e-4
    assert 1.8 < sweep.slope < 2.2


def test_lp_ft_ratio_rejects_zero_ft_loss():
    with pytest.raises(ValueError):
        theory.lp_ft_ood_ratio(1.0, [0.0, 1.0])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_proposition_3_7_lpft_stays_at_zero_ft_from_random_head_does_not(seed):
    inst = construct_instance(10, 2, 4, angle_deg=float(20 + 15 * seed), eps=0.0, seed=seed)  # Gaussian v0
    runs = run_methods(inst, steps=1500)
    assert runs["LP-FT"].ood_loss.max() < 1e-12
    bound = inst.loss_bound()
    assert bound > 0
    assert runs["FT"].ood_loss.min() > bound


def test_ft_wins_in_distribution_when_w_star_not_in_rowspace():
    inst = construct_instance(10, 2, 4, angle_deg=30, eps=0.2, seed=3)
    w = inst.w_star
    assert np.linalg.norm(w - inst.B0.T @ (inst.B0 @ w)) > 1e-3  # w* is not in rowspace(B0)
    runs = run_methods(inst, steps=2000)
    lp_id = float(inst.id_loss(lp_head(inst), inst.B0))
    assert lp_id > 1e-3
    assert runs["FT"].id_loss[-1] < 1e-3 * lp_id
    assert runs["LP-FT"].id_loss[-1] < 1e-3 * lp_id


def test_phase_diagram_bound_below_ft_and_monotone_in_head_error():
    pd = phase_diagram(np.linspace(0, 80, 5), np.linspace(0, 1, 5), steps=1000)
    assert np.all(pd.ft_best_ood >= pd.bound)
    assert (pd.bound > 0).sum() >= 8
    # Larger head error, larger FT OOD loss (at every angle below 80 degrees).
    assert np.all(np.diff(pd.ft_best_ood[:, :-1], axis=0) > 0)


def test_exercise_checks_accept_solutions_and_reject_wrong_answers(capsys):
    inst = exercise_instance(1)
    assert passed(check_cos_theta_max, np.cos(subspace_angles(inst.B0.T, inst.S_perp)[0]))
    assert not check_cos_theta_max(np.cos(subspace_angles(inst.B0.T, inst.S)[0]))  # the wrong subspace
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
