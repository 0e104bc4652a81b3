"""Real-browser tests of the Voila demos: what a workshop room sees.

One Voila server for the module (started from the repository root, so it reads the shipped
voila.json: preheated kernels, the trimmed page), headless Debian Chromium through Playwright, and
a fresh page per demo. For each demo: the widgets appear, moving a slider (keyboard on the handle,
or typing into the editable readout) changes both the numeric readout and the plot, and bad input
shows the app's message instead of a traceback. Screenshots land in test-artifacts/ (gitignored);
so do the Voila log and the measured timings (browser-timings.json).

Skips, with the command that fixes it, when /usr/bin/chromium or Playwright is missing.
Latency budgets are measured by benchmarks/load_test.py; the bounds here only catch breakage.
"""
from __future__ import annotations

import importlib.util
import json
import time

import pytest

import browser_support as bs

pytestmark = pytest.mark.browser

_missing = bs.chromium_missing() or bs.voila_available()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402  (after the skip: may be absent)

# Generous ceilings: a stuck page fails in seconds, not minutes; the real budgets are in the
# load test (median time to widgets < 3 s, slider to plot < 300 ms).
READY_TIMEOUT_MS = 45_000
UPDATE_TIMEOUT_MS = 15_000
TIMINGS: dict[str, dict] = {}


def _app_available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


needs_theory = pytest.mark.skipif(not _app_available("lpft_edu.apps.theory"),
                                  reason="lpft_edu.apps.theory (TheoryApp) is not in this checkout yet")
needs_results = pytest.mark.skipif(not _app_available("lpft_edu.apps.results"),
                                   reason="lpft_edu.apps.results (ResultsViewerApp) is not in this checkout yet")


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def voila():
    bs.ARTIFACTS.mkdir(exist_ok=True)
    server = bs.VoilaServer(log_path=bs.ARTIFACTS / "voila-browser-tests.log").start()
    kernels_seen: set = set()
    server.kernels_seen = kernels_seen
    try:
        yield server
    finally:
        kernels_seen.update(server.kernel_processes())
        server.stop()
        (bs.ARTIFACTS / "browser-timings.json").write_text(json.dumps(TIMINGS, indent=2))
    leftovers = [k.pid for k in kernels_seen if k.is_running() and k.status() != "zombie"]
    assert not leftovers, f"kernels left running after Voila stopped: {leftovers}"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(**bs.launch_kwargs())
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, voila):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.blocked = []  # non-loopback requests the page tried (the template's CDN fonts)
    page.errors = []

    def route(r):
        if bs.is_loopback_url(r.request.url):
            r.continue_()
        else:
            page.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    try:
        yield page
    finally:
        voila.kernels_seen.update(voila.kernel_processes())
        context.close()


# -- helpers -----------------------------------------------------------------------------------

def open_demo(page, voila, demo: str) -> float:
    """Load a demo and wait for its widgets; returns the time to widgets in seconds."""
    t0 = time.perf_counter()
    page.goto(voila.url(demo), wait_until="commit")
    try:
        page.wait_for_function(bs.WIDGETS_READY_JS, timeout=READY_TIMEOUT_MS)
    except Exception:
        shot(page, f"{demo}-not-ready")
        raise AssertionError(
            f"{demo}: widgets did not appear within {READY_TIMEOUT_MS / 1000:.0f} s. "
            f"Voila error on the page: {page.evaluate(bs.VOILA_ERROR_JS)!r}; "
            f"log tail:\n{voila.log_text()[-2000:]}") from None
    elapsed = time.perf_counter() - t0
    TIMINGS.setdefault(demo, {})["time_to_widgets_s"] = round(elapsed, 3)
    return elapsed


def shot(page, name: str) -> None:
    bs.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(bs.ARTIFACTS / f"{name}.png"), full_page=True)


def readout(page, label: str) -> str:
    return page.locator(bs.slider_selector(label)).locator(".widget-readout").inner_text()


def image_src(page) -> str:
    return page.evaluate(bs.IMAGE_SRC_JS)


def press_on_handle(page, label: str, key: str = "ArrowRight") -> None:
    """Move a slider one step with the keyboard, as a learner tabbing to it would."""
    page.locator(bs.slider_selector(label)).locator(".noUi-handle").first.focus()
    page.keyboard.press(key)


def type_in_readout(page, label: str, value) -> None:
    """Type a value into a slider's editable readout and press Enter."""
    box = page.locator(bs.slider_selector(label)).locator(".widget-readout")
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def wait_image_change(page, old_src: str, what: str) -> float:
    t0 = time.perf_counter()
    try:
        page.wait_for_function(bs.IMAGE_CHANGED_JS, arg=old_src, timeout=UPDATE_TIMEOUT_MS)
    except Exception:
        raise AssertionError(f"the plot did not change after {what} (message: {message(page)!r})") from None
    return time.perf_counter() - t0


def message(page) -> str:
    return page.evaluate(bs.MESSAGE_JS) or ""


def wait_message(page, pattern: str, what: str) -> str:
    try:
        page.wait_for_function(
            "(p) => { const m = document.querySelector('.lpft-message');"
            " return !!m && new RegExp(p, 'i').test(m.innerText); }",
            arg=pattern, timeout=UPDATE_TIMEOUT_MS)
    except Exception:
        raise AssertionError(f"no message matching /{pattern}/ after {what}; message line: {message(page)!r}") from None
    return message(page)


def wait_no_message(page, what: str) -> None:
    try:
        page.wait_for_function("() => { const m = document.querySelector('.lpft-message');"
                               " return !!m && m.innerText.trim() === ''; }", timeout=UPDATE_TIMEOUT_MS)
    except Exception:
        raise AssertionError(f"the message did not clear after {what}: {message(page)!r}") from None


def assert_no_code_on_screen(page) -> None:
    text = page.inner_text("body")
    assert "import " not in text and "Traceback" not in text, "Voila shows code or a traceback:\n" + text[:1500]


def assert_slider_moves_plot(page, demo: str, label: str, key: str = "ArrowRight") -> float:
    before_text, before_src = readout(page, label), image_src(page)
    t0 = time.perf_counter()
    press_on_handle(page, label, key)
    wait_image_change(page, before_src, f"pressing {key} on the '{label}' slider")
    elapsed = time.perf_counter() - t0
    after_text = readout(page, label)
    assert after_text != before_text, f"the '{label}' readout stayed at {before_text!r}"
    TIMINGS.setdefault(demo, {})["slider_to_plot_s"] = round(elapsed, 3)
    return elapsed


# -- the toy demo (lesson 1) -------------------------------------------------------------------

def test_toy_explorer_renders_and_responds(page, voila):
    t = open_demo(page, voila, "toy_explorer")
    shot(page, "toy_explorer-1-loaded")
    assert page.get_by_text("Feature distortion in two dimensions").is_visible()
    assert_no_code_on_screen(page)
    assert page.locator(".widget-slider").count() >= 4
    assert message(page) == ""

    before = bs.parse_readout(readout(page, "angle"))
    dt = assert_slider_moves_plot(page, "toy_explorer", "angle")
    assert bs.parse_readout(readout(page, "angle")) == pytest.approx(before + 1)
    # The summary table follows the slider too (same kernel round trip).
    shot(page, "toy_explorer-2-after-slider")
    assert not page.errors, f"JavaScript errors on the page: {page.errors}"
    assert all(not bs.is_loopback_url(u) for u in page.blocked)
    assert t < 45 and dt < 15


def test_toy_explorer_bad_input_shows_message(page, voila):
    open_demo(page, voila, "toy_explorer")
    # 45 degrees: b0 is perpendicular to the training point, LP is undefined.
    type_in_readout(page, "angle", 45)
    text = wait_message(page, "perpendicular", "typing 45 into the angle readout")
    assert "angle" in text.lower()
    assert bs.parse_readout(readout(page, "angle")) == 45
    shot(page, "toy_explorer-3-message-angle")
    # On to a valid angle (not the one before: the same picture would send no update): the
    # message goes away and a new plot arrives.
    src = image_src(page)
    type_in_readout(page, "angle", -20)
    wait_no_message(page, "typing -20 into the angle readout")
    wait_image_change(page, src, "returning to a valid angle")
    # A step size so large that gradient descent diverges.
    type_in_readout(page, "step size", 3)
    text = wait_message(page, "diverged", "typing a step size of 3")
    assert "step" in text.lower()
    shot(page, "toy_explorer-4-message-step")
    assert_no_code_on_screen(page)


# -- the theory demo (lesson 2) ----------------------------------------------------------------

@needs_theory
def test_theory_explorer_renders_responds_and_rejects_bad_input(page, voila):
    open_demo(page, voila, "theory_explorer")
    shot(page, "theory_explorer-1-loaded")
    assert_no_code_on_screen(page)
    for label in ("principal angle", "head alignment error", "feature error eps", "features k"):
        assert page.locator(bs.slider_selector(label)).count() == 1, f"no '{label}' slider on the page"
    assert message(page) == ""

    before = bs.parse_readout(readout(page, "principal angle"))
    dt = assert_slider_moves_plot(page, "theory_explorer", "principal angle")
    assert bs.parse_readout(readout(page, "principal angle")) == pytest.approx(before + 1)
    src = image_src(page)
    type_in_readout(page, "head alignment error", 0.5)
    wait_image_change(page, src, "typing 0.5 into the head alignment error readout")
    assert bs.parse_readout(readout(page, "head alignment error")) == pytest.approx(0.5)
    shot(page, "theory_explorer-2-after-sliders")

    # Inconsistent with the theory's assumptions: dim S must stay below d - k.
    type_in_readout(page, "dim S", 8)
    text = wait_message(page, "too large", "typing dim S = 8 (with k = 2 features in d = 10)")
    assert "dim S" in text
    shot(page, "theory_explorer-3-message")
    src = image_src(page)
    type_in_readout(page, "dim S", 3)
    wait_no_message(page, "moving dim S back to 3")
    wait_image_change(page, src, "moving dim S back to 3")
    assert not page.errors, f"JavaScript errors on the page: {page.errors}"
    assert dt < 15


# -- the lesson 3 results viewer ---------------------------------------------------------------

def upload(page, name: str, content: bytes) -> None:
    """Choose a file with the upload button (ipywidgets keeps its <input type=file> off the page)."""
    with page.expect_file_chooser() as chooser:
        page.locator(".widget-upload").click()
    chooser.value.set_files(files=[{"name": name, "mimeType": "application/json", "buffer": content}])


@needs_results
def test_results_viewer_shows_the_example_and_rejects_bad_files(page, voila):
    open_demo(page, voila, "results_viewer")
    shot(page, "results_viewer-1-loaded")
    assert_no_code_on_screen(page)
    # The shipped example is a smoke run on fake data, and the page says so above the plot.
    assert page.get_by_text("Smoke run on fake data").first.is_visible()
    assert message(page) == ""

    # Switching the view redraws the plot and marks the new button as selected.
    src = image_src(page)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Accuracy per epoch").click()
    wait_image_change(page, src, "clicking 'Accuracy per epoch'")
    TIMINGS.setdefault("results_viewer", {})["toggle_to_plot_s"] = round(time.perf_counter() - t0, 3)
    assert "mod-active" in (page.get_by_role("button", name="Accuracy per epoch").get_attribute("class") or "")
    shot(page, "results_viewer-2-epochs")

    # A malformed file: the message says what is wrong and how to produce a results file.
    upload(page, "results.json", b'{"schema": "lpft-edu/cifar-stl-results/v1", "methods": ')
    text = wait_message(page, "not valid JSON", "uploading a truncated results.json")
    assert "lpft-cifar-stl" in text
    shot(page, "results_viewer-3-malformed")
    # Valid JSON, but not a results file.
    upload(page, "other.json", json.dumps({"schema": "something-else"}).encode())
    text = wait_message(page, "not a complete", "uploading a JSON file that is not a results file")
    assert "lpft-cifar-stl" in text
    # The shipped example again: the message clears and a plot is back.
    example = (bs.REPO / "lpft_edu" / "data" / "example_smoke_results.json").read_bytes()
    upload(page, "example_smoke_results.json", example)
    wait_no_message(page, "uploading the shipped example")
    assert not page.errors, f"JavaScript errors on the page: {page.errors}"
