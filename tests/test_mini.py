"""lpft-mini, the laptop experiment: a reduced run (fast mode, 2 seeds) checks the results schema,
the per-seed spread and the knob; the CLI refuses bad flags with exit 2 and no run folder.

The direction of the effect is not asserted here: the fast run trains for a few epochs only.
The full run's numbers are in benchmarks/bench_mini.py's output and the lesson."""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lpft_edu.apps.results import load_results, validate_results
from lpft_edu.mini import MiniConfig, run_mini
from lpft_edu.mini import cli, experiment
from lpft_edu.mini.data import load_digits_tensors, make_splits, move_right
from lpft_edu.vision.results import SCHEMA
from lpft_edu.vision.train import Diverged

METHODS = ("LP", "FT", "LP-FT")
TINY = ["--hidden", "16", "--pretrain-epochs", "1", "--epochs", "1", "--lp-cs", "2"]  # wiring checks only


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    results = run_mini(MiniConfig(seeds=2, fast=True, progress=False), runs_dir=runs)
    return results, runs


def test_fast_run_passes_the_viewers_checks_in_memory_and_on_disk(fast_run):
    results, runs = fast_run
    assert validate_results(results) == []
    folders = list(runs.iterdir())
    assert len(folders) == 1 and Path(results["run_dir"]) == folders[0]
    on_disk = load_results(folders[0] / "results.json")  # raises if the viewer would refuse it
    assert on_disk["status"] == results["status"] == "complete"
    assert on_disk["schema"] == SCHEMA and on_disk["experiment"] == "lpft-mini"
    assert on_disk["data_kind"] == "real" and on_disk["smoke"] is False
    assert set(on_disk["datasets"]) == {"id", "ood"} and "moved" in on_disk["datasets"]["ood"]
    json.dumps(on_disk["config"], allow_nan=False)  # plain JSON values only


def test_each_method_has_one_record_per_seed_and_its_std_is_their_spread(fast_run):
    results, _ = fast_run
    assert results["seeds"] == [0, 1]
    for name in METHODS:
        m = results["methods"][name]
        assert m["status"] == "complete"
        assert [s["seed"] for s in m["per_seed"]] == [0, 1]
        for key in ("id_acc", "ood_acc"):
            values = [s[key] for s in m["per_seed"]]
            assert all(0.0 <= v <= 1.0 for v in values)
            assert m[key] == pytest.approx(np.mean(values))
            assert m[f"{key}_std"] == pytest.approx(np.std(values, ddof=1))
        for side in ("id", "ood"):
            rel = [s["distortion"][side]["relative"] for s in m["per_seed"]]
            assert m["distortion"][side]["relative"] == pytest.approx(np.mean(rel))
            assert [s[f"distortion_{side}"] for s in m["per_seed"]] == rel
    assert results["methods"]["LP"]["distortion"]["ood"]["relative"] == 0.0  # frozen features
    for name in ("FT", "LP-FT"):  # accuracy after each epoch, mean over seeds; the last is the result
        m = results["methods"][name]
        assert [e["epoch"] for e in m["epochs"]] == list(range(1, results["config"]["epochs"] + 1))
        assert m["epochs"][-1]["ood_acc"] == pytest.approx(m["ood_acc"])
        assert all(len(s["epochs"]) == len(m["epochs"]) for s in m["per_seed"])
    cfg = MiniConfig()
    assert {s["lr"] for s in results["methods"]["FT"]["per_seed"]} == {cfg.lr_ft}
    assert {s["lr"] for s in results["methods"]["LP-FT"]["per_seed"]} == {cfg.lr_lpft}
    assert results["methods"]["FT"]["distortion"]["ood"]["relative"] > 0.0   # FT trains the features


def test_paired_differences_are_the_seed_by_seed_differences(fast_run):
    results, _ = fast_run
    methods = results["methods"]
    claims = {(c["a"], c["b"], c["key"]): c for c in results["paired"]}
    assert ("LP", "FT", "ood_acc") in claims and ("FT", "LP-FT", "distortion_ood") in claims
    for (a, b, key), c in claims.items():
        diffs = [sa[key] - sb[key] for sa, sb in zip(methods[a]["per_seed"], methods[b]["per_seed"])]
        assert c["diffs"] == pytest.approx(diffs) and c["mean"] == pytest.approx(np.mean(diffs))
        assert c["std"] == pytest.approx(np.std(diffs, ddof=1))
        assert c["a_higher"] + c["equal"] + c["b_higher"] == 2 and c["a_higher"] == sum(d > 0 for d in diffs)


def test_the_two_seeds_differ_and_a_rerun_repeats_them(fast_run):
    results, _ = fast_run
    ft = results["methods"]["FT"]["per_seed"]
    assert ft[0]["distortion_ood"] != ft[1]["distortion_ood"]  # seed changes split, init and order
    again = run_mini(MiniConfig(seeds=1, fast=True, progress=False), runs_dir=False)
    assert again["run_dir"] is None
    for name in METHODS:
        first = results["methods"][name]["per_seed"][0]
        assert again["methods"][name]["per_seed"][0]["id_acc"] == first["id_acc"]
        assert again["methods"][name]["per_seed"][0]["ood_acc"] == first["ood_acc"]
    assert again["methods"]["FT"]["id_acc_std"] is None  # no spread from one seed
    assert again["command"] == "lpft-mini --seeds 1 --fast"  # the command line that repeats it


def test_the_knob_is_recorded_and_changes_the_pretraining_data(tmp_path, capsys):
    rc = cli.main(["--seeds", "1", "--fast", "--no-pretrain-ood", "--no-progress", "--runs-dir", str(tmp_path), *TINY])
    assert rc == 0
    (folder,) = tmp_path.iterdir()
    saved = load_results(folder / "results.json")
    assert saved["config"]["pretrain_ood"] is False and saved["config"]["fast"] is True
    assert saved["command"].startswith("lpft-mini ") and "--no-pretrain-ood" in saved["command"]
    with_ood = make_splits(*load_digits_tensors(), 0, 2, 0.5, True)
    assert saved["data"]["sizes"]["pretrain"] == len(with_ood.pretrain) // 2
    out = capsys.readouterr().out
    assert "WITHOUT the OOD kind" in out and str(folder / "results.json") in out
    for name in METHODS:
        assert name in out


@pytest.mark.parametrize("argv, flag", [
    (["--seeds", "0"], "--seeds"), (["--seeds", "x"], "--seeds"), (["--seeds", "2.5"], "--seeds"),
    (["--lr-ft", "nan"], "--lr-ft"), (["--lr-lpft", "0"], "--lr-lpft"), (["--shift", "9"], "--shift"),
    (["--pretrain-fraction", "2"], "--pretrain-fraction"), (["--batch-size", "1"], "--batch-size"),
    (["--bogus"], "--bogus"),
])
def test_bad_flags_exit_2_with_one_line_and_no_run_folder(tmp_path, capsys, argv, flag):
    runs = tmp_path / "runs"
    try:
        rc = cli.main([*argv, "--no-progress", "--runs-dir", str(runs)])
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err and "Traceback" not in err
    assert not runs.exists()


def test_the_console_script_is_installed_and_refuses_like_main(tmp_path):
    script = Path(sys.executable).with_name("lpft-mini")
    assert script.exists(), "run: .venv/bin/python -m pip install --no-deps -e ."
    proc = subprocess.run([str(script), "--seeds", "-1", "--runs-dir", str(tmp_path / "r")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--seeds" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_validate_names_the_flag_and_the_range():
    with pytest.raises(ValueError, match=r"^--seeds must be from 1 to 100, got 0$"):
        MiniConfig(seeds=0).validate()
    with pytest.raises(ValueError, match="--seeds"):
        MiniConfig(seeds=True).validate()  # a bool is not a number of seeds
    with pytest.raises(ValueError, match="--pretrain-ood must be true or false"):
        MiniConfig(pretrain_ood="no").validate()
    with pytest.raises(ValueError, match="--lr-ft"):
        MiniConfig(lr_ft=math.inf).validate()
    with pytest.raises(ValueError, match="--seeds"):
        run_mini(MiniConfig(seeds=-3), runs_dir=False)


def test_fast_mode_follows_the_environment_and_caps_the_sizes(monkeypatch):
    monkeypatch.setenv("LPFT_FAST", "1")
    assert MiniConfig().fast is True
    small = MiniConfig().resolved()
    assert small.epochs < MiniConfig(fast=False).epochs and small.seeds == 5
    monkeypatch.setenv("LPFT_FAST", "0")
    assert MiniConfig().fast is False and MiniConfig().resolved() == MiniConfig()


def test_a_diverged_method_makes_the_run_diverged_and_names_the_flag(monkeypatch, tmp_path, capsys):
    real = experiment.finetune

    def blow_up_ft(model, train, evals, cfg, *args, **kw):
        if cfg.method == "FT":
            raise Diverged("loss became nan at epoch 1, batch 3", 1, 3, math.nan, {"epochs": []})
        return real(model, train, evals, cfg, *args, **kw)

    monkeypatch.setattr(experiment, "finetune", blow_up_ft)
    rc = cli.main(["--seeds", "1", "--fast", "--no-progress", "--runs-dir", str(tmp_path), *TINY])
    assert rc == 3
    (folder,) = tmp_path.iterdir()
    saved = load_results(folder / "results.json")
    assert saved["status"] == "diverged"
    ft = saved["methods"]["FT"]
    assert ft["status"] == "diverged" and ft["id_acc"] is None and "--lr-ft" in ft["error"]
    assert saved["methods"]["LP-FT"]["status"] == "complete"
    assert "FT diverged" in capsys.readouterr().err


def test_ood_digits_are_the_id_test_digits_moved_right():
    x, y = load_digits_tensors()
    assert x.shape == (1797, 64) and float(x.min()) == 0.0 and float(x.max()) == 1.0
    data = make_splits(x, y, 3, 2, 0.5, True)
    assert torch.equal(data.ood_test.y, data.id_test.y)
    assert torch.equal(data.ood_test.x, move_right(data.id_test.x, 2))
    img = data.id_test.x.view(-1, 8, 8)
    moved = data.ood_test.x.view(-1, 8, 8)
    assert torch.equal(moved[:, :, 2:], img[:, :, :6]) and not moved[:, :, :2].any()
    # the downstream images are disjoint from the pretraining ones, and pretraining holds both kinds
    n = len(data.pretrain) // 2
    assert torch.equal(data.pretrain.x[n:], move_right(data.pretrain.x[:n], 2))
    pre = {tuple(r) for r in data.pretrain.x[:n].tolist()}
    down = [tuple(r) for part in (data.train, data.val, data.id_test) for r in part.x.tolist()]
    shared = sum(r in pre for r in down)
    assert shared <= 5, f"{shared} downstream digits also in pretraining (only identical scans may repeat)"
    assert len(data.train) + len(data.val) + len(data.id_test) + n == 1797


def test_an_interrupted_run_leaves_a_readable_file_marked_interrupted(monkeypatch, tmp_path):
    real = experiment.run_seed

    def stop_at_seed_1(seed, *args, **kw):
        if seed == 1:
            raise KeyboardInterrupt
        return real(seed, *args, **kw)

    monkeypatch.setattr(experiment, "run_seed", stop_at_seed_1)
    cfg = MiniConfig(seeds=3, fast=True, progress=False, hidden=16, pretrain_epochs=1, epochs=1, lp_cs=2)
    with pytest.raises(KeyboardInterrupt):
        run_mini(cfg, runs_dir=tmp_path)
    (folder,) = tmp_path.iterdir()
    saved = json.loads((folder / "results.json").read_text())
    assert validate_results(saved) == []
    assert saved["status"] == "interrupted"
    assert all(m["status"] == "interrupted" and len(m["per_seed"]) == 1 for m in saved["methods"].values())


def test_runs_dir_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("x")
    assert cli.main(["--no-progress", "--runs-dir", str(target)]) == 2
    assert "--runs-dir" in capsys.readouterr().err and target.read_text() == "x"


def test_sweep_lr_keeps_per_seed_the_rate_with_the_best_id_validation_accuracy():
    cfg = MiniConfig(seeds=1, fast=True, progress=False, sweep_lr=True, hidden=16, pretrain_epochs=1, epochs=1,
                     lp_cs=2)
    results = run_mini(cfg, runs_dir=False)
    assert validate_results(results) == [] and results["config"]["sweep_lr"] is True
    for name, grid in (("FT", experiment.FT_SWEEP), ("LP-FT", experiment.LPFT_SWEEP)):
        (seed,) = results["methods"][name]["per_seed"]
        sweep = seed["lr_sweep"]
        assert [s["lr"] for s in sweep] == list(grid)
        best = max(s["val_acc"] for s in sweep)
        assert seed["lr"] == next(s["lr"] for s in sweep if s["val_acc"] == best)  # first of equals
        assert seed["val_acc"] == best
