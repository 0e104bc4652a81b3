"""Lesson 3's laptop-experiment self-checks (lpft_edu.exercises.mini): each accepts the answer computed
from the learner's own results, refuses the common mistakes with a hint, and never hard-codes a number."""
from __future__ import annotations

import copy

import pytest

from lpft_edu.exercises import mini as ex
from lpft_edu.exercises import passed


def _method(id_acc, ood_accs, dist_id, dist_ood):
    per_seed = [{"seed": s, "id_acc": id_acc, "ood_acc": v} for s, v in enumerate(ood_accs)]
    return {"status": "complete", "id_acc": id_acc, "ood_acc": sum(ood_accs) / len(ood_accs), "per_seed": per_seed,
            "distortion": {"id": {"relative": dist_id, "mean_l2": 1.0}, "ood": {"relative": dist_ood, "mean_l2": 1.0}}}


def _results(lp, ft, lpft, pretrain_ood=True):
    return {"schema": "lpft-edu/cifar-stl-results/v1", "experiment": "lpft-mini", "config": {"pretrain_ood": pretrain_ood},
            "methods": {"LP": _method(0.96, lp, 0.0, 0.0), "FT": _method(0.96, ft, 0.36, 0.25),
                        "LP-FT": _method(0.96, lpft, 0.08, 0.05)}}


WITH = _results([0.9, 0.8, 0.85, 0.7], [0.8, 0.82, 0.75, 0.6], [0.88, 0.8, 0.84, 0.69])
WITHOUT = _results([0.15, 0.12, 0.2, 0.1], [0.16, 0.11, 0.18, 0.13], [0.15, 0.12, 0.2, 0.1], pretrain_ood=False)


def test_seeds_lp_ahead_counts_seed_by_seed(capsys):
    assert ex.seeds_lp_beats_ft_ood(WITH) == 3  # seed 1 has FT ahead: the mean hides it
    assert passed(ex.check_seeds_lp_ahead, 3, WITH)
    assert "3 of 4" in capsys.readouterr().out
    assert not passed(ex.check_seeds_lp_ahead, 1, WITH)
    assert "other way round" in capsys.readouterr().out
    assert not passed(ex.check_seeds_lp_ahead, 2, WITH)
    assert not passed(ex.check_seeds_lp_ahead, True, WITH)  # a bool is not a count
    assert not passed(ex.check_seeds_lp_ahead, ..., WITH)
    # computed from the results, not remembered: change a seed and the expected answer follows
    changed = copy.deepcopy(WITH)
    changed["methods"]["FT"]["per_seed"][0]["ood_acc"] = 0.95
    assert passed(ex.check_seeds_lp_ahead, 2, changed) and not passed(ex.check_seeds_lp_ahead, 3, changed)


def test_ood_distortion_ratio_and_its_mistakes(capsys):
    assert ex.distortion_ratio(WITH, "ood") == pytest.approx(5.0)
    assert passed(ex.check_ood_distortion_ratio, 0.25 / 0.05, WITH)
    assert not passed(ex.check_ood_distortion_ratio, 0.05 / 0.25, WITH)
    assert "LP-FT divided by FT" in capsys.readouterr().out
    assert not passed(ex.check_ood_distortion_ratio, 0.36 / 0.08, WITH)
    assert "ID inputs" in capsys.readouterr().out
    assert not passed(ex.check_ood_distortion_ratio, ..., WITH)


def test_knob_check_compares_the_two_runs(capsys):
    gap = ex.ood_gap(WITHOUT)
    assert gap == pytest.approx(-0.0025)
    assert passed(ex.check_knob, gap, WITHOUT, WITH) and passed(ex.check_knob, 100 * gap, WITHOUT, WITH)
    out = capsys.readouterr().out
    assert f"{100 * gap:+.1f} points" in out and f"{100 * ex.ood_gap(WITH):+.1f}" in out
    assert not passed(ex.check_knob, ex.ood_gap(WITH), WITHOUT, WITH)
    assert "first run" in capsys.readouterr().out
    assert not passed(ex.check_knob, gap, WITH, WITH)  # a run that still pretrained on moved digits
    assert "pretrain_ood=False" in capsys.readouterr().out
    assert not passed(ex.check_knob, gap, ..., WITH)  # the student version's placeholder for the run
    assert not passed(ex.check_knob, ..., WITHOUT, WITH)


def test_the_checks_read_real_lpft_mini_results(capsys):
    """The checks work on what run_mini writes (a tiny run, fast mode), not only on hand-made dicts."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from lpft_edu.mini import MiniConfig, run_mini
    with_ood = run_mini(MiniConfig(seeds=2, fast=True, progress=False), runs_dir=False)
    without = run_mini(MiniConfig(seeds=2, fast=True, progress=False, pretrain_ood=False), runs_dir=False)
    assert passed(ex.check_seeds_lp_ahead, ex.seeds_lp_beats_ft_ood(with_ood), with_ood)
    assert passed(ex.check_ood_distortion_ratio, ex.distortion_ratio(with_ood), with_ood)
    assert passed(ex.check_knob, ex.ood_gap(without), without, with_ood)


def test_the_lessons_tables_hold_back_the_paired_counts_until_exercise_1_is_done():
    pytest.importorskip("torch")
    from lpft_edu.mini.experiment import paired_differences
    from lpft_edu.vision.lesson import mini_means_table, mini_paired_table
    results = {**copy.deepcopy(WITH), "seeds": [0, 1, 2, 3],
               "pretraining": {"id_acc": 0.97, "ood_acc": 0.96}}
    results["methods"]["LP"]["distortion"]["ood"]["relative_std"] = 0.0
    means = mini_means_table(results)
    assert "4 seed(s)" in means and "the pretrained network with its own head: ID 97.0%, OOD 96.0%" in means
    assert "81.2" in means  # LP's mean OOD accuracy, in percent
    assert "higher" not in means and "paired" not in means  # exercise 1's answer is not printed before it
    for name in ("FT", "LP-FT"):  # per_seed records of the hand-made results lack what pairing needs
        for r in results["methods"][name]["per_seed"]:
            r["distortion_ood"] = results["methods"][name]["distortion"]["ood"]["relative"]
    for r in results["methods"]["LP"]["per_seed"]:
        r["distortion_ood"] = 0.0
    results["paired"] = paired_differences(results["methods"])
    paired = mini_paired_table(results)
    lp_ft = next(line for line in paired.splitlines() if "LP - FT" in line and "OOD accuracy" in line)
    assert lp_ft.rstrip().endswith(f"{ex.seeds_lp_beats_ft_ood(results)} / 0 / 1")
    assert mini_paired_table({"paired": []}).startswith("(no paired")
