"""Lesson 3 results viewer: ID vs OOD accuracy beside the paper's, accuracy per epoch, feature
distortion, from a results JSON written by ``lpft-cifar-stl``.

It needs no torch (it reads JSON and draws), so the Voila demo can serve it anywhere. With no
argument it opens the shipped example, which is a smoke run on fake data; the viewer says so in a
banner above the plot and in the plot itself, so nobody mistakes it for CIFAR/STL accuracy.
"""
from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

import ipywidgets as widgets

from lpft_edu.apps.base import FigureApp
from lpft_edu.figures.vision import ORDER, draw_accuracy, draw_distortion, draw_epochs

SCHEMA = "lpft-edu/cifar-stl-results/v1"  # written by lpft_edu.vision.results (kept equal by a test)
PRODUCE = ("Produce a results file with `lpft-cifar-stl --smoke` (fake data, CPU, about a minute) or, on a GPU with "
           "the real data, `python data_scripts/download.py && lpft-cifar-stl`; each run writes "
           "runs/<time>-<id>/results.json.")
FAKE_BANNER = "Smoke run on fake data \u2014 not real CIFAR/STL accuracy"
VIEWS = (("ID vs OOD accuracy", "accuracy"), ("Accuracy per epoch", "epochs"), ("Feature distortion", "distortion"))


class ResultsError(ValueError):
    """A results file is missing or malformed; the message says what and how to produce one."""


def example_path() -> Path:
    """The shipped example: a real ``lpft-cifar-stl --smoke`` run (fake data, tiny CNN, CPU)."""
    return Path(str(resources.files("lpft_edu") / "data" / "example_smoke_results.json"))


def _is_acc(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0)


def validate_results(obj) -> list[str]:
    """Problems that stop the viewer from drawing ``obj`` (empty when it is fine)."""
    if not isinstance(obj, dict):
        return ["the file holds a JSON " + type(obj).__name__ + ", not an object"]
    problems = []
    if obj.get("schema") != SCHEMA:
        problems.append(f"'schema' is {obj.get('schema')!r}, expected {SCHEMA!r}")
    methods = obj.get("methods")
    if not isinstance(methods, dict) or not any(m in methods for m in ORDER):
        problems.append("'methods' has none of LP, FT, LP-FT")
        return problems
    for name in ORDER:
        m = methods.get(name)
        if m is None:
            continue
        if not isinstance(m, dict):
            problems.append(f"methods.{name} is not an object")
            continue
        for key in ("id_acc", "ood_acc"):
            if key not in m or not _is_acc(m[key]):
                problems.append(f"methods.{name}.{key} should be an accuracy between 0 and 1, got {m.get(key)!r}")
        if name != "LP":
            epochs = m.get("epochs")
            if not isinstance(epochs, list) or not epochs or not all(isinstance(e, dict) and "epoch" in e for e in epochs):
                problems.append(f"methods.{name}.epochs should be a non-empty list of per-epoch records")
        d = m.get("distortion")
        if not (isinstance(d, dict) and isinstance(d.get("id"), dict) and isinstance(d.get("ood"), dict)):
            problems.append(f"methods.{name}.distortion should hold 'id' and 'ood' records")
    if obj.get("data_kind") not in ("fake", "real"):
        problems.append(f"'data_kind' is {obj.get('data_kind')!r}, expected 'fake' or 'real'")
    return problems


def parse_results(data: bytes | str, name) -> dict:
    """Check the text of a results JSON (``name`` says where it came from, for the messages)."""
    try:
        obj = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{name} is not valid JSON ({exc}). Was the run interrupted while writing? {PRODUCE}") from None
    problems = validate_results(obj)
    if problems:
        raise ResultsError(f"{name} is not a complete lpft-cifar-stl results file: {'; '.join(problems[:4])}. {PRODUCE}")
    return obj


def load_results(path) -> dict:
    """Read and check a results JSON; raise :class:`ResultsError` saying what is wrong and the fix."""
    path = Path(path)
    if not path.exists():
        raise ResultsError(f"No results file at {path}. {PRODUCE}")
    return parse_results(path.read_bytes(), path)


def banner_for(results: dict) -> str | None:
    """The warning a reader must see: fake data or a smoke-sized run is not real CIFAR/STL accuracy."""
    if results.get("data_kind") != "real":
        return FAKE_BANNER if results.get("smoke") else "Run on fake data \u2014 not real CIFAR/STL accuracy"
    if results.get("smoke"):
        return "Smoke-sized run (tiny model) \u2014 not comparable with the paper"
    return None


class ResultsViewerApp(FigureApp):
    """``ResultsViewerApp()`` opens the shipped smoke example; ``ResultsViewerApp(path)`` any run's JSON.

    A toggle (``self.view``, listed in ``self.controls``) switches between the three plots; an upload
    button (``self.upload``) opens a results file from the learner's own computer."""

    def __init__(self, path=None):
        super().__init__(figsize=(10.0, 4.2), dpi=80)
        self.view = widgets.ToggleButtons(options=VIEWS, value="accuracy", description="Show:",
                                          style={"button_width": "11em"})
        self.banner = widgets.HTML()
        self.table = widgets.HTML()
        self.upload = widgets.FileUpload(accept=".json", multiple=False, description="Open results.json",
                                         layout=widgets.Layout(width="auto"))
        self.upload.observe(self._on_upload, names="value")
        self.results: dict | None = None
        self.load_error: str | None = None
        # The results never change while a file is open, so each view is drawn once and its PNG
        # reused: switching views then costs only the widget update.
        self._png: dict[str, bytes] = {}
        self.path = Path(path) if path is not None else example_path()
        self.controls = [self.view]
        self.observe_all(self.controls)
        self.widget = widgets.VBox([self.upload, self.banner, self.view, self.message, self.image, self.table])
        self.load(self.path)

    def load(self, path) -> None:
        """Open another results file and redraw (errors go to the message line)."""
        self.path = Path(path)
        self._show(lambda: load_results(self.path))

    def load_bytes(self, data: bytes, name: str) -> None:
        """Open a results file's content, e.g. one uploaded from the browser."""
        self.path = Path(name)
        self._show(lambda: parse_results(data, name))

    def _on_upload(self, change) -> None:
        for item in change["new"]:
            self.load_bytes(bytes(item["content"]), item["name"])

    def _show(self, read) -> None:
        self._png = {}
        try:
            self.results, self.load_error = read(), None
        except ResultsError as exc:
            self.results, self.load_error = None, str(exc)
        self._set_banner()
        self.table.value = self._table_html() if self.results else ""
        self.update()

    def _set_banner(self) -> None:
        text = banner_for(self.results) if self.results else None
        self.banner_text = text
        self.banner.value = "" if not text else (
            '<div style="background:#fff3cd;border:2px solid #c62828;color:#8a1c1c;font-weight:bold;'
            f'font-size:115%;padding:6px 10px;margin:4px 0">&#9888; {html.escape(text)}</div>')

    def draw(self) -> None:
        if self.results is None:
            self.figure.clear()
            raise ValueError(self.load_error)
        fig, r, view = self.figure, self.results, self.view.value
        if view in self._png:
            return
        fig.clear()
        if view == "accuracy":
            a, b = fig.subplots(1, 2)
            fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.83, wspace=0.22)
            draw_accuracy(a, b, r)
        elif view == "epochs":
            ax = fig.subplots()
            fig.subplots_adjust(left=0.08, right=0.8, bottom=0.12, top=0.84)
            draw_epochs(ax, r)
        else:
            ax = fig.subplots()
            fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.84)
            draw_distortion(ax, r)
        if self.banner_text:
            fig.text(0.5, 0.99, self.banner_text, ha="center", va="top", fontsize=10, color="#8a1c1c", weight="bold")

    def render(self) -> None:
        view = self.view.value
        if view not in self._png:
            super().render()
            self._png[view] = self.image.value
        else:
            self.image.value = self._png[view]

    def _table_html(self) -> str:
        r = self.results
        rows = []
        for name in ORDER:
            m = r["methods"].get(name)
            if not m:
                continue
            pct = lambda v: "&ndash;" if v is None else f"{100 * v:.1f}"  # noqa: E731
            d = m.get("distortion", {})
            rel = lambda k: "&ndash;" if d.get(k, {}).get("relative") is None else f"{d[k]['relative']:.3g}"  # noqa: E731
            rows.append(f"<tr><td><b>{name}</b></td><td>{pct(m['id_acc'])}</td><td>{pct(m['ood_acc'])}</td>"
                        f"<td>{rel('id')}</td><td>{rel('ood')}</td></tr>")
        cfg, dev = r.get("config", {}), r.get("device", {})
        return ("<table style='font-size:90%'><tr><th>method</th><th>ID acc (%)</th><th>OOD acc (%)</th>"
                "<th>distortion ID</th><th>distortion OOD</th></tr>" + "".join(rows) + "</table>"
                f"<p style='font-size:85%'>File: {html.escape(str(self.path))} &middot; data: {html.escape(str(r.get('data_kind')))}"
                f" &middot; backbone {html.escape(str(cfg.get('backbone')))}, {cfg.get('epochs')} epochs, "
                f"{cfg.get('image_size')} px &middot; device {html.escape(str(dev.get('type')))} "
                f"({html.escape(str(dev.get('name')))}) &middot; command <code>{html.escape(str(r.get('command')))}</code></p>")
