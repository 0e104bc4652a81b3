"""Lesson 3 results viewer: ID vs OOD accuracy beside the paper's, accuracy per epoch, feature
distortion, from a results JSON written by ``lpft-cifar-stl`` (or ``lpft-mini``, same schema).

It needs no torch (it reads JSON and draws), so the Voila demo can serve it anywhere. With no
argument it opens the shipped example, which is a smoke run on fake data; the viewer says so in a
banner above the plot and in the plot itself, so nobody mistakes it for CIFAR/STL accuracy.

A results file may come from anyone (shared by chat or USB, uploaded in a hosted demo), so it is
data, never code: every value is checked by :func:`validate_results` before anything is drawn,
every string from it is HTML-escaped before it reaches a widget (and drawn without mathtext), and
any failure while reading or drawing becomes a message that replaces the old plot and tables.
"""
from __future__ import annotations

import html
import json
import math
from importlib import resources
from pathlib import Path

import ipywidgets as widgets

from lpft_edu.apps.base import FigureApp
from lpft_edu.figures.style import fit_for_room
from lpft_edu.figures.vision import (NO_PAPER_NOTE, ORDER, NothingToDraw, dataset_names, draw_accuracy, draw_distortion,
                                    draw_epochs, experiment, has_std, seed_count)

SCHEMA = "lpft-edu/cifar-stl-results/v1"  # written by lpft_edu.vision.results (kept equal by a test)
STATUSES = ("running", "interrupted", "complete", "diverged")
DATA_KINDS = ("real", "fake", "unknown")
EXPERIMENTS = ("cifar-stl", "lpft-mini")  # lpft-mini: the laptop experiment, same schema
PRODUCE = ("Produce a results file with `lpft-cifar-stl --smoke` (fake data, CPU, about a minute) or, on a GPU with "
           "the real data, `python data_scripts/download.py && lpft-cifar-stl`; each run writes "
           "runs/<time>-<id>/results.json.")
FAKE_BANNER = "Smoke run on fake data \u2014 not real CIFAR/STL accuracy"
FAST_BANNER = "Fast run \u2014 a few epochs to check the pipeline, not the lesson's result"
UNKNOWN_BANNER = ("Data of unknown origin \u2014 not verified as CIFAR-10/STL-10, so not comparable with the "
                  "paper's numbers")
VIEWS = (("ID vs OOD accuracy", "accuracy"), ("Accuracy per epoch", "epochs"), ("Feature distortion", "distortion"))
# The viewer's own cap on a results file. A results.json is about 10 kB (the shipped example: 6 kB),
# so 5 MiB is far above any real one. Uploads travel to the kernel over Voila's websocket, whose
# message limit voila.json raises to 64 MiB: anything between the two gets this message; see
# docs/instructor_guide.md for what happens above 64 MiB.
MAX_FILE_BYTES = 5 * 1024 * 1024
_SHOWN_CHARS = 120  # longest string from a file that the table shows (a results file has short ones)


class ResultsError(ValueError):
    """A results file is missing or malformed; the message says what and how to produce one."""


def example_path() -> Path:
    """The shipped pipeline example: a real ``lpft-cifar-stl --smoke`` run (fake data, tiny CNN, CPU)."""
    return Path(str(resources.files("lpft_edu") / "data" / "example_smoke_results.json"))


def example_mini_path() -> Path:
    """The shipped result worth discussing: a real ``lpft-mini --seeds 5`` run (real digits, 5 seeds,
    CPU), what the Voila demo opens when no run is given."""
    return Path(str(resources.files("lpft_edu") / "data" / "example_mini_results.json"))


# -- checking a file ---------------------------------------------------------------------------

def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_acc(v) -> bool:
    return v is None or (_is_number(v) and 0.0 <= v <= 1.0)


def _short(v) -> str:
    """A value from the file for a message: its repr, cut short (the message line escapes it)."""
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_epochs(name: str, epochs, problems: list[str]) -> None:
    if epochs is None:
        return
    if not isinstance(epochs, list) or not all(isinstance(e, dict) for e in epochs):
        problems.append(f"methods.{name}.epochs should be a list of per-epoch records, got {_short(epochs)}")
        return
    for i, e in enumerate(epochs):
        if not _is_number(e.get("epoch")):
            problems.append(f"methods.{name}.epochs[{i}].epoch should be a number, got {_short(e.get('epoch'))}")
            return
        for key in ("id_acc", "ood_acc", "val_acc"):
            if not _is_acc(e.get(key)):
                problems.append(f"methods.{name}.epochs[{i}].{key} should be an accuracy between 0 and 1, "
                                f"got {_short(e.get(key))}")
                return


def _check_distortion(name: str, d, problems: list[str]) -> None:
    if d is None:
        return
    if not (isinstance(d, dict) and isinstance(d.get("id"), dict) and isinstance(d.get("ood"), dict)):
        problems.append(f"methods.{name}.distortion should hold 'id' and 'ood' records, got {_short(d)}")
        return
    for side in ("id", "ood"):
        for key in ("relative", "mean_l2"):
            v = d[side].get(key)
            if v is not None and not (_is_number(v) and v >= 0):
                problems.append(f"methods.{name}.distortion.{side}.{key} should be a non-negative number, got {_short(v)}")


def _check_method(name: str, m, problems: list[str]) -> None:
    if not isinstance(m, dict):
        problems.append(f"methods.{name} is not an object")
        return
    status = m.get("status", "complete")  # files written before statuses existed held finished methods only
    if status not in STATUSES:
        problems.append(f"methods.{name}.status is {_short(status)}, expected one of {', '.join(STATUSES)}")
        return
    for key in ("id_acc", "ood_acc"):
        # A finished method records its accuracies (null: that test set was not evaluated, shown as
        # a dash); a running, interrupted or diverged one may have none yet.
        if (status == "complete" and key not in m) or not _is_acc(m.get(key)):
            problems.append(f"methods.{name}.{key} should be an accuracy between 0 and 1, got {_short(m.get(key))}")
        std = m.get(f"{key}_std")
        if std is not None and not (_is_number(std) and 0.0 <= std <= 1.0):
            problems.append(f"methods.{name}.{key}_std should be a standard deviation between 0 and 1, got {_short(std)}")
    if not isinstance(m.get("error"), (str, type(None))):
        problems.append(f"methods.{name}.error should be a line of text, got {_short(m.get('error'))}")
    seeds = m.get("per_seed")
    if seeds is not None and not (isinstance(seeds, list) and all(
            isinstance(s, dict) and _is_acc(s.get("id_acc")) and _is_acc(s.get("ood_acc"))
            and (s.get("seed") is None or _is_number(s.get("seed"))) for s in seeds)):
        problems.append(f"methods.{name}.per_seed should be a list of {{seed, id_acc, ood_acc}} records")
    _check_epochs(name, m.get("epochs"), problems)
    _check_distortion(name, m.get("distortion"), problems)


def validate_results(obj) -> list[str]:
    """Problems that stop the viewer from drawing ``obj`` (empty when it is fine).

    Every value the viewer shows is checked here: accuracies finite and between 0 and 1, statuses
    and data kinds from their fixed lists, records of the right type. Strings are not judged (the
    viewer escapes them), only their type."""
    if not isinstance(obj, dict):
        return ["the file holds a JSON " + type(obj).__name__ + ", not an object"]
    problems = []
    if obj.get("schema") != SCHEMA:
        problems.append(f"'schema' is {_short(obj.get('schema'))}, expected {SCHEMA!r}")
    status = obj.get("status")
    if status is not None and status not in STATUSES:
        problems.append(f"'status' is {_short(status)}, expected one of {', '.join(STATUSES)}")
    unfinished = status in ("running", "interrupted")
    methods = obj.get("methods")
    if not isinstance(methods, dict):
        problems.append(f"'methods' should be an object, got {_short(methods)}")
        return problems
    if not unfinished and not any(m in methods for m in ORDER):
        problems.append("'methods' has none of LP, FT, LP-FT")
        return problems
    for name in ORDER:
        if name in methods:
            _check_method(name, methods[name], problems)
    kind = obj.get("data_kind")
    if kind not in DATA_KINDS and not (kind is None and unfinished):  # a run stopped before reading its data
        problems.append(f"'data_kind' is {_short(kind)}, expected one of {', '.join(map(repr, DATA_KINDS))}")
    exp = obj.get("experiment")
    if exp is not None and exp not in EXPERIMENTS:
        problems.append(f"'experiment' is {_short(exp)}, expected one of {', '.join(map(repr, EXPERIMENTS))}")
    datasets = obj.get("datasets")
    if datasets is not None and not (isinstance(datasets, dict) and all(
            isinstance(datasets.get(k), str) and datasets[k].strip() for k in ("id", "ood"))):
        problems.append(f"'datasets' should name the test sets as {{\"id\": \"...\", \"ood\": \"...\"}}, "
                        f"got {_short(datasets)}")
    for key in ("config", "device"):
        if not isinstance(obj.get(key, {}), dict):
            problems.append(f"'{key}' should be an object, got {_short(obj.get(key))}")
    for flag in ("smoke", "fast"):
        if not isinstance(obj.get(flag, False), bool):
            problems.append(f"'{flag}' should be true or false, got {_short(obj.get(flag))}")
    # The other values the viewer shows (in the line under the table): text where text belongs,
    # whole numbers where numbers belong.
    shown_text = [("command", obj.get("command"))]
    cfg, dev = obj.get("config"), obj.get("device")
    if isinstance(cfg, dict):
        shown_text.append(("config.backbone", cfg.get("backbone")))
        for key, low in (("epochs", 0), ("image_size", 1)):
            v = cfg.get(key)
            if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and low <= v <= 10**6):
                problems.append(f"'config.{key}' should be a whole number from {low}, got {_short(v)}")
    if isinstance(dev, dict):
        shown_text += [("device.type", dev.get("type")), ("device.name", dev.get("name"))]
    for where, v in shown_text:
        if v is not None and not isinstance(v, str):
            problems.append(f"'{where}' should be text, got {_short(v)}")
    return problems


def _size_problem(size: int, name) -> str | None:
    if size <= MAX_FILE_BYTES:
        return None
    return (f"{name} is {size / 2**20:.1f} MB; the viewer opens results files up to {MAX_FILE_BYTES // 2**20} MB "
            "(a results.json is about 10 kB), so this is not a results file. Choose the results.json in your "
            "run's folder, runs/<time>-<id>/.")


def parse_results(data: bytes | str, name) -> dict:
    """Check the text of a results JSON (``name`` says where it came from, for the messages)."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if (problem := _size_problem(size, name)) is not None:
        raise ResultsError(problem)
    try:
        obj = json.loads(data.decode("utf-8-sig") if isinstance(data, bytes) else data)
    except RecursionError:
        raise ResultsError(f"{name} is nested too deeply to be a results file. {PRODUCE}") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer too long to convert
        raise ResultsError(f"{name} is not valid JSON ({str(exc)[:200]}). Was the run interrupted while writing? "
                           f"{PRODUCE}") from None
    problems = validate_results(obj)
    if problems:
        raise ResultsError(f"{name} is not a complete results file: {'; '.join(problems[:4])}. {PRODUCE}")
    return obj


def load_results(path) -> dict:
    """Read and check a results JSON; raise :class:`ResultsError` saying what is wrong and the fix."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"No results file at {path}. {PRODUCE}")
    if (problem := _size_problem(path.stat().st_size, path)) is not None:
        raise ResultsError(problem)
    return parse_results(path.read_bytes(), path)


# -- what the reader must be told --------------------------------------------------------------

def banner_for(results: dict) -> str | None:
    """The warning about the data: fake data, data of unknown origin, or a smoke-sized run is not
    accuracy comparable with the paper (for lpft-mini: not real accuracy at all)."""
    kind = results.get("data_kind")
    mini = experiment(results) == "lpft-mini"
    if kind == "unknown":
        return UNKNOWN_BANNER if not mini else "Data of unknown origin \u2014 not verified, treat these numbers with care"
    if kind is None:
        return "The run stopped before it read its data \u2014 no results"
    if kind != "real":
        if mini:
            return "Run on fake data \u2014 not real accuracy"
        return FAKE_BANNER if results.get("smoke") else "Run on fake data \u2014 not real CIFAR/STL accuracy"
    if results.get("smoke"):
        return ("Smoke-sized run \u2014 it checks the pipeline, its numbers mean little" if mini
                else "Smoke-sized run (tiny model) \u2014 not comparable with the paper")
    if results.get("fast"):  # lpft-mini --fast (or LPFT_FAST): a few epochs
        return FAST_BANNER
    return None


def experiment_note(results: dict) -> str | None:
    """What a reader must know about the experiment: lpft-mini is not the paper's."""
    if experiment(results) != "lpft-mini":
        return None
    id_name, ood_name = dataset_names(results)
    return (f"lpft-mini: a laptop experiment (ID: {id_name}; OOD: {ood_name}), not the paper's CIFAR-10 \u2192 STL-10. "
            f"{NO_PAPER_NOTE}, so none are shown beside it.")


def method_status(m) -> str:
    return m.get("status", "complete") if isinstance(m, dict) else "complete"


def run_status(results: dict) -> str | None:
    """The run's status, never better than its methods': a file that says "complete" while a
    method diverged or is still running is shown as that."""
    statuses = [method_status(results["methods"][n]) for n in ORDER if n in results.get("methods", {})]
    top = results.get("status")
    for worst in ("diverged", "interrupted", "running"):
        if top == worst or (top in ("complete", None) and worst in statuses):
            return worst
    return top


STATUS_WORDS = {"diverged": "Run diverged", "interrupted": "Run interrupted", "running": "Run still in progress",
                None: "Run status not recorded"}


def status_banner(results: dict) -> str | None:
    """The warning about the run's state (None for a complete run)."""
    status = run_status(results)
    if status == "complete":
        return None
    if status == "diverged":
        names = [n for n in ORDER if method_status(results["methods"].get(n)) == "diverged"]
        return (f"Diverged: {', '.join(names) or 'a method'} stopped with a non-finite or exploding loss \u2014 "
                "no result for it; the table says what to change")
    mini = experiment(results) == "lpft-mini"
    again = "run the command again" if mini else "continue it with `lpft-cifar-stl --resume RUN_DIR` (the folder of this file)"
    if status == "interrupted":
        return f"Interrupted run \u2014 only the methods marked complete have results; {again}"
    if status == "running":
        return "Run still in progress \u2014 only the methods marked complete have results; open the file again when it finishes"
    return "This file does not say whether the run finished (no 'status') \u2014 treat its numbers with care"


def figure_banner(results: dict) -> str | None:
    """The short form of the warnings, drawn into the figure itself (a screenshot keeps it)."""
    parts = [banner_for(results)]
    status = run_status(results)
    if status != "complete":
        parts.append(STATUS_WORDS.get(status, STATUS_WORDS[None]))
    text = "  |  ".join(p for p in parts if p)
    return text or None


def _text(v) -> str:
    """A value from the file, as HTML text: escaped, and cut short."""
    if v is None:
        return "&ndash;"
    s = str(v)
    if len(s) > _SHOWN_CHARS:
        s = s[:_SHOWN_CHARS - 3] + "..."
    return html.escape(s)


def _plain(v, limit: int = 40) -> str:
    """A value from the file for a plain-text attribute (the plot's tooltip): no markup characters
    at all, cut short. (The visible copy of the same line is HTML-escaped as well.)"""
    s = "".join(ch for ch in str(v) if ch.isprintable()).translate({ord("<"): "\u2039", ord(">"): "\u203a",
                                                                    ord("&"): "+", ord('"'): "'"})
    return s if len(s) <= limit else s[:limit - 3] + "..."


class ResultsViewerApp(FigureApp):
    """``ResultsViewerApp()`` opens the shipped smoke example; ``ResultsViewerApp(path)`` any run's JSON.

    A toggle (``self.view``, listed in ``self.controls``) switches between the three plots; an upload
    button (``self.upload``) opens a results file from the learner's own computer. Both sit directly
    above the plot, so a click and its effect are on one screen (1366x768 and up)."""

    def __init__(self, path=None):
        super().__init__(figsize=(10.0, 4.2), dpi=80)
        self.view = widgets.ToggleButtons(options=VIEWS, value="accuracy", description="Show:",
                                          style={"button_width": "12.5em", "description_width": "initial"},
                                          layout=widgets.Layout(width="auto"))
        self.banner = widgets.HTML()
        self.table = widgets.HTML(layout=widgets.Layout(margin="6px 0 0 0"))
        self.upload = widgets.FileUpload(accept=".json", multiple=False, description="Open results.json",
                                         layout=widgets.Layout(width="auto"))
        self.upload.observe(self._on_upload, names="value")
        self.results: dict | None = None
        self.load_error: str | None = None
        self.banner_text: str | None = None
        # The results never change while a file is open, so each view is drawn once and its PNG
        # reused: switching views then costs only the widget update.
        self._png: dict[str, bytes] = {}
        self.path = Path(path) if path is not None else example_path()
        self.controls = [self.view]
        self.observe_all(self.controls)
        bar = widgets.HBox([self.view, self.upload], layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = widgets.VBox([self.banner, self.column(bar), self.table])
        self.load(self.path)

    def load(self, path) -> None:
        """Open another results file and redraw (errors go to the message line)."""
        self.path = Path(path)
        self._show(lambda: load_results(self.path))

    def load_bytes(self, data: bytes, name: str) -> None:
        """Open a results file's content, e.g. one uploaded from the browser."""
        self.path = Path(str(name))
        self._show(lambda: parse_results(data, name))

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:  # our own reset below
            return
        # The browser's button allows one file, but the value arrives from the page: check it here.
        if len(files) != 1:
            self._show(lambda: _refuse("Choose one results file at a time."))
        else:
            item = files[0]
            name = str(item.get("name", "upload")) if isinstance(item, dict) else "upload"
            content = item.get("content") if isinstance(item, dict) else None
            if not isinstance(content, (bytes, bytearray, memoryview)):
                self._show(lambda: _refuse(f"{name} arrived without its content: choose it again."))
            elif (problem := _size_problem(len(content), name)) is not None:
                self.path = Path(name)
                self._show(lambda: _refuse(problem))
            else:
                self.load_bytes(bytes(content), name)
        # Drop the upload from the widget (and the kernel's memory); the button's count resets.
        self.upload.value = ()

    def _show(self, read) -> None:
        self._png = {}
        try:
            self.results, self.load_error = read(), None
        except ResultsError as exc:
            self.results, self.load_error = None, str(exc)
        except Exception as exc:  # noqa: BLE001 - a file is data: whatever it does, the learner gets a message
            self.results = None
            self.load_error = (f"{self.path.name} could not be read ({type(exc).__name__}: {str(exc)[:200]}). "
                               f"{PRODUCE}")
        try:
            self._set_banner()
            self.table.value = self._table_html() if self.results else ""
        except Exception as exc:  # noqa: BLE001 - as above: never a stale table under a new file's name
            self.results = None
            self.load_error = f"{self.path.name} could not be shown ({type(exc).__name__}). {PRODUCE}"
            self._set_banner()
            self.table.value = ""
        if self.results is None:
            # Nothing of the previous file may stay on screen under this file's message.
            self.figure.clear()
            self.image.value = b""
            self.image.tooltip = None
            self.description.value = ""
        self.update()

    def _set_banner(self) -> None:
        r = self.results
        warnings = [t for t in (banner_for(r), status_banner(r)) if t] if r else []
        note = experiment_note(r) if r else None
        self.banner_text = figure_banner(r) if r else None
        self.banner.value = "".join(
            '<div style="background:#fff3cd;border:2px solid #c62828;color:#8a1c1c;font-weight:bold;'
            f'padding:4px 10px;margin:2px 0">&#9888; {html.escape(t)}</div>' for t in warnings) + (
            "" if note is None else
            '<div style="background:#e8f0fe;border-left:4px solid #1a73e8;color:#174ea6;padding:4px 10px;margin:2px 0">'
            f'&#9432; {html.escape(note)}</div>')

    def draw(self) -> None:
        if self.results is None:
            self.figure.clear()
            raise ValueError(self.load_error)
        view = self.view.value
        if view in self._png:
            return
        try:
            self._draw_view(view)
        except NothingToDraw as exc:
            self.figure.clear()
            raise ValueError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - checked data that still cannot be drawn: say so, never a traceback
            self.figure.clear()
            raise ValueError(f"This view of {self.path.name} could not be drawn ({type(exc).__name__}); "
                             "choose another view, or check the file.") from None

    def _draw_view(self, view: str) -> None:
        fig, r = self.figure, self.results
        fig.clear()
        top = 0.83 if self.banner_text else 0.88
        if view == "accuracy":
            a, b = fig.subplots(1, 2)
            fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=top - 0.04, wspace=0.22)
            draw_accuracy(a, b, r)
        elif view == "epochs":
            ax = fig.subplots()
            fig.subplots_adjust(left=0.08, right=0.78, bottom=0.13, top=top)
            draw_epochs(ax, r)
        else:
            ax = fig.subplots()
            fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=top)
            draw_distortion(ax, r)
        if self.banner_text:
            # Drawn as written (no mathtext): it holds no file strings today, and never will be parsed.
            fig.text(0.5, 0.99, self.banner_text, ha="center", va="top", fontsize=10, color="#8a1c1c",
                     weight="bold", parse_math=False, wrap=False)
        self.text_pt = fit_for_room(fig)  # every text at least 12 px on screen

    def render(self) -> None:
        view = self.view.value
        if view not in self._png:
            super().render()
            self._png[view] = self.image.value
        else:
            self.image.value = self._png[view]

    def describe(self) -> str | None:
        """The plot's alt text (its tooltip and the line under it): what it shows, in one line."""
        r = self.results
        if r is None:
            return None
        id_name, ood_name = (_plain(n, 30) for n in dataset_names(r))
        view = self.view.value
        names = [n for n in ORDER if n in r["methods"]]
        if view == "accuracy":
            def acc(n):
                m = r["methods"][n]
                if m.get("id_acc") is None or m.get("ood_acc") is None:
                    return f"{n} {method_status(m)}"
                return f"{n} {100 * m['id_acc']:.1f}/{100 * m['ood_acc']:.1f}"
            other = (NO_PAPER_NOTE.lower() if experiment(r) == "lpft-mini"
                     else "right, the paper's Table 1 (CIFAR-10 \u2192 STL-10, ResNet-50)")
            bars = "; error bars \u00b11 std" if has_std(r) else ""
            seeds = f" over {seed_count(r)} seeds" if seed_count(r) > 1 else ""
            return (f"Bar chart: left, ID ({id_name}) and OOD ({ood_name}) accuracy in % of this run{seeds}: "
                    f"{', '.join(acc(n) for n in names)}{bars}; {other}.")
        if view == "epochs":
            return (f"Line chart: ID ({id_name}, solid) and OOD ({ood_name}, dashed) accuracy in % after each "
                    "epoch for FT and LP-FT; LP's final accuracy as flat lines.")
        return (f"Bar chart: how far each method moved the pretrained features (relative change) on ID "
                f"({id_name}) and OOD ({ood_name}) test examples.")

    def _table_html(self) -> str:
        r = self.results
        rows = []
        for name in ORDER:
            m = r["methods"].get(name)
            if not m:
                continue
            d = m.get("distortion") or {}
            rel = lambda k: "&ndash;" if (d.get(k) or {}).get("relative") is None else f"{d[k]['relative']:.3g}"  # noqa: E731
            status = html.escape(method_status(m))
            if status == "diverged":
                status = f"<b style='color:#8a1c1c'>diverged</b>: {_text(m.get('error') or 'no reason recorded')}"
            elif status != "complete":
                status = f"<b style='color:#8a1c1c'>{status}</b>"
            seeds = m.get("per_seed")
            if seeds:
                status += f" ({len(seeds)} seeds)"
            rows.append(f"<tr><td><b>{name}</b></td><td>{status}</td><td>{_pct(m, 'id_acc')}</td>"
                        f"<td>{_pct(m, 'ood_acc')}</td><td>{rel('id')}</td><td>{rel('ood')}</td></tr>")
        cfg, dev = r.get("config") or {}, r.get("device") or {}
        id_name, ood_name = (_text(n) for n in dataset_names(r))
        return ("<table style='font-size:90%'><tr><th>method</th><th>status</th>"
                f"<th>ID acc (%)<br><span style='font-weight:normal'>{id_name}</span></th>"
                f"<th>OOD acc (%)<br><span style='font-weight:normal'>{ood_name}</span></th>"
                "<th>distortion ID</th><th>distortion OOD</th></tr>" + "".join(rows) + "</table>"
                f"<p style='font-size:85%'>File: {_text(self.path)} &middot; experiment: {_text(experiment(r))}"
                f" &middot; run status: {_text(run_status(r) or 'not recorded')}"
                f" &middot; data: {_text(_data_words(r.get('data_kind')))}"
                f" &middot; backbone {_text(cfg.get('backbone'))}, {_text(cfg.get('epochs'))} epochs, "
                f"{_text(cfg.get('image_size'))} px &middot; device {_text(dev.get('type'))} "
                f"({_text(dev.get('name'))}) &middot; command <code>{_text(r.get('command'))}</code></p>")


def _refuse(message: str):
    raise ResultsError(message)


def _pct(m: dict, key: str) -> str:
    v, std = m.get(key), m.get(f"{key}_std")
    if v is None:
        return "&ndash;"
    return f"{100 * v:.1f}" + ("" if std is None else f" &plusmn; {100 * std:.1f}")


def _data_words(kind) -> str:
    return {"real": "real", "fake": "fake", "unknown": "of unknown origin"}.get(kind, "not read yet")
