"""The 2D toy (lesson 1): the claims the lesson makes, checked on the code that draws them."""
import numpy as np
import pytest

from lpft_edu.toy import (X_ID, X_OOD, ToyError, ToySetup, feature_at_angle, fine_tune, ft_endpoint,
                          linear_probe, lp_head_closed_form, run_toy, sweep_angles)


@pytest.mark.parametrize("angle", [-60, -10, 0, 20, 35])
@pytest.mark.parametrize("v0", [0.0, 0.7, -1.3])
def test_ft_never_moves_the_ood_coordinate_of_the_feature(angle, v0):
    setup = ToySetup(angle_deg=angle, v0=v0, step=0.05, steps=400)
    ft = run_toy(setup).ft
    assert np.any(np.abs(ft.b[:, 0] - setup.b0[0]) > 1e-3), "FT should move the ID coordinate"
    # Exact in floating point: the update to b is a multiple of x_id = (1, 0).
    assert np.array_equal(ft.b @ X_OOD, np.full(len(ft.b), setup.b0 @ X_OOD))


@pytest.mark.parametrize("angle", [-70, -10, 0, 25])
def test_lp_head_converges_to_closed_form(angle):
    setup = ToySetup(angle_deg=angle)
    lp = linear_probe(setup.b0, 0.0, step=0.2, steps=2000, y_id=setup.y_id)
    assert lp.v[-1] == pytest.approx(lp_head_closed_form(setup.b0, setup.y_id), rel=1e-9)
    assert np.array_equal(lp.b, np.repeat(setup.b0[None], len(lp.b), axis=0))


def test_lpft_with_perfect_features_does_not_move():
    result = run_toy(ToySetup(angle_deg=0.0, step=0.2, steps=2000))
    ft_phase = result.lpft.b[len(result.lp.v) - 1:]
    assert np.max(np.abs(ft_phase - result.setup.b0)) < 1e-12
    assert result.lpft.ood_error[-1] < 1e-20


def test_ft_from_zero_head_distorts_even_perfect_features():
    for angle in (0.0, -10.0, 15.0):
        result = run_toy(ToySetup(angle_deg=angle, v0=0.0, step=0.1, steps=1000))
        assert result.ft.id_error[-1] < 1e-12
        assert result.ft.ood_error[-1] > 1e-2


def test_lesson_claim_lp_beats_ft_ood_at_default_angle():
    result = run_toy(ToySetup(angle_deg=-10, v0=0.0, step=0.1, steps=300))
    s = result.summary()
    assert s["LP"]["ood_error"] < s["FT"]["ood_error"]
    assert s["LP-FT"]["ood_error"] == pytest.approx(s["LP"]["ood_error"], rel=1e-9)


def test_lesson_instructor_note_lp_ood_error_at_30_degrees_is_about_7_5():
    assert run_toy(ToySetup(angle_deg=30, steps=2000)).lp.ood_error[-1] == pytest.approx(7.5, abs=0.05)


@pytest.mark.parametrize("angle", [-60, -10, 0, 20, 40, 60])
def test_ft_endpoint_closed_form_matches_small_step_gradient_descent(angle):
    b0 = feature_at_angle(angle)
    ft = fine_tune(b0, 0.0, step=0.002, steps=60000 if angle < 30 else 150000, y_id=1.0)
    v, b = ft_endpoint(b0, 0.0, 1.0)
    # Gradient descent tracks the flow up to O(step).
    assert ft.v[-1] == pytest.approx(v, abs=2e-3)
    assert ft.b[-1] == pytest.approx(b, abs=2e-3)


def test_sweep_finds_lp_better_for_good_features_and_worse_for_poor_ones():
    sweep = sweep_angles(np.arange(-80, 41, 1))
    wins = sweep.angles_deg[sweep.lp_wins()]
    assert wins.min() == -44 and wins.max() == 7  # the range lesson 1 prints
    assert sweep.lp_ood[sweep.angles_deg == 0][0] < 1e-20
    assert sweep.ft_ood[sweep.angles_deg == 30][0] < sweep.lp_ood[sweep.angles_deg == 30][0]


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(angle_deg=45.0), "perpendicular"),
    (dict(step=5.0, angle_deg=30.0), "diverged"),
    (dict(step=-0.1), "positive"),
    (dict(steps=0), "at least one step"),
])
def test_nonsense_settings_raise_learner_messages(kwargs, fragment):
    with pytest.raises(ToyError, match=fragment):
        run_toy(ToySetup(**kwargs))


def test_divergence_message_suggests_smaller_step():
    with pytest.raises(ToyError, match=r"try 1\.25"):
        run_toy(ToySetup(angle_deg=30, step=5.0))


def test_trajectory_errors_are_consistent_with_predictor():
    r = run_toy(ToySetup())
    w = r.ft.final_w
    assert r.ft.id_error[-1] == pytest.approx((w @ X_ID - 1.0) ** 2)
    assert r.ft.ood_error[-1] == pytest.approx((w @ X_OOD - 1.0) ** 2)
