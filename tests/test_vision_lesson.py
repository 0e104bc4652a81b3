"""How lesson 3 chooses what to run, and its exercise self-checks."""
from __future__ import annotations

import json
import re
from pathlib import Path

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


# -- lesson 3's text: conventions, and every number it states about the laptop experiment -------------
LESSON = Path(__file__).resolve().parents[1] / "lessons" / "03_cifar_to_stl.py"


def _markdown() -> str:
    cells = LESSON.read_text(encoding="utf-8").split("# %%")
    return "\n".join(c for c in cells if c.startswith(" [markdown]"))


def test_lesson_header_and_think_answers():
    text = _markdown()
    assert "**Duration: about 45 minutes**" in text and "**Prerequisites:**" in text
    assert "(../docs/glossary.md)" in text
    thinks = text.count("**Think!**")
    assert thinks >= 4 and text.count("<details><summary>Answer</summary>") >= thinks
    flat = " ".join(text.replace("# ", " ").split())
    # the paper's figures are labelled as the paper's; the smoke path is never a result
    assert "the answers are the paper's" in flat and "accuracies say nothing about CIFAR-10 or STL-10" in flat
    assert "paper" + "_notes" not in LESSON.read_text() and "20x" not in text and "20×" not in text
    # the default backbone's overlap with STL-10 and the paper's reason for MoCo-v2 are said
    assert "STL-10's images were drawn from ImageNet" in flat and "never their labels" in flat
    for differs in ("**10**", "**20**", "**128**", "**64**", "**bf16 autocast**", "**updated every batch**",
                    "**ResNet-18, supervised ImageNet weights**", "**0.228**"):
        assert differs in text, differs
    assert "runs/<time>-<id>/results.json" in flat and "design target, not a measurement" in flat


def _stated(flat: str, pattern: str) -> tuple[float, ...]:
    """The numbers the lesson states where ``pattern`` (a regex with groups) matches; fails when absent."""
    found = re.search(pattern, flat)
    assert found, f"the lesson no longer states {pattern!r}"
    return tuple(float(g) for g in found.groups())


@pytest.mark.slow
def test_the_numbers_the_lesson_states_come_from_a_real_run():
    """Lesson 3 quotes our run of the laptop experiment (5 seeds, the defaults): run it and compare
    every number the text states. On the machine that wrote the text they agree to the printed digit;
    elsewhere floating-point differences may move an accuracy by a test digit or two, hence the
    tolerances (0.5 points for accuracies, 0.01 for distortions)."""
    from lpft_edu.mini import MiniConfig, run_mini
    flat = " ".join(_markdown().replace("# ", " ").split())
    on = run_mini(MiniConfig(seeds=5, fast=False, progress=False), runs_dir=False)
    off = run_mini(MiniConfig(seeds=5, fast=False, progress=False, pretrain_ood=False), runs_dir=False)
    num = r"(\d+\.\d)"

    def pts(v):
        return 100 * v

    def near(stated, measured, tol=0.5):
        assert abs(stated - measured) <= tol, (stated, measured)

    m, o = on["methods"], off["methods"]
    lp, lp_sd, ft, ft_sd = _stated(flat, rf"LP beats FT by about \d+ points\*\*: {num} ± {num} % against {num} ± {num} %")
    near(lp, pts(m["LP"]["ood_acc"])), near(lp_sd, pts(m["LP"]["ood_acc_std"]))
    near(ft, pts(m["FT"]["ood_acc"])), near(ft_sd, pts(m["FT"]["ood_acc_std"]))
    (gap,) = _stated(flat, r"LP beats FT by about (\d+) points")
    near(gap, pts(m["LP"]["ood_acc"] - m["FT"]["ood_acc"]), 1.0)
    (pre,) = _stated(flat, rf"\({num} % on both\)")
    near(pre, pts(on["pretraining"]["id_acc"])), near(pre, pts(on["pretraining"]["ood_acc"]))
    low, high = _stated(flat, rf"tie\*\* \({num} to {num} %, each with a spread of about 1 point\)")
    near(low, min(pts(m[n]["id_acc"]) for n in m)), near(high, max(pts(m[n]["id_acc"]) for n in m))
    assert all(0.5 <= pts(m[n]["id_acc_std"]) < 1.5 for n in m)
    lpft, lpft_sd, above = _stated(flat, rf"OOD accuracy\*\* \({num} ± {num} %, about (\d+) points above FT\)")
    near(lpft, pts(m["LP-FT"]["ood_acc"])), near(lpft_sd, pts(m["LP-FT"]["ood_acc_std"]))
    near(above, pts(m["LP-FT"]["ood_acc"] - m["FT"]["ood_acc"]), 1.0)
    (lower,) = _stated(flat, rf"not\* better than LP here \({num} points lower")
    near(lower, pts(m["LP"]["ood_acc"] - m["LP-FT"]["ood_acc"]))
    dist = r"(\d\.\d\d)"
    ft_id, ft_ood, lpft_id, lpft_ood = _stated(flat, rf"{dist} against {dist} for FT, {dist} against {dist} for LP-FT")
    d = {n: m[n]["distortion"] for n in ("FT", "LP-FT")}
    for stated, measured in ((ft_id, d["FT"]["id"]), (ft_ood, d["FT"]["ood"]), (lpft_id, d["LP-FT"]["id"]),
                             (lpft_ood, d["LP-FT"]["ood"])):
        near(stated, measured["relative"], 0.01)
    assert d["FT"]["id"]["relative"] > d["FT"]["ood"]["relative"]  # "FT moved ID features more"
    ratios = [d["FT"][s]["relative"] / d["LP-FT"][s]["relative"] for s in ("id", "ood")]
    assert all(4 <= r <= 5.5 for r in ratios) and "4 to 5 times less" in flat
    lp_seeds = [r["ood_acc"] for r in m["LP"]["per_seed"]]
    ft_seeds = [r["ood_acc"] for r in m["FT"]["per_seed"]]
    assert all(a > b for a, b in zip(lp_seeds, ft_seeds))  # "every seed the same way"
    stated = _stated(flat, rf"\(LP {num} ± {num}, FT {num} ± {num}, LP-FT {num} ± {num}; chance is 10 %\)")
    measured = [pts(o[n][k]) for n in ("LP", "FT", "LP-FT") for k in ("ood_acc", "ood_acc_std")]
    for a, b in zip(stated, measured):
        near(a, b)
    (pre_off,) = _stated(flat, rf"reads only {num} % of moved digits")
    near(pre_off, pts(off["pretraining"]["ood_acc"]))
