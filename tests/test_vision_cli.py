"""The lpft-cifar-stl command: the smoke run end to end, run directories, and resume after an interruption."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("torch")

from lpft_edu.apps.results import SCHEMA, validate_results  # noqa: E402
from lpft_edu.vision import cli  # noqa: E402
from lpft_edu.vision import results as vresults  # noqa: E402

# Smaller than --smoke, for the in-process tests (the subprocess test runs the real --smoke).
QUICK = ["--smoke", "--no-progress", "--epochs", "2", "--limit-train", "192", "--limit-eval", "96",
         "--val-size", "96", "--lp-cs", "4", "--distortion-examples", "64"]


def test_smoke_cli_end_to_end(tmp_path):
    env = {**os.environ, "LPFT_DATA": str(tmp_path / "cache")}
    assert env.get("LPFT_NO_NETWORK") == "1"  # conftest's guard reaches this subprocess too
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "lpft_edu.vision.cli", "--smoke", "--no-progress",
                          "--runs", str(tmp_path / "runs")], env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr[-3000:]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    r = json.loads((runs[0] / "results.json").read_text())
    assert validate_results(r) == [] and r["schema"] == SCHEMA
    assert r["status"] == "complete" and r["smoke"] and r["data_kind"] == "fake"
    assert "fake" in r["banner"].lower() and "SMOKE RUN ON FAKE DATA" in out.stdout
    assert set(r["methods"]) == {"LP", "FT", "LP-FT"}
    for name in ("FT", "LP-FT"):
        m = r["methods"][name]
        assert len(m["epochs"]) == r["config"]["epochs"] == 2
        assert {"id_acc", "ood_acc", "val_acc", "train_loss", "images_per_second"} <= set(m["epochs"][0])
        assert m["distortion"]["id"]["n"] > 0 and m["images_per_second"] > 0
    assert r["methods"]["LP"]["C_sweep"] and r["device"]["type"] == "cpu"
    assert r["data"]["sizes"]["ood_test"] > 0 and len(r["data"]["class_counts"]["train"]) == 10
    assert {"data_s", "features_s", "lp_s", "ft_s", "lpft_s", "total_s"} <= set(r["timings"])
    assert all(os.path.exists(p) for p in r["figures"])
    assert r["paper_reference"]["source"].startswith("reported by Kumar et al. 2022")
    assert wall < 120, f"--smoke took {wall:.0f} s (budget 90 s on a 2-core machine)"


def test_runs_never_overwrite_and_methods_subset(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LPFT_DATA", str(tmp_path / "cache"))
    runs = tmp_path / "runs"
    assert cli.main(QUICK + ["--runs", str(runs), "--methods", "lp"]) == 0
    assert cli.main(QUICK + ["--runs", str(runs), "--methods", "ft"]) == 0
    dirs = sorted(runs.iterdir())
    assert len(dirs) == 2
    methods = [set(json.loads((d / "results.json").read_text())["methods"]) for d in dirs]
    assert sorted(map(sorted, methods)) == [["FT"], ["LP"]]


def test_resume_after_interruption(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LPFT_DATA", str(tmp_path / "cache"))
    runs = tmp_path / "runs"
    assert cli.main(QUICK + ["--runs", str(runs / "a"), "--methods", "ft,lpft"]) == 0
    reference = json.loads(next((runs / "a").iterdir()).joinpath("results.json").read_text())

    assert cli.main(QUICK + ["--runs", str(runs / "b"), "--methods", "ft,lpft", "--interrupt-after", "lpft:1"]) == 130
    run_dir = next((runs / "b").iterdir())
    assert "lpft-cifar-stl --resume" in capsys.readouterr().err
    partial = json.loads((run_dir / "results.json").read_text())
    assert partial["status"] == "interrupted" and "FT" in partial["methods"] and "LP-FT" not in partial["methods"]
    ft_done = partial["methods"]["FT"]

    assert cli.main(["--resume", str(run_dir), "--no-progress"]) == 0
    final = json.loads((run_dir / "results.json").read_text())
    assert final["status"] == "complete" and len(final["resumed"]) == 1
    assert final["methods"]["FT"] == ft_done  # finished method not re-run
    for name in ("FT", "LP-FT"):
        ours = [(e["id_acc"], e["ood_acc"]) for e in final["methods"][name]["epochs"]]
        ref = [(e["id_acc"], e["ood_acc"]) for e in reference["methods"][name]["epochs"]]
        assert ours == ref


def test_resume_of_a_missing_run_explains(tmp_path):
    with pytest.raises(SystemExit, match="nothing to resume"):
        cli.main(["--resume", str(tmp_path / "nope")])


def test_atomic_json_never_leaves_temp_files_and_rejects_nan(tmp_path):
    path = tmp_path / "r.json"
    vresults.write_json_atomic({"a": float("nan"), "b": [1.0, float("inf")]}, path)
    assert json.loads(path.read_text()) == {"a": None, "b": [1.0, None]}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    assert vresults.SCHEMA == SCHEMA


def test_bad_method_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--methods", "lp,xx"])
    assert "lp,ft,lpft" in capsys.readouterr().err
