"""Lesson 1's app, driven without a browser."""
import pytest

from lpft_edu.apps.toy import ToyApp
from lpft_edu.toy import ToySetup


@pytest.fixture
def app():
    return ToyApp(ToySetup(angle_deg=-10, steps=100))


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


def test_steps_resize_the_animation_range(app):
    app.steps.value = 250
    assert app.frame.max == app.play.max == 500
    assert app.frame.value == 500


@pytest.mark.parametrize("control, value, fragment", [("angle", 45.0, "perpendicular"), ("step", 3.0, "diverged")])
def test_bad_settings_show_a_message_not_a_traceback(app, control, value, fragment):
    image = app.image.value
    getattr(app, control).value = value
    assert fragment in app.error
    assert fragment in app.message.value
    assert app.image.value == image  # the last good picture stays
    getattr(app, control).value = {"angle": -10.0, "step": 0.1}[control]
    assert app.error is None and app.message.value == ""


def test_error_hides_the_stale_picture_until_settings_are_valid_again(app):
    app.angle.value = 45.0
    assert app.image.layout.visibility == "hidden"
    app.angle.value = -10.0
    assert app.image.layout.visibility == "visible"


def test_play_control_starts_at_the_frame_shown():
    app = ToyApp(ToySetup(steps=100))
    assert app.play.value == app.frame.value == 200
