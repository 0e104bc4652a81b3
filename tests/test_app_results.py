"""Lesson 3 results viewer: the shipped smoke example with its banner, the view selector, and
learner-facing messages for missing or malformed files. No torch needed."""
from __future__ import annotations

import copy
import datetime
import html
import json
import subprocess
import sys

import pytest

from lpft_edu.apps.results import (FAKE_BANNER, MAX_FILE_BYTES, PRODUCE, UNKNOWN_BANNER, ResultsViewerApp, banner_for,
                                   example_path, load_results, validate_results)
from lpft_edu.figures.vision import NO_PAPER_NOTE

# A results file as lpft-mini (the laptop experiment on sklearn digits) writes it: the same schema,
# accuracies as means over seeds with their standard deviations, no epochs, no distortion.
MINI = {
    "schema": "lpft-edu/cifar-stl-results/v1", "experiment": "lpft-mini", "status": "complete",
    "data_kind": "real", "smoke": False, "command": "lpft-mini --seeds 5",
    "datasets": {"id": "digits", "ood": "digits rotated 30 deg"},
    "config": {"backbone": "mlp", "epochs": 30}, "device": {"type": "cpu", "name": "laptop"},
    "methods": {
        name: {"status": "complete", "id_acc": i, "ood_acc": o, "id_acc_std": si, "ood_acc_std": so,
               "per_seed": [{"seed": k, "id_acc": i, "ood_acc": o} for k in range(5)]}
        for name, i, o, si, so in (("LP", 0.91, 0.62, 0.01, 0.03), ("FT", 0.97, 0.55, 0.005, 0.04),
                                   ("LP-FT", 0.97, 0.66, 0.006, 0.02))
    },
}
EXAMPLE = json.loads(example_path().read_text())


def opened(content: dict, name: str = "results.json") -> ResultsViewerApp:
    app = ResultsViewerApp()
    app.load_bytes(json.dumps(content).encode(), name)
    return app


def figure_texts(app) -> list[str]:
    texts = [t.get_text() for t in app.figure.texts]
    for ax in app.figure.axes:
        texts += [ax.get_title(), *(t.get_text() for t in ax.texts)]
        if ax.get_legend() is not None:
            texts += [t.get_text() for t in ax.get_legend().get_texts()]
    return texts


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
    r = copy.deepcopy(EXAMPLE)
    r["methods"]["FT"]["ood_acc"] = 97.3  # a percentage where a fraction belongs
    r["methods"]["LP-FT"]["epochs"] = {"1": 0.5}  # records where a list belongs
    path = tmp_path / "results.json"
    path.write_text(json.dumps(r))
    with pytest.raises(ValueError) as err:
        load_results(path)
    assert "methods.FT.ood_acc" in str(err.value) and "methods.LP-FT.epochs" in str(err.value)


def test_banner_for_real_runs():
    assert banner_for({"data_kind": "real", "smoke": False}) is None
    assert banner_for({"data_kind": "fake", "smoke": True}) == FAKE_BANNER
    assert "fake" in banner_for({"data_kind": "fake", "smoke": False})


def test_a_view_is_drawn_once_per_file_and_then_reused(monkeypatch):
    # How fast a switch is belongs to benchmarks/run_all.py (ResultsViewerApp); what can be asserted
    # here is why it is fast: a view already drawn for this file is not drawn again.
    app = ResultsViewerApp()
    drawn = []
    real = app._draw_view
    monkeypatch.setattr(app, "_draw_view", lambda view: (drawn.append(view), real(view)))
    first = {}
    for value in ["epochs", "distortion", "accuracy"] * 3:
        app.view.value = value
        first.setdefault(value, bytes(app.image.value))
        assert bytes(app.image.value) == first[value] and app.error is None
    assert drawn == ["epochs", "distortion"]  # accuracy was drawn when the app opened
    app.load(example_path())  # another file: every view is drawn afresh
    assert drawn == ["epochs", "distortion", "accuracy"]


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


# -- lpft-mini: the same schema, a different experiment -----------------------------------------

def test_lpft_mini_is_drawn_with_error_bars_and_without_the_papers_numbers():
    app = opened(MINI)
    assert app.error is None and validate_results(MINI) == []
    ours = app.figure.axes[0]
    bars = [c for c in ours.containers if hasattr(c, "errorbar")]
    assert len(bars) == 6 and all(c.errorbar is not None for c in bars)  # ID and OOD of each method: +-1 std
    # The half-length of LP's OOD error bar is its std in percentage points.
    segments = bars[1].errorbar.lines[2][0].get_segments()
    (_, lo), (_, hi) = segments[0]
    assert hi - lo == pytest.approx(2 * 3.0)
    texts = figure_texts(app)
    # Never the paper's CIFAR->STL bars beside a laptop experiment as if comparable.
    assert not any("Kumar et al. 2022" in t or t.startswith("Paper:") for t in texts)
    assert all(len(ax.patches) == 0 for ax in app.figure.axes[1:])
    assert any(NO_PAPER_NOTE.replace(" for ", "\nfor ") in t for t in texts)
    assert NO_PAPER_NOTE in app.banner.value
    # The file's own test-set names label the bars, the table and the alt text.
    assert "ID: digits" in texts and "OOD: digits rotated 30 deg" in texts
    assert "digits rotated 30 deg" in app.table.value and "digits rotated 30 deg" in app.image.tooltip
    assert "mean of 5 seeds" in ours.get_title() and "97.0 &plusmn; 0.5" in app.table.value
    # No data warning: digits are real data (the note is informative, not a warning).
    assert "&#9888;" not in app.banner.value


def test_lpft_mini_views_without_records_say_what_to_look_at():
    app = opened(MINI)
    for view in ("epochs", "distortion"):
        app.view.value = view
        assert app.error is not None and "choose 'ID vs OOD accuracy'" in app.error
        assert app.image.layout.visibility == "hidden"
    app.view.value = "accuracy"
    assert app.error is None and app.image.layout.visibility == "visible"


def test_cifar_stl_keeps_the_paper_panel_and_default_test_set_names():
    r = copy.deepcopy(EXAMPLE)
    r["data_kind"], r["smoke"] = "real", False
    app = opened(r)
    texts = figure_texts(app)
    assert "ID: CIFAR-10 test" in texts and "OOD: STL-10 test" in texts
    assert any(t.startswith("Paper:") for t in texts) and len(app.figure.axes[1].patches) == 6
    assert app.banner.value == ""  # real, full-size, complete: nothing to warn about


@pytest.mark.parametrize("kind, expected", [("fake", FAKE_BANNER), ("unknown", UNKNOWN_BANNER)])
def test_data_kind_banners_stay_for_cifar_stl(kind, expected):
    r = copy.deepcopy(EXAMPLE)
    r["data_kind"] = kind
    app = opened(r)
    assert html.escape(expected) in app.banner.value and expected in (app.banner_text or "")
    assert any(expected in t for t in figure_texts(app))


@pytest.mark.parametrize("bad, expected", [
    ({"experiment": "cifar-10.1"}, "'experiment' is 'cifar-10.1'"),
    ({"datasets": {"id": "digits"}}, "'datasets' should name the test sets"),
    ({"datasets": ["a", "b"]}, "'datasets' should name the test sets"),
    ({"datasets": {"id": "", "ood": "x"}}, "'datasets' should name the test sets"),
])
def test_bad_experiment_fields_are_named(bad, expected):
    app = opened({**MINI, **bad})
    assert app.error is not None and expected in app.error


# -- runs that did not finish ------------------------------------------------------------------

def _with_status(status: str, method: str = "FT", **extra) -> dict:
    r = copy.deepcopy(EXAMPLE)
    r["status"] = status
    m = r["methods"][method]
    m.update(status=status, id_acc=None, ood_acc=None, distortion=None, epochs=m["epochs"][:1], **extra)
    return r


@pytest.mark.parametrize("status, banner", [
    ("running", "Run still in progress"),
    ("interrupted", "Interrupted run"),
    ("diverged", "Diverged: FT"),
])
def test_unfinished_runs_are_shown_as_such(status, banner):
    app = opened(_with_status(status, error="loss became nan at epoch 1: lower --lr-ft (e.g. 1e-4)"))
    assert app.error is None, app.error
    assert banner in app.banner.value and "&#9888;" in app.banner.value
    assert f"run status: {status}" in app.table.value
    row = app.table.value.split("<td><b>FT</b></td>")[1].split("</tr>")[0]
    assert status in row
    if status == "diverged":
        assert "loss became nan at epoch 1: lower --lr-ft (e.g. 1e-4)" in row
    # ... in the figure too, so a screenshot keeps it.
    texts = figure_texts(app)
    assert any(status in t for t in texts)


def test_a_file_that_says_complete_while_a_method_diverged_is_shown_diverged():
    r = _with_status("diverged", error="loss exploded")
    r["status"] = "complete"
    app = opened(r)
    assert "Diverged: FT" in app.banner.value and "run status: diverged" in app.table.value


def test_a_diverged_methods_error_is_escaped():
    app = opened(_with_status("diverged", error="<b>lower</b> the LR & retry"))
    assert "&lt;b&gt;lower&lt;/b&gt; the LR &amp; retry" in app.table.value
    assert "<b>lower</b>" not in app.table.value


# -- uploads: size, faults, nothing stale on screen --------------------------------------------

def test_an_upload_over_the_cap_is_refused_with_the_limit_and_the_reason():
    app = ResultsViewerApp()
    big = b" " * (MAX_FILE_BYTES + 1)
    app.upload.value = ({"name": "huge.json", "type": "application/json", "size": len(big),
                         "content": memoryview(big), "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
    assert app.error is not None and "huge.json is 5.0 MB" in app.error
    assert f"up to {MAX_FILE_BYTES // 2**20} MB" in app.error and "about 10 kB" in app.error
    assert app.results is None and app.table.value == "" and app.banner.value == "" and app.image.value == b""
    assert app.upload.value == ()  # the upload leaves the widget (and the kernel's memory)
    # Just under the cap, a file is read (and here refused as JSON, not for its size).
    app.load_bytes(b" " * MAX_FILE_BYTES, "padded.json")
    assert "not valid JSON" in app.error


def test_a_file_on_disk_over_the_cap_is_not_read(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 10)  # sparse: no need to write 5 MB
    monkeypatch.setattr(type(path), "read_bytes", lambda self: pytest.fail("read a file over the cap"))
    app = ResultsViewerApp(path)
    assert "results.json is 5.0 MB" in app.error


def test_any_exception_while_loading_shows_a_message_and_clears_the_old_plot(monkeypatch):
    app = ResultsViewerApp()
    assert app.table.value and app.banner.value and app.image.value
    import lpft_edu.apps.results as viewer
    monkeypatch.setattr(viewer, "parse_results", lambda data, name: (_ for _ in ()).throw(MemoryError("boom")))
    app.load_bytes(b"{}", "other.json")
    assert app.error is not None and "other.json could not be read (MemoryError" in app.error
    assert app.results is None and app.table.value == "" and app.banner.value == ""
    assert app.image.value == b"" and app.image.layout.visibility == "hidden" and not app.figure.axes
    assert app.description.value == "" and not app.image.tooltip
    for _, view in app.view.options:  # every view says the same, none draws the old file
        app.view.value = view
        assert "could not be read" in app.error and app.image.value == b""


def test_the_plot_has_alt_text_that_follows_the_view():
    app = ResultsViewerApp()
    assert app.image.tooltip.startswith("Bar chart") and app.image.tooltip in app.description.value.replace("&#x27;", "'")
    app.view.value = "epochs"
    assert app.image.tooltip.startswith("Line chart") and "Line chart" in app.description.value


def test_plot_text_is_at_least_12_px_at_the_size_shown():
    from lpft_edu.figures.style import MIN_TEXT_PX, smallest_text_px
    for content in (EXAMPLE, MINI, _with_status("diverged", error="x")):
        app = opened(content)
        for _, view in app.view.options:
            app.view.value = view
            if app.error is None:
                assert smallest_text_px(app.figure) >= MIN_TEXT_PX - 0.05, view


def test_a_fast_lpft_mini_run_says_so():
    app = opened({**MINI, "fast": True})
    assert "Fast run" in app.banner.value and "&#9888;" in app.banner.value
    assert "'fast' should be true or false" in opened({**MINI, "fast": "yes"}).error


def test_the_demo_opens_a_real_lpft_mini_run_consistent_with_itself():
    """The Voila demo's default file is a real `lpft-mini --seeds 5` run (real digits), not fake data:
    it validates, has 5 seeds, and each method's mean and std are those of its per-seed records."""
    import statistics

    from lpft_edu.apps.results import example_mini_path

    r = json.loads(example_mini_path().read_text())
    assert validate_results(r) == []
    assert r["experiment"] == "lpft-mini" and r["data_kind"] == "real" and r["status"] == "complete"
    assert not r.get("fast") and r["config"]["seeds"] == 5
    for name in ("LP", "FT", "LP-FT"):
        m = r["methods"][name]
        assert [s["seed"] for s in m["per_seed"]] == [0, 1, 2, 3, 4]
        for key in ("id_acc", "ood_acc"):
            values = [s[key] for s in m["per_seed"]]
            assert m[key] == pytest.approx(statistics.mean(values))
            assert m[f"{key}_std"] == pytest.approx(statistics.stdev(values))
    app = ResultsViewerApp(example_mini_path())
    assert "no numbers for this laptop experiment" in app.banner.value and "fake" not in app.banner.value.lower()
