"""Lesson 2's app, driven without a browser."""
import numpy as np
import pytest

from lpft_edu.apps.theory import LONGER, SHORTER, TheoryApp


@pytest.fixture(scope="module")
def app():
    return TheoryApp()


@pytest.fixture(autouse=True)
def reset(app):
    yield
    for control, value in (("head", SHORTER), ("angle", 30.0), ("phi", 0.9), ("eps", 0.01), ("k", 2), ("m", 4)):
        getattr(app, control).value = value


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


def test_vacuous_bound_is_said_not_drawn(app):
    app.eps.value = 0.3
    assert app.error is None
    assert not app.ood_panel.bound_line.get_visible()
    assert "vacuous" in app.ood_panel.vacuous.get_text()


@pytest.mark.parametrize("changes, fragment", [({"m": 8}, "dim S slider down"),
                                               ({"phi": 2.0}, "head error slider down")])
def test_invalid_combinations_show_the_message_not_a_traceback(app, changes, fragment):
    image = app.image.value
    for control, value in changes.items():
        getattr(app, control).value = value
    assert fragment in app.error
    assert fragment in app.message.value
    assert app.image.value == image  # the last good picture stays
    app.m.value, app.phi.value = 4, 0.9
    assert app.error is None and app.message.value == ""


def test_longer_head_makes_large_head_errors_valid(app):
    app.phi.value = 2.0
    assert app.error is not None
    app.head.value = LONGER
    assert app.error is None
    assert app.instance.phi == pytest.approx(2.0, abs=1e-8)
