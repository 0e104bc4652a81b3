"""The Colab cell (each lesson's first code cell) and the launch badges.

Outside Colab the cell must do nothing; on Colab (simulated: a fake ``google.colab`` module in
sys.modules, subprocess intercepted) it must run exactly one pip command that installs the package
from lpft_edu.launch.REPO_URL. The cells tested are the ones in the committed lessons, so a hand
edit that breaks them fails here, not on a student's Colab.
"""
from __future__ import annotations

import subprocess
import sys
import types

import jupytext
import pytest

from lpft_edu import authoring, launch

LAUNCHED = authoring.student_sources()  # every lesson


def colab_cell_of(source) -> str:
    cells = [c for c in jupytext.read(source).cells if c.cell_type == "code"]
    assert cells, f"{source.name} has no code cell"
    assert launch.COLAB_TAG in cells[0].metadata.get("tags", []), \
        f"{source.name}: the first code cell is not the Colab cell: run `python -m lpft_edu.authoring launch`"
    return cells[0].source


@pytest.fixture
def calls(monkeypatch):
    """Every subprocess call the cell makes, recorded instead of run."""
    made = []

    def record(name):
        def fake(*args, **kwargs):
            made.append((name, list(args[0]) if args else kwargs.get("args")))
            return 0 if name == "check_call" else subprocess.CompletedProcess(args, 0)
        return fake

    for name in ("check_call", "run", "call", "check_output", "Popen"):
        monkeypatch.setattr(subprocess, name, record(name))
    monkeypatch.setattr("os.system", lambda *a: made.append(("os.system", a)) or 0)
    return made


@pytest.fixture
def on_colab(monkeypatch):
    colab = types.ModuleType("google.colab")
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)


def test_every_lesson_but_the_pending_ones_is_tested():
    assert {s.stem[:3] for s in LAUNCHED} >= {"01_", "02_"}


@pytest.mark.parametrize("source", LAUNCHED, ids=lambda s: s.stem)
def test_colab_cell_does_nothing_outside_colab(source, calls, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(colab_cell_of(source), source.name, "exec"), {})
    assert calls == []


@pytest.mark.parametrize("source", LAUNCHED, ids=lambda s: s.stem)
def test_colab_cell_on_colab_installs_the_package_from_the_repository(source, calls, on_colab):
    exec(compile(colab_cell_of(source), source.name, "exec"), {})
    extra = "[vision]" if "lpft_edu.vision" in source.read_text() else ""
    assert calls == [("check_call", [sys.executable, "-m", "pip", "install", "--quiet",
                                      f"lpft-edu{extra} @ git+{launch.REPO_URL}"])]


def test_a_lesson_that_imports_the_vision_code_installs_the_vision_extra(calls, on_colab):
    code = launch.colab_cell(launch.lesson_extras("from lpft_edu.vision import cli"))
    exec(code, {})
    assert calls == [("check_call", launch.pip_command(sys.executable, ("vision",)))]
    assert calls[0][1][-1] == f"lpft-edu[vision] @ git+{launch.REPO_URL}"


def test_colab_cell_is_plain_python_without_shell_escapes():
    for source in LAUNCHED:
        code = colab_cell_of(source)
        compile(code, source.name, "exec")
        assert "!pip" not in code and "%pip" not in code


def test_launch_urls_follow_repo_url():
    assert launch.owner_repo() == launch.REPO_URL.removeprefix("https://github.com/")
    assert launch.binder_url("student/02_linear_theory.ipynb", "https://github.com/me/fork") == \
        "https://mybinder.org/v2/gh/me/fork/HEAD?labpath=student%2F02_linear_theory.ipynb"
    assert launch.colab_url("lessons/01_toy.ipynb", "https://github.com/me/fork", "dev") == \
        "https://colab.research.google.com/github/me/fork/blob/dev/lessons/01_toy.ipynb"
    with pytest.raises(ValueError):
        launch.owner_repo("https://gitlab.com/me/fork")


@pytest.mark.parametrize("source", LAUNCHED, ids=lambda s: s.stem)
def test_badges_open_both_versions_and_the_student_notebook_only_its_own(source):
    nb = jupytext.read(source)
    assert launch.BADGES_TAG in nb.cells[1].metadata.get("tags", []), "the badge cell is not right under the title"
    badges = nb.cells[1].source
    for folder in ("lessons", "student"):
        path = f"{folder}/{source.stem}.ipynb"
        assert launch.colab_url(path) in badges and launch.binder_url(path) in badges
    student = authoring.student_notebook(source)
    [cell] = [c for c in student.cells if launch.BADGES_TAG in c.metadata.get("tags", [])]
    assert f"student/{source.stem}.ipynb" in cell.source and "lessons/" not in cell.source
    assert [c for c in student.cells if c.cell_type == "code"][0].source == colab_cell_of(source)


@pytest.mark.parametrize("source", LAUNCHED, ids=lambda s: s.stem)
def test_launch_cells_are_what_the_tool_writes(source):
    assert authoring.launch_problems(source) == []
