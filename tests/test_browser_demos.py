"""Real-browser tests of the Voila demos: what a workshop room sees.

One Voila server for the module (started from the repository root, so it reads the shipped
voila.json: preheated kernels, the trimmed page), headless Debian Chromium through Playwright, and
a fresh page per demo. For each demo: the widgets appear, moving a slider (keyboard on the handle,
or typing into the editable readout) changes both the numeric readout and the plot, and bad input
shows the app's message instead of a traceback. Screenshots land in test-artifacts/ (gitignored);
so do the Voila log and the measured timings (browser-timings.json, recorded, never asserted).

Each demo is also opened at 1280x800, 1366x768 and 1920x1080 (classroom laptops, a projector) and
measured: the whole plot is on the first screen, beside or directly under the controls that move it,
its text is at least 12 px as shown, it has alt text (tooltip and a visible description), and a
three-step "Try this" list sits above it. Screenshots of the first screen and of the whole page:
test-artifacts/demos/<demo>-<w>x<h>.png and <demo>-<w>x<h>-full.png.

Every request the page makes is recorded: nothing but the Font Awesome style sheets of Voila's
template may be attempted off 127.0.0.1, the route must have stopped each of those, and nothing off
127.0.0.1 may answer or hold a WebSocket.

Skips, with the command that fixes it, when /usr/bin/chromium or Playwright is missing.
Latency is measured by benchmarks/ (load_test.py, run_all.py); the timeouts here only stop a stuck
page from hanging the run.
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
ROOM_VIEWPORTS = [(1280, 800), (1366, 768), (1920, 1080)]
# The only requests a demo page may try to send off 127.0.0.1 (and which the route aborts): the two
# Font Awesome style sheets Voila's lab template links from a CDN (templates/lab/index.html.j2; the
# widgets bundle the icons they use). Anything else off the machine is a regression.
KNOWN_EXTERNAL = ("https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@",)
# "Directly under the controls": no more than this gap between the controls and the plot.
MAX_GAP_BELOW_PX = 160


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
def open_page(browser, voila):
    """A factory: a fresh page of the given viewport that records what it asks of the network."""
    contexts = []

    def make(width: int = 1280, height: int = 1000):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.requested = []  # every request the page made (URLs), whatever happened to it
        page.blocked = []  # those the route aborted
        page.answered = []  # URLs a response came back for
        page.sockets = []  # WebSocket URLs (page.route does not see WebSockets)
        page.errors = []

        def route(r):
            if bs.is_loopback_url(r.request.url):
                r.continue_()
            else:
                page.blocked.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.on("request", lambda req: page.requested.append(req.url))
        page.on("response", lambda resp: page.answered.append(resp.url))
        page.on("websocket", lambda ws: page.sockets.append(ws.url))
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        return page

    try:
        yield make
    finally:
        voila.kernels_seen.update(voila.kernel_processes())
        for context in contexts:
            context.close()


@pytest.fixture
def page(open_page):
    return open_page()


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


def assert_stayed_offline(page) -> None:
    """Nothing off 127.0.0.1 answered or was connected to, and the only attempts were the known fonts.

    ``answered`` and ``sockets`` come from the browser's own events, not from the route's decision,
    so a route that let a request through, or a WebSocket (which routes do not see), fails here."""
    off = [u for u in page.answered + page.sockets if not bs.is_loopback_url(u)]
    assert not off, f"the page reached the network: {off}"
    unknown = [u for u in page.requested if not bs.is_loopback_url(u) and not u.startswith(KNOWN_EXTERNAL)]
    assert not unknown, f"the page asked for resources off this machine: {unknown}"
    # ... and the route stopped every one of those it saw (a route that let one through fails here).
    attempted = sorted(u for u in page.requested if not bs.is_loopback_url(u))
    assert sorted(page.blocked) == attempted, f"requests off this machine not stopped: {attempted} vs {page.blocked}"


def slider_step(make, attr: str) -> float:
    """The step of the slider ``attr`` as the app served by Voila builds it (same code, same defaults)."""
    return getattr(make(), attr).step


def description(page) -> str:
    return page.evaluate("() => { const d = document.querySelector('.lpft-plot-description');"
                         " return d ? d.innerText.trim() : ''; }")


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
    open_demo(page, voila, "toy_explorer")
    shot(page, "toy_explorer-1-loaded")
    assert page.get_by_text("Feature distortion in two dimensions").is_visible()
    assert_no_code_on_screen(page)
    assert page.locator(".widget-slider").count() >= 4
    assert message(page) == ""

    from lpft_edu.apps.toy import ToyApp

    step = slider_step(ToyApp, "angle")  # one ArrowRight moves the handle by the slider's step
    before, said = bs.parse_readout(readout(page, "angle")), description(page)
    assert_slider_moves_plot(page, "toy_explorer", "angle")
    assert bs.parse_readout(readout(page, "angle")) == pytest.approx(before + step)
    # The picture's description follows the picture (it names the angle and the final errors).
    page.wait_for_function("(old) => { const d = document.querySelector('.lpft-plot-description');"
                           " return !!d && d.innerText.trim() !== old; }", arg=said, timeout=UPDATE_TIMEOUT_MS)
    assert f"{before + step:g} degrees" in description(page)
    shot(page, "toy_explorer-2-after-slider")
    assert not page.errors, f"JavaScript errors on the page: {page.errors}"
    assert_stayed_offline(page)


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
    assert_stayed_offline(page)


# -- the theory demo (lesson 2) ----------------------------------------------------------------

@needs_theory
def test_theory_explorer_renders_responds_and_rejects_bad_input(page, voila):
    open_demo(page, voila, "theory_explorer")
    shot(page, "theory_explorer-1-loaded")
    assert_no_code_on_screen(page)
    for label in ("principal angle", "head alignment error", "feature error eps", "features k"):
        assert page.locator(bs.slider_selector(label)).count() == 1, f"no '{label}' slider on the page"
    assert message(page) == ""

    from lpft_edu.apps.theory import TheoryApp

    step = slider_step(TheoryApp, "angle")
    before = bs.parse_readout(readout(page, "principal angle"))
    assert_slider_moves_plot(page, "theory_explorer", "principal angle")
    assert bs.parse_readout(readout(page, "principal angle")) == pytest.approx(before + step)
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
    assert_stayed_offline(page)


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
    # The demo opens the shipped lpft-mini run (real digits, 5 seeds): no fake-data banner, the paper's
    # panel replaced by a note (the paper has no numbers for it).
    assert page.get_by_text("The paper has no numbers for this laptop experiment").first.is_visible()
    assert not page.get_by_text("Smoke run on fake data").first.is_visible()
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
    # The shipped smoke example: the message clears, a plot is back, and the page says it is fake data.
    example = (bs.REPO / "lpft_edu" / "data" / "example_smoke_results.json").read_bytes()
    upload(page, "example_smoke_results.json", example)
    wait_no_message(page, "uploading the shipped example")
    assert page.get_by_text("Smoke run on fake data").first.is_visible()
    assert not page.errors, f"JavaScript errors on the page: {page.errors}"
    assert_stayed_offline(page)


# -- fit for a room: every demo at a laptop's and a projector's size --------------------------

#: Where things are on the page, in CSS pixels of the viewport (the page is not scrolled).
LAYOUT_JS = """() => {
  const box = (e) => { const b = e.getBoundingClientRect();
    return {top: b.top, bottom: b.bottom, left: b.left, right: b.right, width: b.width, height: b.height}; };
  const shown = (e) => !!e && e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden';
  const img = document.querySelector('img.widget-image');
  const controls = [...document.querySelectorAll(
      '.widget-slider, .widget-toggle-buttons, .widget-upload, .widget-play, .widget-dropdown')].filter(shown).map(box);
  const union = controls.length ? {top: Math.min(...controls.map(c => c.top)), bottom: Math.max(...controls.map(c => c.bottom)),
      left: Math.min(...controls.map(c => c.left)), right: Math.max(...controls.map(c => c.right))} : null;
  const desc = document.querySelector('.lpft-plot-description');
  const md = [...document.querySelectorAll('.jp-RenderedMarkdown, .jp-RenderedHTMLCommon')]
      .find(e => /(^|\\n)\\s*Try this/i.test(e.innerText));
  const ol = md ? md.querySelector('ol') : null;
  // Voila's lab template scrolls inside #rendered_cells, not the window: sum every scroller above the plot.
  let scrolled = window.scrollY, contentHeight = document.documentElement.scrollHeight;
  for (let e = img && img.parentElement; e; e = e.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(e).overflowY)) {
      scrolled += e.scrollTop; contentHeight = Math.max(contentHeight, e.scrollHeight); }
  }
  return {
    viewport: {width: window.innerWidth, height: window.innerHeight}, scrollY: scrolled, contentHeight: contentHeight,
    img: img ? box(img) : null, naturalWidth: img ? img.naturalWidth : 0, title: img ? (img.title || '') : '',
    controls: union,
    description: desc ? desc.innerText.trim() : '', descriptionShown: shown(desc), descriptionBox: desc ? box(desc) : null,
    tryThis: ol ? [...ol.querySelectorAll(':scope > li')].map(li => li.innerText.trim()) : null,
    tryThisBox: ol ? box(ol) : null,
  };
}"""

DEMOS = [
    pytest.param("toy_explorer", "lpft_edu.apps.toy", "ToyApp", id="toy"),
    pytest.param("theory_explorer", "lpft_edu.apps.theory", "TheoryApp", id="theory", marks=needs_theory),
    pytest.param("results_viewer", "lpft_edu.apps.results", "ResultsViewerApp", id="results", marks=needs_results),
]


@pytest.mark.parametrize("width, height", ROOM_VIEWPORTS, ids=[f"{w}x{h}" for w, h in ROOM_VIEWPORTS])
@pytest.mark.parametrize("demo, module, cls", DEMOS)
def test_demo_fits_the_room(open_page, voila, demo, module, cls, width, height):
    from lpft_edu.figures.style import MIN_TEXT_PX, smallest_text_px

    page = open_page(width, height)
    open_demo(page, voila, demo)
    shots = bs.ARTIFACTS / "demos"
    shots.mkdir(parents=True, exist_ok=True)
    # What the room sees on the first screen, then (the page scrolls inside a panel, which a
    # full-page screenshot does not unroll) the whole page, in a window as tall as its content.
    page.screenshot(path=str(shots / f"{demo}-{width}x{height}.png"))
    m = page.evaluate(LAYOUT_JS)
    page.set_viewport_size({"width": width, "height": int(max(m["contentHeight"], height))})
    page.screenshot(path=str(shots / f"{demo}-{width}x{height}-full.png"), full_page=True)
    img, ctl, vh = m["img"], m["controls"], m["viewport"]["height"]
    where = f"{demo} at {width}x{height}: {m}"

    # The whole plot is on the first screen: no scrolling to see what a slider does.
    assert m["scrollY"] == 0, where
    assert 0 <= img["top"] < vh and img["bottom"] <= vh, f"the plot is not on the first screen ({where})"
    assert img["left"] >= 0 and img["right"] <= m["viewport"]["width"], f"the plot is cut off sideways ({where})"
    # Beside the controls (to their right, overlapping them vertically) or directly under them.
    assert ctl is not None, where
    beside = img["left"] >= ctl["right"] - 2 and img["top"] < ctl["bottom"]
    below = (img["top"] >= ctl["bottom"] - 2 and img["top"] - ctl["bottom"] <= MAX_GAP_BELOW_PX
             and img["left"] < ctl["right"] and img["right"] > ctl["left"])
    assert beside or below, f"the plot is neither beside nor directly under its controls ({where})"

    # Text at least MIN_TEXT_PX as shown: the figure's smallest text (measured on the app's figure,
    # built by the same code the kernel ran) scaled by displayed width / PNG width.
    app = getattr(importlib.import_module(module), cls)()
    assert m["naturalWidth"] == int(round(app.figure.get_figwidth() * app.figure.dpi)), where
    scale = img["width"] / m["naturalWidth"]
    px = smallest_text_px(app.figure, scale)
    assert px >= MIN_TEXT_PX - 0.05, f"smallest plot text is {px:.1f} px on screen ({where})"

    # Alt text: a tooltip on the image and the same words shown next to it.
    assert m["title"].strip(), f"the plot has no tooltip ({where})"
    assert m["descriptionShown"] and m["title"].strip() in m["description"], where
    d = m["descriptionBox"]
    assert d["top"] >= img["bottom"] - 2 and d["top"] - img["bottom"] < 40, f"the description is not next to the plot ({where})"

    # "Try this": three steps, above the plot.
    assert m["tryThis"] is not None, f"no 'Try this' list ({where})"
    assert len(m["tryThis"]) == 3 and all(m["tryThis"]), where
    assert m["tryThisBox"]["bottom"] <= img["top"], f"the 'Try this' list is not above the plot ({where})"
    assert not page.errors, f"JavaScript errors on the page: {page.errors}"
    assert_stayed_offline(page)
