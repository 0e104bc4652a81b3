"""The 2D toy (lesson 1): the claims the lesson makes, checked on the code that draws them."""
import numpy as np
import pytest

from lpft_edu.toy import (DEFAULT_STEPS, GRADIENT_TOL, RESIDUAL_TOL, X_ID, X_OOD, ToyError, ToySetup,
                          feature_at_angle, fine_tune, ft_curvature_bound, ft_endpoint, linear_probe,
                          lp_curvature, lp_head_closed_form, lp_wins_interval, not_converged_note, run_toy,
                          slider_angles, sweep_angles)


def valid_slider_angles():
    return [float(a) for a in slider_angles() if abs(feature_at_angle(a) @ X_ID) >= 1e-3]


@pytest.mark.parametrize("angle", [-60, -10, 0, 20, 35])
@pytest.mark.parametrize("v0", [0.0, 0.7, -1.3])
def test_ft_never_moves_the_ood_coordinate_of_the_feature(angle, v0):
    setup = ToySetup(angle_deg=angle, v0=v0)
    ft = run_toy(setup).ft
    assert np.any(np.abs(ft.b[:, 0] - setup.b0[0]) > 1e-3), "FT should move the ID coordinate"
    # Exact in floating point: the update to b is a multiple of x_id = (1, 0).
    assert np.array_equal(ft.b @ X_OOD, np.full(len(ft.b), setup.b0 @ X_OOD))


@pytest.mark.parametrize("angle", [-70, -10, 0, 25, 44.75])
def test_lp_head_converges_to_closed_form(angle):
    setup = ToySetup(angle_deg=angle)
    lp = linear_probe(setup.b0, 0.0, steps=DEFAULT_STEPS, y_id=setup.y_id)
    assert lp.v[-1] == pytest.approx(lp_head_closed_form(setup.b0, setup.y_id), rel=1e-9)
    assert np.array_equal(lp.b, np.repeat(setup.b0[None], len(lp.b), axis=0))


@pytest.mark.parametrize("factor", [0.1, 0.5, 1.5])
def test_lp_residual_shrinks_by_one_minus_the_step_factor_at_every_angle(factor):
    for angle in (-80, -10, 30, 44.75):
        setup = ToySetup(angle_deg=angle)
        lp = linear_probe(setup.b0, 0.0, steps=5, y_id=setup.y_id, step_factor=factor)
        r = lp.v * (setup.b0 @ X_ID) - setup.y_id
        assert r[1:] / r[:-1] == pytest.approx(np.full(5, 1 - factor), rel=1e-9)
        assert lp.step * lp_curvature(setup.b0) == pytest.approx(factor)


def test_lp_with_a_step_factor_above_two_diverges_with_a_message_naming_the_slider():
    with pytest.raises(ToyError, match=r"diverged for linear probing .*'step size × curvature' slider down \(try 1\.25"):
        run_toy(ToySetup(angle_deg=30, step_factor=2.5))


def test_ft_curvature_bound_holds_along_gradient_descent():
    # The largest Hessian eigenvalue of FT's loss (in v, b . x_id) never exceeds the bound the step uses.
    for angle in (-80, -10, 0, 30, 44.75, 60):
        for v0 in (0.0, 2.0, -3.0, 5.0):
            setup = ToySetup(angle_deg=angle, v0=v0)
            ft = run_toy(setup).ft
            bound = ft_curvature_bound(setup.b0, v0, setup.y_id)
            b1, v = ft.b[:, 0], ft.v
            hessians = np.stack([np.stack([2 * b1**2, 2 * (2 * v * b1 - 1)], -1),
                                 np.stack([2 * (2 * v * b1 - 1), 2 * v**2], -1)], -2)
            assert np.linalg.eigvalsh(hessians).max() <= bound * (1 + 1e-9)


def test_default_settings_converge_at_every_slider_angle_and_lpft_is_lp():
    """LP-FT equals the converged LP (head, feature, OOD error) at every angle the app allows."""
    angles = valid_slider_angles()
    assert len(angles) == len(slider_angles()) - 1  # only 45 degrees is refused
    for angle in angles:
        setup = ToySetup(angle_deg=angle)
        result = run_toy(setup)
        assert result.not_converged() == [], angle
        v_lp = lp_head_closed_form(setup.b0, setup.y_id)
        assert result.lp.v[-1] == pytest.approx(v_lp, rel=1e-12), angle
        assert result.lpft.v[-1] == pytest.approx(v_lp, rel=1e-9), angle
        assert np.max(np.abs(result.lpft.b - setup.b0)) < 1e-9, angle
        assert result.lpft.ood_error[-1] == pytest.approx(result.lp.ood_error[-1], rel=1e-8, abs=1e-20), angle


def test_convergence_means_small_residual_and_gradient():
    result = run_toy(ToySetup())
    for t in result.runs:
        assert t.converged
        assert abs(t.final_residual) <= RESIDUAL_TOL and t.final_gradient_norm <= GRADIENT_TOL
    assert not_converged_note(result) == ""


@pytest.mark.parametrize("kwargs, names", [
    (dict(steps=5), ["LP", "FT", "LP-FT"]),
    (dict(step_factor=0.001), ["LP", "FT", "LP-FT"]),
    # FT from v0 = -(b0 . x_id) heads straight for the saddle v = b = 0 and stalls there.
    (dict(angle_deg=15.0, v0=-0.5), ["FT"]),
])
def test_runs_that_stop_early_are_reported_as_not_converged(kwargs, names):
    result = run_toy(ToySetup(**kwargs))
    assert result.not_converged() == names
    note = not_converged_note(result)
    assert note.startswith("Not converged") and all(n in note for n in names)


def test_lpft_with_perfect_features_does_not_move():
    result = run_toy(ToySetup(angle_deg=0.0))
    ft_phase = result.lpft.b[len(result.lp.v) - 1:]
    assert np.max(np.abs(ft_phase - result.setup.b0)) < 1e-12
    assert result.lpft.ood_error[-1] < 1e-20


def test_ft_from_zero_head_distorts_even_perfect_features():
    for angle in (0.0, -10.0, 15.0):
        result = run_toy(ToySetup(angle_deg=angle, v0=0.0))
        assert result.ft.id_error[-1] < 1e-12
        assert result.ft.ood_error[-1] > 1e-2


# -- what lesson 1 states, at the settings it uses ---------------------------------------------

def test_lesson_first_run_at_minus_10_degrees():
    s = run_toy(ToySetup(angle_deg=-10)).summary()
    assert s["LP"]["ood_error"] == pytest.approx(0.0899, abs=5e-4)
    assert s["FT"]["ood_error"] == pytest.approx(0.262, abs=5e-3)
    assert s["LP-FT"]["ood_error"] == pytest.approx(s["LP"]["ood_error"], rel=1e-9)


def test_lesson_plus_10_degrees_ft_wins():
    sweep = sweep_angles([10.0])
    assert sweep.lp_ood[0] == pytest.approx(0.1833, abs=5e-4)
    assert sweep.ft_ood[0] == pytest.approx(0.0601, abs=5e-4)
    s = run_toy(ToySetup(angle_deg=10)).summary()  # gradient descent in the app: within 0.006 of the flow
    assert s["FT"]["ood_error"] < s["LP"]["ood_error"]
    assert s["FT"]["ood_error"] == pytest.approx(sweep.ft_ood[0], abs=6e-3)


def test_lesson_ft_error_at_zero_degrees_is_about_0_14():
    assert sweep_angles([0.0]).ft_ood[0] == pytest.approx(0.1408, abs=1e-4)


def test_lesson_instructor_note_lp_ood_error_at_30_degrees_is_about_7_46():
    assert run_toy(ToySetup(angle_deg=30)).lp.ood_error[-1] == pytest.approx(7.46, abs=0.005)


def test_lp_wins_interval_end_points():
    """The interval lesson 1 states: LP beats FT OOD (gradient flow, v0 = 0) exactly on (-45, 7.05)."""
    lo, hi = lp_wins_interval()
    assert lo == pytest.approx(-45.0, abs=1e-9)
    assert hi == pytest.approx(7.0491, abs=1e-4)
    inside = sweep_angles([lo + 1e-3, -10.0, -1e-3, 1e-3, hi - 1e-3])
    outside = sweep_angles([-85.0, lo - 1e-3, hi + 1e-3, 10.0, 30.0, 44.75, 45.25, 85.0])
    assert inside.lp_wins().all()
    assert not outside.lp_wins().any()


def test_app_gradient_descent_agrees_with_the_flow_interval_on_the_slider_grid():
    lo, hi = lp_wins_interval()
    for angle in valid_slider_angles():
        s = run_toy(ToySetup(angle_deg=angle)).summary()
        lp_wins = s["LP"]["ood_error"] < s["FT"]["ood_error"]
        assert lp_wins == (lo < angle < hi), angle


def test_asymmetry_ft_predicts_a_shrunken_copy_of_lps_ood_prediction():
    """Why the interval is lopsided: FT's OOD prediction is LP's times (b0 . x_id) / (b_FT . x_id) < 1."""
    for angle in [-44.0, -30.0, -10.0, -1.0, 1.0, 7.0, 10.0, 30.0, 44.0]:
        b0 = feature_at_angle(angle)
        v_lp = lp_head_closed_form(b0, 1.0)
        v_ft, b_ft = ft_endpoint(b0, 0.0, 1.0)
        lp_pred, ft_pred = v_lp * b0[1], v_ft * b_ft[1]
        assert lp_pred == pytest.approx(np.tan(np.deg2rad(45 + angle)))
        assert ft_pred == pytest.approx(lp_pred * b0[0] / b_ft[0])
        assert b_ft[0] > 1 > b0[0]  # so FT shrinks LP's prediction towards 0
        assert ft_pred < 1  # FT always undershoots the truth 1 ...
        assert (lp_pred < 1) == (angle < 0)  # ... LP undershoots only below 0 degrees


def test_lp_over_ft_ratio_tends_to_zero_from_both_sides():
    """Theorem 3.4's limit in the toy: as the angle -> 0, L_ood(LP) / L_ood(FT) -> 0 from both sides."""
    for sign in (-1, 1):
        ratios = [sweep_angles([sign * a]) for a in (4.0, 1.0, 0.25, 0.01)]
        values = [s.lp_ood[0] / s.ft_ood[0] for s in ratios]
        assert values == sorted(values, reverse=True) and values[-1] < 1e-6


@pytest.mark.parametrize("angle", [-60, -10, 0, 20, 40, 60])
def test_ft_endpoint_closed_form_matches_small_step_gradient_descent(angle):
    b0 = feature_at_angle(angle)
    ft = fine_tune(b0, 0.0, steps=20000, y_id=1.0, step_factor=0.002)
    v, b = ft_endpoint(b0, 0.0, 1.0)
    assert ft.converged
    # Gradient descent tracks the flow up to O(step).
    assert ft.v[-1] == pytest.approx(v, abs=2e-3)
    assert ft.b[-1] == pytest.approx(b, abs=2e-3)


def test_sweep_leaves_out_the_angle_where_lp_is_undefined():
    sweep = sweep_angles(slider_angles())
    assert 45.0 not in sweep.angles_deg and 44.75 in sweep.angles_deg
    assert sweep.lp_ood[sweep.angles_deg == 0][0] < 1e-20


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(angle_deg=45.0), "perpendicular"),
    (dict(step_factor=5.0, angle_deg=30.0), "diverged"),
    (dict(step_factor=-0.1), "positive"),
    (dict(steps=0), "at least one step"),
    (dict(v0=float("nan")), "finite"),
])
def test_nonsense_settings_raise_learner_messages(kwargs, fragment):
    with pytest.raises(ToyError, match=fragment):
        run_toy(ToySetup(**kwargs))


def test_trajectory_errors_are_consistent_with_predictor():
    r = run_toy(ToySetup())
    w = r.ft.final_w
    assert r.ft.id_error[-1] == pytest.approx((w @ X_ID - 1.0) ** 2)
    assert r.ft.ood_error[-1] == pytest.approx((w @ X_OOD - 1.0) ** 2)
