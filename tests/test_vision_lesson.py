"""How lesson 3 chooses what to run, and its exercise self-checks."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from lpft_edu.apps.results import example_path  # noqa: E402
from lpft_edu.exercises import passed  # noqa: E402
from lpft_edu.exercises import vision as ex  # noqa: E402
from lpft_edu.vision.fake import FakeSizes, write_fake_data  # noqa: E402
from lpft_edu.vision.lesson import REAL_RUN_NEEDS, choose_run, real_data_present  # noqa: E402
from lpft_edu.vision.labels import STL_TO_CIFAR  # noqa: E402


def test_choice_in_fast_mode_and_with_a_results_file(tmp_path, monkeypatch):
    monkeypatch.delenv("LPFT_RESULTS", raising=False)
    shown = choose_run()  # conftest sets fast mode: never a real run; the shipped smoke example by default
    assert shown.mode == "example" and shown.path == example_path() and "not a result" in shown.reason
    assert choose_run(run_smoke=True).mode == "smoke"
    assert choose_run(example_path()).mode == "load"
    monkeypatch.setenv("LPFT_RESULTS", str(example_path()))
    assert choose_run().path == example_path()
    assert "GPU" in REAL_RUN_NEEDS and "download.py" in REAL_RUN_NEEDS and "lpft-cifar-stl" in REAL_RUN_NEEDS
    assert "--preset colab-t4" in REAL_RUN_NEEDS and "not yet measured" in REAL_RUN_NEEDS


def test_without_a_gpu_the_lesson_shows_the_example_and_says_why(monkeypatch):
    import torch
    monkeypatch.delenv("LPFT_RESULTS", raising=False)
    monkeypatch.setattr("lpft_edu.vision.lesson.fast_mode", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    choice = choose_run()
    assert choice.mode == "example" and choice.reason.startswith("no GPU found")
    assert choose_run(run_smoke=True).mode == "smoke"


def test_fake_data_is_never_taken_for_real(tmp_path):
    write_fake_data(tmp_path, FakeSizes(50, 10, 10, 10))
    assert not real_data_present(tmp_path)


def test_exercise_checks(capsys):
    r = json.loads(example_path().read_text())
    assert passed(ex.check_label_map, dict(STL_TO_CIFAR))
    assert not passed(ex.check_label_map, {**STL_TO_CIFAR, 7: 6})
    assert not passed(ex.check_label_map, {0: 0, 1: 1})
    assert not passed(ex.check_label_map, ...)
    f0, f1 = ex.distortion_exercise_features()
    assert passed(ex.check_feature_distortion, np.linalg.norm(f1 - f0, axis=1).mean())
    assert not passed(ex.check_feature_distortion, np.linalg.norm(f1 - f0))
    ratio = r["methods"]["FT"]["distortion"]["id"]["relative"] / r["methods"]["LP-FT"]["distortion"]["id"]["relative"]
    assert passed(ex.check_distortion_ratio, ratio, r) and not passed(ex.check_distortion_ratio, ratio * 2, r)
    best = max(e["ood_acc"] for e in r["methods"]["FT"]["epochs"])
    capsys.readouterr()
    assert passed(ex.check_best_ft_ood_epoch, best, r) and not passed(ex.check_best_ft_ood_epoch, best - 0.1, r)
    out = capsys.readouterr().out
    assert "Not yet" in out and "fake data" in out and "says nothing" in out  # the example is a smoke run
    real = {**r, "data_kind": "real"}
    assert passed(ex.check_best_ft_ood_epoch, best, real)
    assert "LP-FT's final OOD accuracy" in capsys.readouterr().out
    # no unverifiable figure from the paper in the verdict
    passed(ex.check_distortion_ratio, ratio, r)
    assert "20x" not in capsys.readouterr().out
