"""The apps check every control's value in Python against the range recorded when they were built:
the browser's slider limits are no protection against a crafted comm message that first raises a
widget's ``max`` and then sets its ``value``."""
import pytest

from lpft_edu.apps.results import ResultsViewerApp
from lpft_edu.apps.theory import TheoryApp
from lpft_edu.apps.toy import ToyApp


@pytest.mark.parametrize("make, name, bad", [
    (ToyApp, "angle", 2_000_000.0),
    (ToyApp, "steps", 1_000_000),
    (TheoryApp, "phi", 50.0),
    (TheoryApp, "m", 40),
])
def test_tampered_slider_range_is_refused_in_python(make, name, bad):
    app = make()
    before = app.image.value
    control = getattr(app, name)
    control.max = bad  # what a crafted message can do: the widget accepts the new max ...
    control.value = bad  # ... and then the value
    assert app.error is not None and "outside its range" in app.error
    assert app.image.value == before  # nothing was computed or drawn for the bad value
    control.value = control.min  # back inside the recorded range: the app recovers
    assert app.error is None or "outside its range" not in app.error


def test_tampered_log_slider_names_its_real_range():
    app = ToyApp()
    app.step.max = 9
    app.step.value = 1e9
    assert "outside its range 0.001 to 3.16228" in app.error


def test_option_outside_the_recorded_options_is_refused():
    app = ResultsViewerApp()
    app.view.options = list(app.view.options) + ["secret"]
    app.view.value = "secret"
    assert app.error is not None and "choose one of its buttons" in app.error


# -- fit for a room: text size, alt text, layout ------------------------------------------------

import html  # noqa: E402

import ipywidgets as widgets  # noqa: E402

from lpft_edu.figures.style import MIN_TEXT_PX, min_points, smallest_text_px, text_px  # noqa: E402


def test_text_size_arithmetic():
    assert text_px(10.8, 80) == pytest.approx(12.0)  # 10.8 pt at 80 dpi, shown at its own width
    assert text_px(10.8, 80, scale=0.5) == pytest.approx(6.0)
    assert min_points(80) == pytest.approx(10.8)
    assert min_points(100) == pytest.approx(8.7)  # 8.64 rounded up, never down
    assert text_px(min_points(100), 100) >= MIN_TEXT_PX


ROOM_APPS = [
    (ToyApp, [("angle", 30.0), ("frame", 100), ("step", 1.0), ("steps", 995)]),
    (TheoryApp, [("angle", 80.0), ("phi", 0.0), ("eps", 0.0), ("k", 4), ("head", "longer than v*")]),
]


@pytest.mark.parametrize("make, moves", ROOM_APPS, ids=["toy", "theory"])
def test_every_plot_text_is_at_least_12_px_as_shown(make, moves):
    app = make()
    # Shown at the PNG's own width (scale 1), so the PNG's pixel sizes are the screen's.
    assert app.image.layout.width == f"{round(app.figure.get_figwidth() * app.figure.dpi)}px"
    assert smallest_text_px(app.figure) >= MIN_TEXT_PX
    for name, value in moves:  # texts that only appear at some settings (warnings, labels) too
        getattr(app, name).value = value
        assert app.error is None, app.error
        assert smallest_text_px(app.figure) >= MIN_TEXT_PX, f"after {name} = {value!r}"


@pytest.mark.parametrize("make, moves", ROOM_APPS, ids=["toy", "theory"])
def test_the_plot_is_described_and_the_description_follows_it(make, moves):
    app = make()
    first = app.image.tooltip
    assert first and len(first) > 40
    assert html.escape(first) in app.description.value
    name, value = moves[0]
    getattr(app, name).value = value
    assert app.image.tooltip != first and html.escape(app.image.tooltip) in app.description.value
    assert app.description.layout.visibility != "hidden"
    app.show_message("something is wrong")  # no picture, so no description of one
    assert app.description.layout.visibility == "hidden"


def test_the_description_names_the_toy_settings():
    app = ToyApp()
    app.angle.value = 12.5
    assert "12.5 degrees" in app.image.tooltip
    for t in app.result.runs:
        assert f"{t.name} {t.ood_error[-1]:.1e}" in app.image.tooltip


@pytest.mark.parametrize("make", [ToyApp, TheoryApp], ids=["toy", "theory"])
def test_plot_beside_its_controls_wrapping_below_when_narrow(make):
    app = make()
    box = app.widget
    assert box.layout.flex_flow == "row wrap"  # beside; under them in a narrow notebook column
    controls, picture = box.children
    assert app.image in picture.children and app.description in picture.children
    assert picture.children.index(app.description) == picture.children.index(app.image) + 1
    sliders = [c for c in app.controls if isinstance(c, widgets.FloatSlider)]
    assert sliders and all(_contains(controls, s) for s in sliders)


def _contains(widget, target) -> bool:
    return widget is target or any(_contains(c, target) for c in getattr(widget, "children", ()))
