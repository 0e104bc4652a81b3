"""The results viewer with files from others: every string and key of the schema carrying script,
mathtext in figure strings, and every number, list and object replaced by the wrong kind of value.

A results file is data. Whatever it holds, the viewer either draws it or shows a message (never a
traceback), no string from it reaches a widget as live HTML, and nothing of a previous file stays
on screen under a new file's message."""
from __future__ import annotations

import copy
import json
import math

import ipywidgets as widgets
import pytest

from lpft_edu.apps.results import ResultsViewerApp, example_path
from test_app_results import MINI

PAYLOAD = "<img src=x onerror=alert(1)></table><script>window.__xss=1</script>$\\frac{a}{$ ^{"
EXAMPLE = json.loads(example_path().read_text())
# The example with every field the schema allows and the shipped file lacks: a diverged method
# with its error line, seeds with standard deviations, the test sets' names.
FULL = copy.deepcopy(EXAMPLE)
FULL["status"] = "diverged"
FULL["datasets"] = {"id": "CIFAR-10 test", "ood": "STL-10 test"}
FULL["methods"]["FT"].update(status="diverged", error="loss became nan: lower --lr-ft", id_acc=None, ood_acc=None,
                             distortion=None)
FULL["methods"]["LP"].update(id_acc_std=0.01, ood_acc_std=0.02,
                             per_seed=[{"seed": 0, "id_acc": 0.9, "ood_acc": 0.5}, {"seed": 1, "id_acc": 0.92, "ood_acc": 0.6}])


def paths(obj, prefix=()):
    """(path, value) of every node below ``obj`` (path = tuple of keys and indices)."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield prefix + (k,), v
        yield from paths(v, prefix + (k,))


def fields(predicate, base=None):
    """The first path to each field of the schema whose value satisfies ``predicate`` (list items
    count as one field: epochs[0].id_acc stands for every epoch's)."""
    seen = {}
    for p, v in paths(EXAMPLE if base is None else base):
        if predicate(p, v):
            seen.setdefault(tuple("*" if isinstance(k, int) else k for k in p), p)
    return list(seen.values())


def replaced(path, value, base=None):
    r = copy.deepcopy(EXAMPLE if base is None else base)
    node = r
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return r


def renamed(path, new_key, base=None):
    r = copy.deepcopy(EXAMPLE if base is None else base)
    node = r
    for k in path[:-1]:
        node = node[k]
    node[new_key] = node.pop(path[-1])
    return r


def widget_strings(w):
    """Every string a widget (and the widgets inside it) sends to the page."""
    for name in w.keys:
        v = getattr(w, name, None)
        if isinstance(v, str):
            yield f"{type(w).__name__}.{name}", v
        elif isinstance(v, (tuple, list)):
            for item in v:
                if isinstance(item, widgets.Widget):
                    yield from widget_strings(item)
                elif isinstance(item, str):
                    yield f"{type(w).__name__}.{name}", item


def live_markup(app) -> list[str]:
    """Widget strings holding the payload's markup unescaped (the payload itself, or a part of it
    that survived cutting a long string short)."""
    return [f"{where}: {value[:200]}" for where, value in widget_strings(app.widget)
            if PAYLOAD in value or any(tag in value.lower() for tag in ("<img", "<script"))]


def outcome(app) -> str | None:
    """None when the app is in a sound state (a plot and no message, or a message and no plot)."""
    if app.error is None:
        return None if bytes(app.image.value).startswith(b"\x89PNG") else "no message and no plot"
    if "Traceback" in app.error:
        return "a traceback in the message"
    return None if app.image.layout.visibility == "hidden" else "a message beside a visible plot"


@pytest.fixture(scope="module")
def app():
    return ResultsViewerApp()


def check(app, content: dict, label: str, failures: list) -> None:
    try:
        app.load_bytes(json.dumps(content).encode(), "results.json")
    except Exception as exc:  # noqa: BLE001 - that is the failure being looked for
        failures.append(f"{label}: {type(exc).__name__}: {exc}")
        return
    if (bad := live_markup(app)):
        failures.append(f"{label}: live markup {bad}")
    if (bad := outcome(app)):
        failures.append(f"{label}: {bad}")


@pytest.mark.slow
def test_script_in_every_value_and_key_never_reaches_the_page(app):
    # Every value, not only the strings: config.epochs is a number in a real file, and a string
    # there went straight into the table.
    leaves = fields(lambda p, v: not isinstance(v, (dict, list)))
    keys = fields(lambda p, v: not isinstance(p[-1], int))
    assert len(leaves) >= 100 and len(keys) >= 150  # the walk really covers the schema
    failures: list[str] = []
    for p in leaves:
        check(app, replaced(p, PAYLOAD), "value at " + ".".join(map(str, p)), failures)
    for p in keys:
        check(app, renamed(p, PAYLOAD), "key " + ".".join(map(str, p)), failures)
    # The fields the shipped example lacks: a diverged method's error, seeds, test-set names, and
    # everything of an lpft-mini file.
    for base in (FULL, MINI):
        known = set(fields(lambda p, v: True))
        extra = [p for p in fields(lambda p, v: not isinstance(v, (dict, list)), base) if p not in known]
        assert base is MINI or {("datasets", "id"), ("methods", "FT", "error")} <= set(extra)
        for p in extra:
            check(app, replaced(p, PAYLOAD, base), f"{base.get('experiment', 'cifar-stl')} value at " + ".".join(map(str, p)), failures)
    # The upload's file name is a string from the page too.
    app.load_bytes(example_path().read_bytes(), PAYLOAD + ".json")
    if live_markup(app):
        failures.append("file name: " + str(live_markup(app)))
    assert not failures, f"{len(failures)} unsafe outcomes:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize("base", [FULL, MINI], ids=["cifar-stl", "lpft-mini"])
def test_script_in_every_string_field_at_once_is_drawn_as_text(base):
    """Every free-text field of the schema (and the upload's name) carries the payload in the same
    file: the file still opens, every view draws, and no widget holds live markup."""
    content = copy.deepcopy(base)
    strings = fields(lambda p, v: isinstance(v, str), base)
    fixed = {("schema",), ("status",), ("data_kind",), ("experiment",)}
    free = [p for p in strings if p not in fixed and p[-1] != "status"]
    assert ("datasets", "id") in free and ("command",) in free and ("config", "backbone") in free
    if base is FULL:
        assert ("methods", "FT", "error") in free
    for p in free:
        node = content
        for k in p[:-1]:
            node = node[k]
        node[p[-1]] = PAYLOAD
    app = ResultsViewerApp()
    app.load_bytes(json.dumps(content).encode(), PAYLOAD + ".json")
    assert app.error is None, app.error
    for _, view in app.view.options:
        app.view.value = view
        assert not live_markup(app), live_markup(app)
        assert app.error is None or "choose 'ID vs OOD accuracy'" in app.error
    app.view.value = "accuracy"
    # Escaped, not dropped: a reader sees what the file says.
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;/table&gt;&lt;script&gt;" in app.table.value
    assert "&lt;img" in app.banner.value or base is FULL  # lpft-mini's note names the test sets


def test_the_payload_is_shown_as_text(app):
    """Escaped, not dropped: a reader sees what the file says."""
    app.load_bytes(json.dumps(replaced(("command",), PAYLOAD)).encode(), "results.json")
    assert app.error is None
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;/table&gt;&lt;script&gt;" in app.table.value


@pytest.mark.parametrize("base, field", [
    (EXAMPLE, ("config", "backbone")), (EXAMPLE, ("banner",)), (EXAMPLE, ("command",)),
    (FULL, ("datasets", "id")), (FULL, ("methods", "FT", "error")), (MINI, ("datasets", "ood")),
], ids=["backbone", "banner", "command", "datasets.id", "error", "mini-datasets.ood"])
def test_mathtext_in_file_strings_draws_every_view(base, field):
    app = ResultsViewerApp()
    text = "$\\frac{1}{$ a_{b $x^{2"
    app.load_bytes(json.dumps(replaced(field, text, base)).encode(), "results.json")
    assert app.error is None, app.error
    if field == ("config", "backbone"):  # drawn as written, not parsed as mathtext
        assert any(text in ax.get_title() for ax in app.figure.axes)
    if field[0] == "datasets":
        assert any(text in t.get_text() for t in app.figure.axes[0].get_legend().get_texts())
    for _, view in app.view.options:
        app.view.value = view
        if app.error is not None:  # lpft-mini has no epochs or distortion: a message, not a crash
            assert "choose 'ID vs OOD accuracy'" in app.error and base is MINI
            continue
        assert bytes(app.image.value).startswith(b"\x89PNG")


BAD_VALUES = [math.nan, math.inf, -math.inf, -1, 1e308, 10**30, "0.5", None, True, [], {}, [1, 2], {"a": 1}]


@pytest.mark.slow
def test_every_number_list_and_object_replaced_by_a_wrong_value(app):
    """Each value in the file, in turn, becomes one of BAD_VALUES (rotating): a message or a
    plot, never an exception, never a message beside a plot."""
    failures: list[str] = []
    nodes = fields(lambda p, v: not isinstance(v, str))
    for i, p in enumerate(nodes):
        bad = BAD_VALUES[i % len(BAD_VALUES)]
        check(app, replaced(p, bad), f"{'.'.join(map(str, p))} = {bad!r}", failures)
        for _, view in app.view.options[1:]:  # the other views draw other parts of the methods
            if app.error is None and p[0] == "methods":
                app.view.value = view
                if (bad_state := outcome(app)):
                    failures.append(f"{'.'.join(map(str, p))} = {bad!r}, view {view}: {bad_state}")
                app.view.value = "accuracy"
    assert len(nodes) > 130
    assert not failures, f"{len(failures)} bad outcomes:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize("path, value, expected", [
    (("methods", "FT", "id_acc"), math.nan, "methods.FT.id_acc should be an accuracy"),
    (("methods", "FT", "ood_acc"), math.inf, "methods.FT.ood_acc should be an accuracy"),
    (("methods", "LP", "id_acc"), "0.9", "methods.LP.id_acc should be an accuracy"),
    (("methods", "FT", "epochs", 0, "id_acc"), math.nan, "methods.FT.epochs[0].id_acc"),
    (("methods", "FT", "epochs", 1, "epoch"), "two", "methods.FT.epochs[1].epoch should be a number"),
    (("methods", "LP-FT", "distortion", "id", "relative"), "big", "methods.LP-FT.distortion.id.relative"),
    (("methods", "LP-FT", "distortion"), [], "methods.LP-FT.distortion should hold"),
    (("config",), ["resnet18"], "'config' should be an object"),
    (("device",), "cuda", "'device' should be an object"),
    (("status",), "done", "'status' is 'done'"),
    (("methods", "FT", "status"), "great", "methods.FT.status is 'great'"),
    (("smoke",), "no", "'smoke' should be true or false"),
    (("data_kind",), "CIFAR-10", "'data_kind' is 'CIFAR-10'"),
    (("config", "epochs"), "<img src=x>", "'config.epochs' should be a whole number"),
    (("config", "image_size"), 0, "'config.image_size' should be a whole number"),
    (("command",), ["lpft-cifar-stl"], "'command' should be text"),
    (("device",), {"type": 3, "name": "gpu"}, "'device.type' should be text"),
    (("methods", "LP", "error"), {"html": "<b>"}, "methods.LP.error should be a line of text"),
    (("methods", "LP", "id_acc_std"), 2.0, "methods.LP.id_acc_std should be a standard deviation"),
    (("methods", "LP", "per_seed"), [{"seed": "x", "id_acc": 0.5, "ood_acc": 0.5}], "methods.LP.per_seed"),
])
def test_wrong_values_are_named_in_the_message(path, value, expected):
    app = ResultsViewerApp()
    # NaN and infinity are not JSON, but Python's json module writes and reads them.
    app.load_bytes(json.dumps(replaced(path, value)).encode(), "results.json")
    assert app.error is not None and expected in app.error, app.error
    assert app.table.value == "" and app.banner.value == "" and app.image.layout.visibility == "hidden"


@pytest.mark.parametrize("content, expected", [
    (b"[" * 100_000, "nested too deeply"),
    (b'{"schema": ' + b"1" * 5000 + b"}", "not valid JSON"),
    (b"\xef\xbb\xbf" + example_path().read_bytes(), None),  # a UTF-8 byte-order mark (Windows editors)
    (b"\xff\xfe{}", "not valid JSON"),
    (b"", "not valid JSON"),
    (b"null", "not an object"),
])
def test_files_that_break_the_json_reader_give_a_message(content, expected):
    app = ResultsViewerApp()
    app.load_bytes(content, "results.json")
    if expected is None:
        assert app.error is None
    else:
        assert app.error is not None and expected in app.error and "Traceback" not in app.error
