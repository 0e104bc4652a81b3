"""Lesson 3 results viewer: the shipped smoke example with its banner, the view selector, and
learner-facing messages for missing or malformed files. No torch needed."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import pytest

from lpft_edu.apps.results import (FAKE_BANNER, PRODUCE, ResultsViewerApp, banner_for, example_path, load_results,
                                   validate_results)


def test_default_opens_the_shipped_smoke_example_with_a_banner():
    app = ResultsViewerApp()
    assert app.error is None and bytes(app.image.value).startswith(b"\x89PNG")
    assert app.path == example_path()
    r = app.results
    # produced by the CLI's smoke mode, and it says so in its content
    assert r["smoke"] is True and r["data_kind"] == "fake" and r["command"].startswith("lpft-cifar-stl --smoke")
    assert "fake" in r["banner"].lower() and r["status"] == "complete"
    assert validate_results(r) == []
    assert FAKE_BANNER in app.banner.value and "not real CIFAR/STL accuracy" in app.banner.value
    assert app.banner_text == FAKE_BANNER  # also drawn into the figure itself
    assert "LP-FT" in app.table.value and "lpft-cifar-stl --smoke" in app.table.value


def test_selector_changes_the_plot():
    app = ResultsViewerApp()
    assert app.controls == [app.view]
    images = {}
    for _, value in app.view.options:
        app.view.value = value
        assert app.error is None
        images[value] = bytes(app.image.value)
    assert len(set(images.values())) == 3
    app.view.value = "accuracy"
    assert bytes(app.image.value) == images["accuracy"]


def test_paper_panel_is_labelled_as_the_papers():
    app = ResultsViewerApp()
    app.view.value = "accuracy"
    titles = [ax.get_title() for ax in app.figure.axes]
    assert any("reported by Kumar et al. 2022" in t for t in titles)
    assert any(t.startswith("This run (fake data") for t in titles)


def test_missing_file_shows_what_and_how(tmp_path):
    app = ResultsViewerApp(tmp_path / "results.json")
    assert app.results is None and "No results file" in app.error and "lpft-cifar-stl --smoke" in app.error
    assert "Traceback" not in app.message.value and "lpft-cifar-stl" in app.message.value
    app.view.value = "epochs"  # still a message, never an exception
    assert "No results file" in app.error


@pytest.mark.parametrize("content, expected", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not an object"),
    (json.dumps({"schema": "something-else", "methods": {}}), "'methods' has none of LP, FT, LP-FT"),
])
def test_malformed_files_explain(tmp_path, content, expected):
    path = tmp_path / "results.json"
    path.write_text(content)
    app = ResultsViewerApp(path)
    assert expected in app.error and PRODUCE in app.error


def test_incomplete_method_is_reported(tmp_path):
    r = json.loads(example_path().read_text())
    r["methods"]["FT"]["ood_acc"] = 97.3  # a percentage where a fraction belongs
    del r["methods"]["LP-FT"]["epochs"]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(r))
    with pytest.raises(ValueError) as err:
        load_results(path)
    assert "methods.FT.ood_acc" in str(err.value) and "methods.LP-FT.epochs" in str(err.value)


def test_banner_for_real_runs():
    assert banner_for({"data_kind": "real", "smoke": False}) is None
    assert banner_for({"data_kind": "fake", "smoke": True}) == FAKE_BANNER
    assert "fake" in banner_for({"data_kind": "fake", "smoke": False})


def test_switching_views_is_fast():
    app = ResultsViewerApp()
    times = []
    for value in ["epochs", "distortion", "accuracy"] * 4:
        t0 = time.perf_counter()
        app.view.value = value
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.15


def test_viewer_imports_no_torch():
    code = "import sys, lpft_edu.apps.results; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_uploaded_bytes_open_like_a_file_and_bad_ones_show_the_fix():
    from lpft_edu.apps.results import ResultsViewerApp, example_path

    app = ResultsViewerApp()
    app.load_bytes(b'{"schema": "lpft-edu/cifar-stl-results/v1", "methods": ', "results.json")
    assert "results.json is not valid JSON" in app.error and "lpft-cifar-stl" in app.error
    app.load_bytes(example_path().read_bytes(), "example_smoke_results.json")
    assert app.error is None and app.results is not None
