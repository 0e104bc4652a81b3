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
