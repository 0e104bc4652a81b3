"""The course site (`make site`): build it, serve it on 127.0.0.1, and read every page in Chromium.

One build for the module (site/build.py into a temporary folder: the three lessons executed in
fast mode, the docs, the README's quick start), served by http.server in a thread. Every request
the browser makes is routed through a handler that refuses anything not on 127.0.0.1, so a page
that reaches for a CDN fails here as it would for a reader offline. Checks: every page renders
(a title, no Sphinx or notebook error), every <img> has an alt text and loads, each lesson page
shows its figures, says that it is a static fast-mode copy, links to Binder and Colab, shows no
dead widget controls and shows each pop quiz as a question with a collapsible answer; every link
to the same origin answers 200 and every #fragment exists. Screenshots of the index and each lesson
at 1366x768 go to test-artifacts/site/.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse
from urllib.request import ProxyHandler, build_opener

import nbformat
import pytest

import browser_support as bs
from lpft_edu import launch

pytestmark = [pytest.mark.slow, pytest.mark.browser]

_missing = bs.chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)
try:
    import myst_nb  # noqa: F401
    import sphinx_book_theme  # noqa: F401
except ImportError:
    pytest.skip("the site builder is missing: install the dev extra (`make install`)", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402  (after the skip: may be absent)

REPO = bs.REPO
SHOTS = bs.ARTIFACTS / "site"
LESSONS = ["01_toy_feature_distortion", "02_linear_theory", "03_cifar_to_stl"]
DOCS = ["theory", "glossary", "instructor_guide"]
VIEWPORT = {"width": 1366, "height": 768}
DIRECT = build_opener(ProxyHandler({}))  # straight to 127.0.0.1, whatever http_proxy says

# Anything on a page that means the build published an error instead of content (MathJax 2 marks
# a formula it could not typeset with the last one; a file it could not load shows up as a 404).
ERROR_SELECTORS = [".system-message", ".problematic", ".output.traceback", ".output.stderr", ".MathJax_Error"]

#: True once MathJax 2 has typeset the page: started, and nothing left in its queue (at once on a
#: page without MathJax). Polled: a startup hook registered after startup may never fire.
MATHJAX_DONE_JS = """() => !window.MathJax || !window.MathJax.Hub ||
  (MathJax.isReady && MathJax.Hub.queue.pending === 0 && !MathJax.Hub.queue.running)"""


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built site. LPFT_SITE_BUILT=DIR tests a site built beforehand (e.g. `make site`, then
    LPFT_SITE_BUILT=build/site) instead of building one: quicker while working on the checks."""
    if os.environ.get("LPFT_SITE_BUILT"):
        out = Path(os.environ["LPFT_SITE_BUILT"]).resolve()
        assert (out / "index.html").is_file(), f"LPFT_SITE_BUILT={out} holds no built site"
        return out
    out = tmp_path_factory.mktemp("site-build") / "site"
    done = subprocess.run([sys.executable, str(REPO / "site" / "build.py"), "--out", str(out), "--quiet"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"make site failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    assert (out / "index.html").is_file()
    return out


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output for failures
        pass


@pytest.fixture(scope="module")
def pages(site, server):
    """Every HTML page of the site, opened once in Chromium: url -> facts read from the page.
    Also records every request that tried to leave 127.0.0.1 (blocked) and takes the screenshots."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    urls = [f"{server}/{p.relative_to(site).as_posix()}" for p in sorted(site.rglob("*.html"))
            if not p.relative_to(site).parts[0].startswith("_")]
    facts, blocked = {}, []
    with sync_playwright() as p:
        browser = p.chromium.launch(**bs.launch_kwargs())
        try:
            context = browser.new_context(viewport=VIEWPORT)

            def route(r):
                if urlparse(r.request.url).hostname == "127.0.0.1" or r.request.url.startswith(("data:", "blob:", "about:")):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.set_default_timeout(30_000)  # a page that hangs fails the test instead of stalling it
            # The guard itself: a page on the site asking another host is caught and recorded.
            probe = "http://192.0.2.1/lpft-probe.png"  # TEST-NET-1: never a real host
            page.goto(f"{server}/index.html", wait_until="load")
            page.evaluate("src => { const i = new Image(); i.src = src; document.body.append(i); }", probe)
            page.wait_for_timeout(500)
            guard_works = probe in blocked
            blocked.clear()
            failed = []  # same-origin files that answered an error (a missing font, script, image)
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            for url in urls:
                failed.clear()
                response = page.goto(url, wait_until="load")
                page.wait_for_load_state("networkidle")
                page.wait_for_function(MATHJAX_DONE_JS, timeout=60_000)
                facts[url] = _read_page(page, response.status)
                facts[url]["failed_requests"] = list(failed)
                name = urlparse(url).path.strip("/").removesuffix(".html").replace("/", "__")
                if name in {"index"} | {f"lessons__{lesson}" for lesson in LESSONS}:
                    page.screenshot(path=str(SHOTS / f"{name}.png"))
        finally:
            browser.close()
    return {"facts": facts, "blocked": blocked, "base": server, "guard_works": guard_works}


def _read_page(page, status: int) -> dict:
    return page.evaluate("""([status, errorSelectors]) => ({
      status,
      title: document.title,
      h1: (document.querySelector('main h1, article h1') || {}).innerText || '',
      text: document.querySelector('main') ? document.querySelector('main').innerText : document.body.innerText,
      errors: errorSelectors.flatMap(s => [...document.querySelectorAll(s)].map(e => s + ': ' + e.innerText.slice(0, 300))),
      images: [...document.images].map(i => ({src: i.getAttribute('src'), alt: (i.getAttribute('alt') || '').trim(),
                                              loaded: i.complete && i.naturalWidth > 0,
                                              inArticle: !!i.closest('article')})),
      links: [...document.querySelectorAll('a[href]')].map(a => a.href),
      math: document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_SVG').length,
      controls: document.querySelectorAll('input[type=range], .widget-slider, .jupyter-widgets, button.jupyter-button').length,
      details: [...document.querySelectorAll('article details')].map(d => ({summary: (d.querySelector('summary') || {}).innerText || '',
                                                                            text: d.textContent})),  // innerText of a closed <details> is only its summary
    })""", [status, ERROR_SELECTORS])


def _page(pages, path: str) -> dict:
    url = f"{pages['base']}/{path}"
    assert url in pages["facts"], f"{path} is not on the site; pages: {sorted(pages['facts'])}"
    return pages["facts"][url]


# -- tests -------------------------------------------------------------------------------------

def test_the_site_has_the_lessons_the_docs_in_the_tree_and_the_quick_start(pages):
    for lesson in LESSONS:
        _page(pages, f"lessons/{lesson}.html")
    for doc in DOCS:
        if (REPO / "docs" / f"{doc}.md").is_file():
            _page(pages, f"docs/{doc}.html")
    index = _page(pages, "index.html")
    assert "make lab" in index["text"] and "make test" in index["text"], "the README's quick start is missing"
    assert "fast mode" in index["text"]


def test_every_page_renders_without_errors(pages):
    for url, page in pages["facts"].items():
        assert page["status"] == 200, url
        assert page["title"].strip(), f"{url} has no title"
        assert page["errors"] == [], f"{url} shows errors: {page['errors']}"
        assert "Traceback (most recent call last)" not in page["text"], url
        assert page["failed_requests"] == [], f"{url} asked for files the site lacks: {page['failed_requests']}"


def test_lesson_formulas_are_typeset(pages):
    """The lessons write their maths in $...$: MathJax (served by the site) must typeset it. A lesson
    without any formula (lesson 3 may have none) is not asked for one."""
    for lesson in LESSONS:
        markdown = "\n".join(c.source for c in nbformat.read(REPO / "lessons" / f"{lesson}.ipynb", as_version=4).cells
                             if c.cell_type == "markdown")
        if re.search(r"\$[^$\s][^$]*\$", markdown):
            assert _page(pages, f"lessons/{lesson}.html")["math"] > 0, f"{lesson}: no typeset formula"
    assert _page(pages, "lessons/02_linear_theory.html")["math"] > 0


def test_no_request_leaves_loopback(pages):
    assert pages["guard_works"], "the request guard did not see a probe request to another host"
    assert pages["blocked"] == [], f"pages tried to load from other hosts: {sorted(set(pages['blocked']))}"


def test_every_image_has_alt_text_and_loads(pages):
    for url, page in pages["facts"].items():
        for image in page["images"]:
            assert image["alt"], f"{url}: <img src={image['src']}> has no alt text"
            assert image["loaded"], f"{url}: <img src={image['src']}> did not load"


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_page_shows_its_figures_and_says_it_is_static(pages, lesson):
    page = _page(pages, f"lessons/{lesson}.html")
    figures = [i for i in page["images"] if i["inArticle"] and i["loaded"] and i["alt"] and "_images/" in i["src"]]
    assert figures, f"{lesson}: no figure from the executed lesson on its page"
    assert "fast mode" in page["text"] and "interactive in Jupyter, Voila, Binder or Colab" in page["text"]
    assert launch.binder_url(f"lessons/{lesson}.ipynb") in page["links"]
    assert launch.colab_url(f"lessons/{lesson}.ipynb") in page["links"]
    if (REPO / "student" / f"{lesson}.ipynb").is_file():  # student/ is committed: link its version too
        assert launch.binder_url(f"student/{lesson}.ipynb") in page["links"]
        assert launch.colab_url(f"student/{lesson}.ipynb") in page["links"]
    assert page["controls"] == 0, f"{lesson}: the static page shows widget controls that cannot run"


@pytest.mark.parametrize("lesson", LESSONS)
def test_pop_quiz_shows_its_question_and_a_collapsible_answer(pages, lesson):
    page = _page(pages, f"lessons/{lesson}.html")
    assert "Pop quiz" in page["text"]
    answers = [d for d in page["details"] if d["summary"].strip()]
    assert answers, f"{lesson}: the pop quiz has no collapsible answer (<details> with a <summary>)"
    assert any("Kumar et al" in d["text"] or "reported" in d["text"] for d in answers), \
        f"{lesson}: the quiz's answer does not say whose numbers they are"


def test_no_broken_internal_link(pages):
    base = pages["base"]
    targets = {}
    for url, page in pages["facts"].items():
        for link in page["links"]:
            if urlparse(link).netloc == urlparse(base).netloc:
                targets.setdefault(link, url)
    assert targets, "no internal links found"
    ids_by_page: dict[str, set] = {}
    broken = []
    for link, source in sorted(targets.items()):
        target, fragment = urldefrag(link)
        if target not in ids_by_page:
            try:
                with DIRECT.open(target, timeout=10) as r:
                    body = r.read().decode("utf-8", "replace") if r.status == 200 else None
            except OSError as e:
                body, r = None, e
            if body is None:
                broken.append(f"{link} (from {source}): {getattr(r, 'status', r)}")
                ids_by_page[target] = set()
                continue
            ids_by_page[target] = _ids(body) if target.endswith(".html") or target.endswith("/") else set()
        if fragment and target.endswith((".html", "/")) and fragment not in ids_by_page[target]:
            broken.append(f"{link} (from {source}): no element with id '{fragment}'")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def _ids(html_text: str) -> set:
    class Ids(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids = set()

        def handle_starttag(self, tag, attrs):
            self.ids.update(v for k, v in attrs if k == "id" and v)

    parser = Ids()
    parser.feed(html_text)
    return parser.ids


def test_screenshots_were_saved(pages):
    expected = ["index"] + [f"lessons__{lesson}" for lesson in LESSONS]
    missing = [name for name in expected if not (SHOTS / f"{name}.png").is_file()]
    assert not missing, f"no screenshot for {missing} in {SHOTS}"
