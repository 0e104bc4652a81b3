"""Where lesson 3's runs go: the checkout's runs/ (or $LPFT_RUNS), never lessons/runs; progress bars."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

pytest.importorskip("torch")

from lpft_edu.vision import experiment, lesson  # noqa: E402
from lpft_edu.vision.results import default_runs_dir, project_root  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def test_a_notebook_started_in_lessons_writes_to_the_checkouts_runs(monkeypatch):
    monkeypatch.delenv("LPFT_RUNS", raising=False)
    monkeypatch.chdir(REPO / "lessons")
    assert project_root() == REPO
    assert default_runs_dir() == REPO / "runs"
    assert "lessons" not in default_runs_dir().parts


def test_lpft_runs_overrides_and_outside_a_checkout_lessons_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("LPFT_RUNS", str(tmp_path / "mine"))
    assert default_runs_dir() == tmp_path / "mine"
    monkeypatch.delenv("LPFT_RUNS")
    (tmp_path / "lessons").mkdir()
    assert default_runs_dir(tmp_path / "lessons") == tmp_path / "runs"
    assert default_runs_dir(tmp_path) == tmp_path / "runs"


def test_run_for_lesson_uses_the_runs_folder_and_tqdm_auto(tmp_path, monkeypatch):
    calls = {}

    def fake_run(cfg, run_dir, progress, command, log):
        calls.update(run_dir=Path(run_dir), progress=progress, cfg=cfg)
        return {"methods": {}}

    monkeypatch.setattr(experiment, "run_experiment", fake_run)
    monkeypatch.setattr(lesson, "fast_mode", lambda: False)
    monkeypatch.setenv("LPFT_RUNS", str(tmp_path / "runs"))
    out = lesson.run_for_lesson(lesson.RunChoice("smoke", "test"))
    assert calls["run_dir"].parent == tmp_path / "runs" and calls["progress"] is True
    assert out["results_path"] == str(calls["run_dir"] / "results.json")
    assert "tqdm.auto" in inspect.getsource(experiment._bar)


def test_lesson_runs_dir_is_temporary_in_fast_mode_and_the_checkouts_runs_otherwise(monkeypatch):
    monkeypatch.delenv("LPFT_RUNS", raising=False)
    fast = lesson.lesson_runs_dir()  # conftest sets fast mode: CI leaves the repository clean
    assert REPO not in fast.parents and fast.is_dir()
    monkeypatch.setattr(lesson, "fast_mode", lambda: False)
    assert lesson.lesson_runs_dir() == default_runs_dir() == REPO / "runs"
