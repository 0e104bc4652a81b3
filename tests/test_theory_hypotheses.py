"""Every result lesson 2 states, inside its hypotheses (the claim holds) and just outside them (it fails),
with the numbers lesson 2 and docs/theory.md quote. The instances are the lesson's own calls."""
import numpy as np
import pytest

from lpft_edu import theory
from lpft_edu.linear import construct_instance, lp_head, phase_diagram, ratio_sweep, run_methods, train

EPS_GRID = np.geomspace(0.3, 1e-3, 6)  # the lesson's sweep in fast mode


def lp_limit(inst, key="ood_loss"):
    return float(getattr(inst, key)(lp_head(inst), inst.B0))


# -- Proposition 3.7: LP-FT keeps perfect features perfect; needs rank(X B0^T) = k --------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_prop_3_7_inside_rank_k_lpft_stays_at_zero_and_ft_does_not(seed):
    inst = construct_instance(10, 2, 4, angle_deg=float(15 + 15 * seed), eps=0.0, seed=seed)  # Gaussian v0
    assert inst.feature_rank == inst.k
    runs = run_methods(inst, steps=1500)
    assert runs["LP-FT"].ood_loss.max() < 1e-12
    assert runs["FT"].ood_loss.min() > inst.loss_bound() > 0


def test_prop_3_7_outside_k_above_dim_S_lpft_stays_at_lps_positive_loss():
    inst = construct_instance(10, 3, 2, angle_deg=30, eps=0.0, seed=1)  # the lesson's "unseen" instance
    assert inst.feature_rank == 2 < inst.k
    runs = run_methods(inst, steps=2000)
    lpft = runs["LP-FT"].ood_loss
    assert lpft.max() - lpft.min() < 1e-12  # zero residual: LP-FT never moves ...
    assert lpft.min() == pytest.approx(lp_limit(inst), abs=1e-12)  # ... so it keeps LP's OOD loss,
    assert lpft.min() == pytest.approx(0.61, abs=0.005)  # 0.61 as the lesson and docs/theory.md say
    assert runs["LP-FT"].train_loss.max() < 1e-15  # zero to rounding


def test_prop_3_7_outside_features_inside_S_ft_reaches_zero_too():
    inside = construct_instance(10, 2, 4, angle_deg=90, eps=0.0, seed=1)
    assert inside.features_inside_S and inside.loss_bound() == 0.0
    ft = run_methods(inside, steps=2000)["FT"]
    assert ft.ood_loss[-1] < 1e-20
    # ... while at any angle below 90 degrees FT from the same kind of head stays above the bound.
    reaching = construct_instance(10, 2, 4, angle_deg=80, eps=0.0, seed=1)
    assert not reaching.features_inside_S
    assert run_methods(reaching, steps=2000)["FT"].ood_loss.min() > reaching.loss_bound() > 0


def test_angle_zero_sees_no_feature_lp_learns_nothing_and_lpft_never_moves():
    inst = construct_instance(10, 2, 4, angle_deg=0.0, phi=0.9, eps=0.01, seed=0)  # the app at 0 degrees
    assert inst.feature_rank == 0
    assert np.array_equal(lp_head(inst), np.zeros(2))  # not ~1e13 from inverting rounding noise
    runs = run_methods(inst, steps=600)
    assert np.abs(runs["LP-FT"].v).max() < 1e-12
    assert np.abs(runs["LP-FT"].B - inst.B0).max() < 1e-12
    assert runs["FT"].ood_loss.min() > inst.loss_bound() > 0


# -- the ID side: FT wins ID; needs w* outside rowspace(B0) and k < dim S ------------------------------

def test_id_claim_inside_k_below_dim_S_ft_beats_lp():
    inst = construct_instance(10, 2, 4, angle_deg=30, eps=0.2, seed=3)
    w = inst.w_star
    assert np.linalg.norm(w - inst.B0.T @ (inst.B0 @ w)) > 1e-3  # w* is not in rowspace(B0)
    runs = run_methods(inst, steps=2000)
    lp_id = lp_limit(inst, "id_loss")
    assert lp_id > 1e-3
    assert runs["FT"].id_loss[-1] < 1e-3 * lp_id
    assert runs["LP-FT"].id_loss[-1] < 1e-3 * lp_id


@pytest.mark.parametrize("k, m", [(2, 2), (3, 2), (3, 3)])
def test_id_claim_outside_k_at_least_dim_S_lp_already_fits(k, m):
    inst = construct_instance(10, k, m, angle_deg=30, eps=0.2, seed=3)
    assert lp_limit(inst, "id_loss") < 1e-25


def test_id_claim_outside_perfect_features_lp_already_fits():
    inst = construct_instance(10, 2, 4, angle_deg=30, eps=0.0, seed=3)
    assert lp_limit(inst, "id_loss") < 1e-25


# -- Theorem 3.4: LP / FT -> 0; needs cos theta_max(R*, S) != 0 and cos theta_max(R*, S-perp) != 0 ------

def test_thm_3_4_inside_ratio_falls_to_zero():
    sweep = ratio_sweep(EPS_GRID)
    inst = construct_instance(10, 2, 4, angle_deg=30, eps=1e-3, seed=3)
    assert inst.cos_theta_max_star_S > 0.4 and inst.cos_theta_max_star_S_perp > 0.8
    assert np.all(np.diff(sweep.ratio) < 0)
    assert sweep.ratio[-1] < 1e-5
    assert 1.8 < sweep.slope < 2.2


def test_thm_3_4_outside_at_90_degrees_ratio_stays_at_1_58():
    sweep = ratio_sweep(EPS_GRID, angle_deg=90.0)
    assert np.all(np.abs(sweep.ratio - 1.58) < 0.005)
    # As eps -> 0, R* -> R0, which lies in S: cos theta_max(R*, S-perp) -> 0.
    small = [construct_instance(10, 2, 4, angle_deg=90.0, eps=e, seed=3).cos_theta_max_star_S_perp for e in (1e-2, 1e-3)]
    assert small[1] < small[0] < 0.02


def test_thm_3_4_outside_k_above_dim_S_ratio_levels_off():
    sweep = ratio_sweep(EPS_GRID, k=3, m=2)
    assert construct_instance(10, 3, 2, angle_deg=30, eps=1e-3, seed=3).cos_theta_max_star_S == 0.0
    assert np.all(np.abs(sweep.ratio[-3:] - 0.071) < 0.002)  # "levels off at about 0.071"
    assert abs(sweep.slope) < 0.3


# -- the bound: vacuous once eps ||w*|| >= cos theta_max h(phi, ||w*||) ---------------------------------

def test_bound_is_vacuous_from_eps_0_085_at_the_app_defaults():
    inst = construct_instance(10, 2, 4, angle_deg=30, phi=0.9, eps=0.01, seed=0)
    assert inst.vacuous_from_eps == pytest.approx(0.0848, abs=5e-5)
    below = construct_instance(10, 2, 4, angle_deg=30, phi=0.9, eps=0.080, seed=0)
    above = construct_instance(10, 2, 4, angle_deg=30, phi=0.9, eps=0.085, seed=0)  # the slider's next value
    assert below.loss_bound() > 0
    assert above.loss_bound() == 0.0 and above.bound() <= 0


def test_phi_zero_is_not_a_right_head():
    inst = construct_instance(10, 2, 4, angle_deg=30, phi=0.0, eps=0.01, seed=0)
    right = train(inst, "FT", steps=4000)
    flipped = inst.with_v0(-inst.v_star)
    assert flipped.phi == 0.0 and flipped.loss_bound() == 0.0  # the bound says nothing ...
    wrong = train(flipped, "FT", steps=4000)
    assert wrong.ood_loss.min() > 2.0  # ... and FT distorts badly: "stays above 2" in the lesson
    assert right.ood_loss.min() < 1e-3  # from +v* (the app's phi = 0) it does not


def test_a_long_head_distorts_about_as_much_as_a_short_one_with_the_same_phi():
    """The lesson: at the app's defaults, 0.071 (longer than v*) against 0.073 (shorter), same bound."""
    short, long_ = (construct_instance(10, 2, 4, angle_deg=30, phi=0.9, eps=0.01, branch=b, seed=0)
                    for b in ("below", "above"))
    assert short.loss_bound() == pytest.approx(long_.loss_bound(), rel=1e-12)
    ft_short, ft_long = (train(i, "FT", steps=2000).ood_loss.min() for i in (short, long_))
    assert round(ft_short, 3) == 0.073 and round(ft_long, 3) == 0.071


# -- the phase diagram: monotone only where the head error dominates -----------------------------------

@pytest.fixture(scope="module")
def landscape():
    return phase_diagram(np.linspace(0, 90, 19), np.array([0.0, 0.25, 0.5, 0.75, 1.0]), steps=1500)


def test_phase_diagram_rises_to_small_angles_and_large_head_errors_for_phi_0_5_up_to_80_degrees(landscape):
    ft, bound = landscape.ft_best_ood, landscape.bound
    rows, cols = landscape.phis >= 0.5, landscape.angles_deg <= 80
    region = ft[np.ix_(rows, cols)]
    assert np.all(np.diff(region, axis=1) < 0)  # falls with the angle: rises towards small angles
    assert np.all(np.diff(region, axis=0) > 0)  # rises with the head error
    # The bound does the same wherever it is not vacuous (it is vacuous beyond 70 degrees at phi = 0.5).
    b = bound[np.ix_(rows, cols)]
    both = (b[:, 1:] > 0) & (b[:, :-1] > 0)
    assert np.all(np.diff(b, axis=1)[both] < 0) and np.all(np.diff(b, axis=0) >= 0)
    assert (b > 0).sum() >= 0.8 * b.size
    assert np.all(ft >= bound)


def test_phase_diagram_is_flat_or_reversed_near_the_eps_floor(landscape):
    ft = landscape.ft_best_ood
    zero, quarter = ft[0], ft[1]  # phi = 0 and phi = 0.25
    assert zero[0] < zero[-1]  # at phi = 0 it falls towards small angles: the sentence fails here
    assert np.all((zero > 5e-5) & (zero < 2e-4))  # a floor of order eps^2 ||w*||^2 = 1e-4
    assert np.argmin(quarter) not in (0, len(quarter) - 1)  # phi = 0.25: not monotone in the angle
    assert np.ptp(ft[:, -1]) < 1e-9  # at 90 degrees (R0 inside S) the head error does not matter at all
    assert ft[2, -2] < ft[2, -1]  # phi = 0.5 from 85 to 90 degrees: already at the floor


def test_constructed_b_star_is_continuous_in_the_angle():
    """The phase diagram once jumped between 65 and 70 degrees: a Householder QR flipped the sign of a
    row of B*'s error direction between 65 and 66 degrees for the same seed, changing w*."""
    prev = None
    for angle in np.arange(55.0, 76.0, 1.0):
        inst = construct_instance(10, 2, 4, angle_deg=float(angle), phi=0.9, eps=0.01, seed=0)
        a = 2 * np.arcsin(0.01 / 2)
        G = (inst.B_star - np.cos(a) * inst.B0) / np.sin(a)
        if prev is not None:
            assert np.linalg.norm(G - prev) < 0.5, angle
        prev = G


def test_bound_and_theorem_numbers_the_docs_quote():
    assert theory.head_term(0.9, 1.0) == pytest.approx(0.0979, abs=5e-5)
