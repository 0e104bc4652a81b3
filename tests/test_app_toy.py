"""Lesson 1's app, driven without a browser."""
import dataclasses
import re

import ipywidgets as widgets
import numpy as np
import pytest
import traitlets
from matplotlib.colors import to_rgb

from lpft_edu.apps.toy import STEPS_MAX, ToyApp
from lpft_edu.exercises.toy import check_no_distortion_head
from lpft_edu.exercises import passed
from lpft_edu.figures import METHOD_COLORS
from lpft_edu.figures.toy import METHODS
from lpft_edu.toy import ToyError, ToySetup, feature_at_angle, lp_head_closed_form, run_toy, X_ID


@pytest.fixture
def app():
    return ToyApp(ToySetup(angle_deg=-10, steps=100))


def descriptions(app):
    return {c.description for c in app.controls}


def test_initial_render_is_a_png(app):
    assert app.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert app.error is None
    assert "OOD error" in app.table.value


@pytest.mark.parametrize("control, value", [("angle", 20.0), ("v0", 0.8), ("step", 0.05), ("steps", 200), ("frame", 10)])
def test_moving_any_slider_changes_the_picture(app, control, value):
    before = app.image.value
    getattr(app, control).value = value
    assert app.error is None
    assert app.image.value != before


def test_angle_changes_the_numbers_in_the_table(app):
    before = app.table.value
    app.angle.value = 5.0
    assert app.table.value != before


def test_frame_move_reuses_the_runs(app):
    result = app.result
    app.frame.value = 3
    assert app.result is result


def test_steps_resize_the_animation_range_and_the_recorded_range(app):
    app.steps.value = 250
    assert app.frame.max == app.play.max == 500
    assert app.frame.value == app.play.value == 500
    assert app.ranges[app.frame] == (0, 500)
    app.frame.value = 480  # inside the new range: accepted
    assert app.error is None


def test_work_per_move_is_capped():
    app = ToyApp()
    assert app.steps.max == STEPS_MAX == 1000
    assert app.ranges[app.steps] == (5, 1000)


@pytest.mark.parametrize("control, value, fragment", [("angle", 45.0, "perpendicular"), ("step", 3.0, "diverged")])
def test_bad_settings_show_a_message_not_a_traceback(app, control, value, fragment):
    image = app.image.value
    getattr(app, control).value = value
    assert fragment in app.error
    assert fragment in app.message.value
    assert app.image.value == image  # the last good picture stays (hidden)
    getattr(app, control).value = {"angle": -10.0, "step": 0.1}[control]
    assert app.error is None and app.message.value == ""


@pytest.mark.parametrize("control, value", [("angle", 45.0), ("step", 3.0)])
def test_a_message_clears_the_stale_table(app, control, value):
    getattr(app, control).value = value
    assert app.error is not None
    assert app.table.value == ""  # no b0 . x_ood or errors of the previous setting under the message
    getattr(app, control).value = {"angle": -10.0, "step": 0.1}[control]
    assert "OOD error" in app.table.value and "b0 &middot; x_ood" in app.table.value


def test_a_refused_value_clears_the_table_and_the_same_valid_setting_restores_it(app):
    good = app.table.value
    app.v0.max = 50
    app.v0.value = 50
    assert "outside its range" in app.error and app.table.value == ""
    app.v0.value = 0.0  # the setting shown before
    assert app.error is None and app.table.value == good


def test_error_hides_the_stale_picture_until_settings_are_valid_again(app):
    app.angle.value = 45.0
    assert app.image.layout.visibility == "hidden"
    app.angle.value = -10.0
    assert app.image.layout.visibility == "visible"


def test_play_is_linked_in_python_and_starts_at_the_frame_shown():
    """A Python-side link (jslink's widget breaks under Colab's widget manager) that moves the
    frame in the kernel; both start at the last frame, so the readout is right at load."""
    app = ToyApp(ToySetup(steps=100))
    assert isinstance(app.play_link, traitlets.link)
    assert not isinstance(app.play_link, widgets.Widget)  # jslink returns a widget (a front-end link)
    assert app.play.value == app.frame.value == 200
    before = app.image.value
    app.play.value = 40  # what the play button does: the frame follows in the kernel
    assert app.frame.value == 40 and app.image.value != before
    app.frame.value = 60
    assert app.play.value == 60


# -- convergence -------------------------------------------------------------------------------

def test_defaults_converge_and_show_no_note():
    app = ToyApp()
    assert "Not converged" not in app.table.value and "NO" not in app.table.value
    assert not app.panels[1].warning.get_visible()


@pytest.mark.parametrize("control, value", [("steps", 5), ("step", 0.001)])
def test_not_converged_note_in_readout_and_figure(control, value):
    app = ToyApp()
    getattr(app, control).value = value
    assert app.error is None
    assert "Not converged" in app.table.value
    warning = app.panels[1].warning
    assert warning.get_visible() and "NOT CONVERGED" in warning.get_text()


def test_saddle_start_is_reported_as_not_converged_for_ft_only():
    app = ToyApp()
    app.angle.value, app.v0.value = 15.0, -0.5  # v0 = -(b0 . x_id): FT heads for v = b = 0 and stalls
    assert app.panels[1].warning.get_text() == "NOT CONVERGED: FT"


def test_lpft_is_the_converged_lp_at_every_slider_angle_at_the_default_settings():
    app = ToyApp()
    angles = np.arange(app.angle.min, app.angle.max + app.angle.step / 2, app.angle.step)
    assert len(angles) == 681
    refused = 0
    for angle in angles:
        setup = dataclasses.replace(app.setup, angle_deg=float(angle))
        try:
            result = run_toy(setup)
        except ToyError:
            refused += 1
            continue
        assert result.not_converged() == [], angle
        v_lp = lp_head_closed_form(setup.b0, setup.y_id)
        assert result.lpft.v[-1] == pytest.approx(v_lp, rel=1e-9), angle
        assert np.max(np.abs(result.lpft.b[-1] - setup.b0)) < 1e-9, angle
        assert result.lpft.ood_error[-1] == pytest.approx(result.lp.ood_error[-1], rel=1e-8, abs=1e-20), angle
    assert refused == 1  # 45 degrees, where b0 is perpendicular to x_id


# -- ranges and messages -----------------------------------------------------------------------

def test_slider_ranges_cover_the_exercises():
    app = ToyApp()
    v_lp_30 = lp_head_closed_form(feature_at_angle(30.0), 1.0)  # exercise 3's answer, 3.86
    assert app.v0.min < -v_lp_30 and v_lp_30 < app.v0.max
    assert app.angle.step <= 0.5
    app.angle.value = 30.0
    app.v0.value = round(v_lp_30, 2)  # the slider's nearest value: FT's b barely moves
    assert app.error is None and float(app.result.ft.b[-1] @ X_ID) == pytest.approx(app.setup.b0 @ X_ID, abs=1e-3)
    assert passed(check_no_distortion_head, v_lp_30, angle_deg=30.0)


def reachable_messages():
    """Every message the app can show: refused settings, refused values, and the convergence note."""
    messages = []
    app = ToyApp()
    for control, value in [("angle", 45.0), ("step", app.step.base ** app.step.max), ("v0", float("nan"))]:
        getattr(app, control).value = value
        messages.append(app.error)
        getattr(app, control).value = {"angle": -10.0, "step": 0.1, "v0": 0.0}[control]
    for name in ("angle", "v0", "step", "steps", "frame"):  # tampered ranges
        app = ToyApp()
        control = getattr(app, name)
        control.max = control.max + 10
        control.value = control.base ** control.max if name == "step" else control.max
        messages.append(app.error)
    for settings in (dict(steps=5), dict(angle_deg=15.0, v0=-0.5)):
        app = ToyApp(ToySetup(**settings))
        note = re.search(r"&#9888; (.*?)</p>", app.table.value).group(1)
        messages.append(note.replace("&#x27;", "'"))
    return messages


def test_every_message_names_only_controls_that_exist():
    names = descriptions(ToyApp())
    assert names == {"angle(b0, w*) [deg]", "FT initial head v0", "step size × curvature", "steps per method", "show step"}
    messages = reachable_messages()
    assert len(messages) == 10 and all(messages)
    for msg in messages:
        quoted = set(re.findall(r"'([^']+)'", msg))
        assert quoted, f"names no control: {msg}"
        assert quoted <= names, f"names a control that does not exist: {quoted - names} in {msg}"


# -- every method visible and labelled ---------------------------------------------------------

def test_each_method_is_drawn_visible_and_labelled_even_where_lpft_covers_lp():
    app = ToyApp()  # at -10 degrees LP-FT coincides with LP everywhere LP is drawn
    app.figure.canvas.draw()
    rgba = np.asarray(app.figure.canvas.buffer_rgba())[..., :3]
    height = rgba.shape[0]
    for panel in app.panels:
        lines = panel.path if hasattr(panel, "path") else panel.curve
        texts = {panel.text[m].get_text(): panel.text[m] for m in METHODS}
        assert set(texts) == set(METHODS)
        x0, y0, x1, y1 = panel.ax.get_window_extent().extents.astype(int)
        region = rgba[height - y1:height - y0, x0:x1]
        for m in METHODS:
            assert lines[m].get_visible() and lines[m].get_label() == m
            assert texts[m].get_visible() and texts[m].get_color() == METHOD_COLORS[m]
            color = (np.array(to_rgb(METHOD_COLORS[m])) * 255).round().astype(np.uint8)
            pixels = int(np.all(region == color, axis=-1).sum())
            assert pixels > 100, f"{m} is hidden in {type(panel).__name__} ({pixels} pixels of its colour)"
