"""Lesson 2's app, driven without a browser: it redraws, its readout tells the truth about convergence and
hypotheses, and every message it can show names a control the learner has."""
import html
import re

import numpy as np
import pytest

import lpft_edu.apps.theory as theory_app
from lpft_edu import linear
from lpft_edu.apps.theory import LONGER, SHORTER, TheoryApp

DEFAULTS = (("head", SHORTER), ("angle", 30.0), ("phi", 0.9), ("eps", 0.01), ("k", 2), ("m", 4))


@pytest.fixture(scope="module")
def app():
    return TheoryApp()


@pytest.fixture(autouse=True)
def reset(app):
    yield
    for control, value in DEFAULTS:
        getattr(app, control).value = value


def readout(app) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", app.table.value))


def named_controls(message: str) -> list[str]:
    """The control labels a message names: "the 'label' slider/buttons", or a message opening with 'label'."""
    return re.findall(r"(?:^|the )'([^']+)'", message)


def assert_names_existing_controls(app, message: str) -> None:
    labels = {c.description for c in app.controls}
    named = named_controls(message)
    assert named, f"names no control: {message}"
    assert set(named) <= labels, f"names a control that does not exist: {set(named) - labels} in {message}"


def test_constructible_with_no_arguments_and_renders_a_png(app):
    assert app.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert app.error is None
    assert len(app.controls) == 6
    assert "cos theta_max" in app.table.value


@pytest.mark.parametrize("control, value", [("angle", 60.0), ("phi", 0.4), ("eps", 0.05), ("k", 3), ("m", 2),
                                            ("head", LONGER)])
def test_moving_any_slider_redraws(app, control, value):
    before, table = app.image.value, app.table.value
    getattr(app, control).value = value
    assert app.error is None
    assert app.image.value != before
    assert app.table.value != table


def test_the_table_reproduces_the_sliders(app):
    app.angle.value = 50.0
    app.phi.value = 0.6
    inst = app.instance
    assert inst.cos_theta_max == pytest.approx(np.cos(np.deg2rad(50.0)), abs=1e-8)
    assert inst.phi == pytest.approx(0.6, abs=1e-8)
    assert f"{inst.cos_theta_max:.4f}" in app.table.value


def test_ft_curve_never_crosses_the_drawn_bound(app):
    for angle in (0.0, 20.0, 45.0, 70.0):
        app.angle.value = angle
        bound = app.instance.loss_bound()
        assert bound > 0
        assert app.runs["FT"].ood_loss.min() >= bound
        assert app.ood_panel.bound_line.get_visible()
        assert app.ood_panel.bound_line.get_ydata()[0] == pytest.approx(bound)


def test_ft_never_crosses_the_bound_across_the_apps_ranges():
    """The app draws the gradient-flow bound over gradient-descent runs with its own (larger) step."""
    rng = np.random.default_rng(7)
    app = TheoryApp()
    for _ in range(25):
        app.k.value = int(rng.integers(1, 5))
        app.m.value = int(rng.integers(1, theory_app.D - app.k.value))
        app.head.value = str(rng.choice([SHORTER, LONGER]))
        app.phi.value = float(np.round(rng.uniform(0, 1.0 if app.head.value == SHORTER else 3.0) / 0.05) * 0.05)
        app.angle.value = float(rng.integers(0, 91))
        app.eps.value = float(np.round(rng.uniform(0, 0.1) / 0.005) * 0.005)
        assert app.error is None, app.error
        assert app.runs["FT"].ood_loss.min() >= app.instance.loss_bound()


def test_vacuous_bound_is_said_not_drawn(app):
    app.eps.value = 0.3
    assert app.error is None
    assert not app.ood_panel.bound_line.get_visible()
    assert "vacuous" in app.ood_panel.vacuous.get_text()
    assert "vacuous" in readout(app)


def test_bound_turns_vacuous_between_eps_0_080_and_0_085_at_the_defaults(app):
    app.eps.value = 0.08
    assert app.ood_panel.bound_line.get_visible() and "vacuous" not in readout(app)
    app.eps.value = 0.085
    assert not app.ood_panel.bound_line.get_visible()
    assert "eps ||w*|| = 0.085 ≥ cos theta_max · h(phi, ||w*||) = 0.085" in readout(app)


def test_phi_zero_says_why_the_bound_is_vacuous(app):
    app.phi.value = 0.0
    assert "phi = 0" in readout(app) and "vacuous" in readout(app)


# -- convergence: "final" numbers are settled or say they are not ------------------------------------

def test_default_runs_have_settled_and_lp_is_at_its_exact_limit(app):
    assert app.lp_settled
    assert [app.status(m) for m in linear.METHODS] == ["at its limit", "settled", "settled"]
    assert not app.ood_panel.lp_limit_line.get_visible()
    assert app.runs["LP"].ood_loss[-1] == pytest.approx(app.lp_limit["ood"], rel=0.01)


def test_lp_still_falling_at_small_angles_is_marked_and_its_limit_drawn(app):
    app.angle.value = 10.0
    assert not app.lp_settled
    assert app.status("LP") == "still falling"
    assert "still falling" in readout(app)
    assert app.runs["LP"].ood_loss[-1] > 10 * app.lp_limit["ood"]  # really not converged
    assert app.ood_panel.lp_limit_line.get_visible()
    assert app.ood_panel.lp_limit_line.get_ydata()[0] == pytest.approx(app.lp_limit["ood"])


# -- hypotheses in the readout -----------------------------------------------------------------------

def test_readout_says_when_prop_3_7_loses_rank_k(app):
    app.eps.value = 0.0
    assert not any("rank(X B0^T) =" in n and "< k" in n for n in app.hypothesis_notes())
    app.k.value = 3
    app.m.value = 2
    notes = " ".join(app.hypothesis_notes())
    assert "rank(X B0^T) = 2 < k = 3" in notes
    assert f"{app.lp_limit['ood']:.2e}" in notes
    assert app.runs["LP-FT"].ood_loss.min() == pytest.approx(app.lp_limit["ood"], abs=1e-10)  # as the note says
    assert "LP already fits S exactly" in notes  # and the ID claim's k < dim S fails too


def test_readout_says_when_features_lie_inside_S(app):
    app.eps.value = 0.0
    app.angle.value = 90.0
    assert any("R0 lies inside S" in n for n in app.hypothesis_notes())
    assert app.runs["FT"].ood_loss[-1] < 1e-20  # FT reaches 0 too, as the note says


def test_angle_zero_is_handled_not_refused(app):
    app.angle.value = 0.0
    assert app.error is None
    assert app.instance.feature_rank == 0
    assert np.abs(app.runs["LP-FT"].v).max() < 1e-12  # LP-FT never moves from v = 0
    notes = app.hypothesis_notes()
    assert any("rank(X B0^T) = 0" in n for n in notes)
    for note in notes:
        assert "step constant" not in note


def test_every_hypothesis_note_names_only_existing_controls(app):
    seen = set()
    for changes in ({}, {"eps": 0.0}, {"eps": 0.0, "k": 3, "m": 2}, {"angle": 0.0}, {"angle": 90.0, "eps": 0.0},
                    {"k": 4, "m": 3}, {"eps": 0.0, "k": 1, "m": 1}):
        for control, value in DEFAULTS:
            getattr(app, control).value = value
        for control, value in changes.items():
            getattr(app, control).value = value
        assert app.error is None
        for note in app.hypothesis_notes():
            seen.add(note.split(":")[0])
            if named_controls(note):
                assert_names_existing_controls(app, note)
    assert len(seen) >= 5  # every kind of note was reached


# -- messages ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, fragment", [({"m": 8}, "'dim S (training span)' slider down"),
                                               ({"phi": 2.0}, "'head alignment error phi' slider down")])
def test_invalid_combinations_show_the_message_not_a_traceback(app, changes, fragment):
    image = app.image.value
    for control, value in changes.items():
        getattr(app, control).value = value
    assert fragment in app.error
    assert fragment in html.unescape(app.message.value)
    assert app.image.value == image  # the last good picture stays, hidden
    assert app.image.layout.visibility == "hidden" and app.table.layout.visibility == "hidden"
    app.m.value, app.phi.value = 4, 0.9
    assert app.error is None and app.message.value == ""
    assert app.table.layout.visibility == "visible"


def test_longer_head_makes_large_head_errors_valid(app):
    app.phi.value = 2.0
    assert app.error is not None
    assert "'initial head v0 is' buttons" in app.error
    app.head.value = LONGER
    assert app.error is None
    assert app.instance.phi == pytest.approx(2.0, abs=1e-8)


def test_every_reachable_message_names_an_existing_control(app, monkeypatch):
    messages = []
    # Every dim S too large for each k, every head error too large for a shorter head.
    for k in range(1, 5):
        app.k.value = k
        for m in range(theory_app.D - k, theory_app.D - 1):
            app.m.value = m
            messages.append(app.error)
        app.m.value = 1
    app.k.value, app.m.value = 2, 4
    for phi in (1.05, 2.0, 3.0):
        app.phi.value = phi
        messages.append(app.error)
    app.phi.value = 0.9
    # Every control pushed out of its recorded range (what a crafted comm message can do).
    for control in (app.angle, app.phi, app.eps, app.k, app.m):
        control.max = control.max * 10 + 10
        control.value = control.max
        messages.append(app.error)
        control.value = app.ranges[control][1]
        control.max = app.ranges[control][1]
    app.head.options = [SHORTER, LONGER, "sideways"]
    app.head.value = "sideways"
    messages.append(app.error)
    app.head.value = SHORTER
    app.head.options = [SHORTER, LONGER]
    # Failures no slider is responsible for: divergence, and a library message about a fixed parameter.
    for control, value in DEFAULTS:
        getattr(app, control).value = value
    def diverge(*args, **kwargs):
        raise linear.LinearSetupError("Gradient descent diverged for FT. Use a smaller {c}.")
    monkeypatch.setattr(theory_app, "run_methods", diverge)
    app.angle.value = 31.0
    messages.append(app.error)
    monkeypatch.undo()
    app.angle.value = 30.0

    def fixed_parameter(*args, **kwargs):
        raise linear.LinearSetupError("The ground truth w* must be non-zero: make {w_norm} positive.")
    monkeypatch.setattr(theory_app, "construct_instance", fixed_parameter)
    app.eps.value = 0.02
    messages.append(app.error)
    monkeypatch.undo()
    app.eps.value = 0.01

    assert all(messages) and len(messages) >= 15
    for message in messages:
        assert_names_existing_controls(app, message)
        assert "step constant" not in message and "argument" not in message
    assert "'principal angle [deg]' slider back to 30.0" in messages[-2]
    assert "'feature error eps' slider back to 0.01" in messages[-1]


def test_every_library_parameter_the_app_sets_has_a_control(app):
    assert set(theory_app.PARAMETERS.values()) <= set(linear.LinearSetupError.ARGUMENTS)
    assert {getattr(app, a) for a in theory_app.PARAMETERS} == set(app.controls)
