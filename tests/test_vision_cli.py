"""The lpft-cifar-stl command: the smoke run end to end, run directories, option checks before any
work, divergence, and resume after an interruption (and every way a resume must be refused)."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from lpft_edu.apps.results import SCHEMA, validate_results  # noqa: E402
from lpft_edu.vision import cli  # noqa: E402
from lpft_edu.vision import results as vresults  # noqa: E402
from lpft_edu.vision.experiment import CONFIG_VERSION, ConfigError, ExperimentConfig, run_experiment  # noqa: E402
from lpft_edu.vision.fake import FakeSizes, write_fake_data  # noqa: E402

# Smaller than --smoke, for the in-process tests (the subprocess test runs the real --smoke).
QUICK = ["--smoke", "--no-progress", "--epochs", "2", "--limit-train", "192", "--limit-eval", "96",
         "--val-size", "96", "--lp-cs", "4", "--distortion-examples", "64"]


@pytest.fixture(autouse=True)
def _own_feature_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LPFT_CACHE", str(tmp_path / "feature-cache"))  # never the user's ~/.cache


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake-data")
    write_fake_data(root, FakeSizes(cifar_train=400, cifar_test=120, stl_train=10, stl_test=120))
    return root


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, data_root):
    """A run of FT and LP-FT stopped after FT's first epoch (LP head and FT checkpoint on disk)."""
    runs = tmp_path_factory.mktemp("interrupted")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LPFT_CACHE", str(runs / "feature-cache"))
        rc = cli.main(QUICK + ["--root", str(data_root), "--runs", str(runs / "runs"), "--methods", "ft,lpft",
                               "--interrupt-after", "ft:1"])
    assert rc == 130
    return next((runs / "runs").iterdir())


@pytest.fixture
def run_copy(interrupted, tmp_path):
    return shutil.copytree(interrupted, tmp_path / "run")


def _results(run_dir):
    return json.loads((run_dir / "results.json").read_text())


def _main(argv) -> int:
    """cli.main's exit status, also when argparse refuses an option (it exits)."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return exc.code


def test_smoke_cli_end_to_end(tmp_path):
    data_dir = tmp_path / "cache"
    env = {**os.environ, "LPFT_DATA": str(data_dir), "LPFT_CACHE": str(tmp_path / "feature-cache")}
    assert env.get("LPFT_NO_NETWORK") == "1"  # conftest's guard reaches this subprocess too
    out = subprocess.run([sys.executable, "-m", "lpft_edu.vision.cli", "--smoke", "--no-progress",
                          "--runs", str(tmp_path / "runs")], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    r = json.loads((runs[0] / "results.json").read_text())
    assert validate_results(r) == [] and r["schema"] == SCHEMA and r["config_version"] == CONFIG_VERSION
    assert r["status"] == "complete" and r["smoke"] and r["data_kind"] == "fake" == r["data"]["kind"]
    assert "fake" in r["banner"].lower() and "SMOKE RUN ON FAKE DATA" in out.stdout
    assert set(r["methods"]) == {"LP", "FT", "LP-FT"}
    assert {m["status"] for m in r["methods"].values()} == {"complete"}
    for name in ("FT", "LP-FT"):
        m = r["methods"][name]
        assert len(m["epochs"]) == r["config"]["epochs"] == 2
        assert {"id_acc", "ood_acc", "val_acc", "train_loss", "images_per_second"} <= set(m["epochs"][0])
        assert m["distortion"]["id"]["n"] > 0 and m["images_per_second"] > 0
        assert m["last_epoch"]["epoch"] == 2 and m["last_epoch"]["id_acc"] == m["id_acc"]
        assert set(m["best_epoch"]) == {"epoch", "val_acc", "id_acc", "ood_acc"}
    assert r["methods"]["LP"]["C_sweep"] and r["device"]["type"] == "cpu"
    assert r["data"]["sizes"]["ood_test"] > 0 and len(r["data"]["class_counts"]["train"]) == 10
    assert {"data_s", "features_s", "lp_s", "ft_s", "lpft_s", "total_s"} <= set(r["timings"])
    assert all(os.path.exists(p) for p in r["figures"])
    assert r["paper_reference"]["source"].startswith("reported by Kumar et al. 2022")
    # the feature cache lives in the cache directory, never in the data root
    assert r["feature_cache"] == str(tmp_path / "feature-cache" / "features")
    assert list((tmp_path / "feature-cache" / "features").glob("features-*.pt"))
    assert not list(data_dir.rglob("features-*.pt"))


def test_runs_never_overwrite_and_methods_subset(tmp_path, monkeypatch, data_root):
    runs = tmp_path / "runs"
    assert cli.main(QUICK + ["--root", str(data_root), "--runs", str(runs), "--methods", "lp"]) == 0
    assert cli.main(QUICK + ["--root", str(data_root), "--runs", str(runs), "--methods", "ft"]) == 0
    dirs = sorted(runs.iterdir())
    assert len(dirs) == 2
    methods = [set(_results(d)["methods"]) for d in dirs]
    assert sorted(map(sorted, methods)) == [["FT"], ["LP"]]


# -- every option is checked before any work: one line naming the flag, exit 2, nothing left behind ---
REFUSED = [
    (["--epochs", "0"], "--epochs"), (["--epochs=-3"], "--epochs"), (["--epochs", "abc"], "--epochs"),
    (["--epochs", "1.5"], "--epochs"), (["--batch-size", "0"], "--batch-size"),
    (["--batch-size", "1"], "--batch-size"), (["--image-size", "0"], "--image-size"),
    (["--image-size", "4"], "--image-size"), (["--image-size", "100000"], "--image-size"),
    (["--backbone", "resnet18-random", "--image-size", "16"], "--image-size"),
    (["--lr-ft", "nan"], "--lr-ft"), (["--lr-ft", "inf"], "--lr-ft"), (["--lr-ft", "0"], "--lr-ft"),
    (["--lr-ft=-0.1"], "--lr-ft"), (["--lr-lpft", "-inf"], "--lr-lpft"),
    (["--sweep-lr", "--ft-lr-grid", "1e-3,abc"], "--ft-lr-grid"), (["--ft-lr-grid", ""], "--ft-lr-grid"),
    (["--lpft-lr-grid", "1e-4,0"], "--lpft-lr-grid"), (["--ft-lr-grid", "1e-3,nan"], "--ft-lr-grid"),
    (["--ft-lr-grid", "1e-3,1e-3"], "--ft-lr-grid"), (["--lp-cs", "0"], "--lp-cs"),
    (["--lp-cs", "1000000"], "--lp-cs"), (["--val-size", "0"], "--val-size"),
    (["--limit-train", "0"], "--limit-train"), (["--limit-train", "1"], "--limit-train"),
    (["--limit-eval=-5"], "--limit-eval"), (["--distortion-examples", "0"], "--distortion-examples"),
    (["--seed=-1"], "--seed"), (["--seed", "99999999999"], "--seed"), (["--device", "tpu"], "--device"),
    (["--device", "cuda:abc"], "--device"), (["--backbone", "vgg"], "--backbone"),
    (["--weights", "x.pth"], "--weights"),
    (["--backbone", "resnet50-moco-v2", "--weights", "/nonexistent/moco.pth.tar"], "--weights"),
    (["--methods", ""], "--methods"), (["--methods", "lp,xx"], "--methods"),
    (["--interrupt-after", "garbage"], "--interrupt-after"),
]


@pytest.mark.parametrize("extra,flag", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_bad_options_are_refused_before_any_work(extra, flag, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LPFT_DATA", str(tmp_path / "data"))
    runs = tmp_path / "runs"
    assert _main(QUICK + ["--runs", str(runs)] + extra) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and flag in lines[0] and "Traceback" not in err, err
    assert not (tmp_path / "data").exists()  # no fake data written: nothing started
    assert not runs.exists() or not any(runs.iterdir())  # no orphan run directory


def test_cuda_requested_without_a_gpu_is_refused(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert cli.main(QUICK + ["--device", "cuda", "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "--device" in err and "--device cpu" in err and not (tmp_path / "runs").exists()


def test_startup_failures_leave_no_run_directory(tmp_path, capsys):
    runs = tmp_path / "runs"
    # data missing (found only after the run directory exists): the empty run directory is removed
    assert cli.main(["--backbone", "tiny-cnn", "--image-size", "32", "--root", str(tmp_path / "nope"),
                     "--no-progress", "--runs", str(runs)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nope") in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert list(runs.iterdir()) == []
    # a --runs folder that cannot exist (under a regular file)
    (tmp_path / "file").write_text("x")
    assert cli.main(QUICK + ["--runs", str(tmp_path / "file" / "runs")]) == 2
    assert "--runs" in capsys.readouterr().err


def test_config_rules_live_in_the_dataclass_and_the_cli_is_generated_from_it(tmp_path):
    with pytest.raises(ConfigError, match="^--epochs ") as exc:
        ExperimentConfig(epochs=0).validate()
    assert exc.value.field == "epochs"
    with pytest.raises(ConfigError, match="--lr-ft"):
        ExperimentConfig(lr_ft=float("nan")).validate()
    with pytest.raises(ConfigError, match="eval_batch_size"):  # no flag: the field's name
        ExperimentConfig(eval_batch_size=0).validate()
    with pytest.raises(ConfigError, match="--epochs"):  # the notebook path checks too, before any file
        run_experiment(ExperimentConfig(epochs="<img src=x>"), tmp_path / "run")
    assert not (tmp_path / "run").exists()
    parser = cli.build_parser()
    options = {o for a in parser._actions for o in a.option_strings}
    from dataclasses import fields
    flags = {f.metadata["flag"] for f in fields(ExperimentConfig) if f.metadata.get("flag")}
    assert flags <= options and len(flags) >= 18
    epochs_help = next(a.help for a in parser._actions if "--epochs" in a.option_strings)
    assert "default 10" in epochs_help and "with --smoke 2" in epochs_help  # defaults come from the dataclass


# -- divergence ---------------------------------------------------------------------------------------
def test_an_absurd_learning_rate_is_reported_as_diverged_never_complete(tmp_path, data_root, capsys):
    runs = tmp_path / "runs"
    rc = cli.main(QUICK + ["--root", str(data_root), "--runs", str(runs), "--lr-ft", "1e6"])
    assert rc == 3
    r = _results(next(runs.iterdir()))
    assert r["status"] == "diverged"
    ft = r["methods"]["FT"]
    assert ft["status"] == "diverged" and ft["id_acc"] is None and ft["ood_acc"] is None
    assert "--lr-ft (now 1e+06)" in ft["error"] and "epoch 1, batch" in ft["error"] and "\n" not in ft["error"]
    assert r["methods"]["LP"]["status"] == "complete" and r["methods"]["LP-FT"]["status"] == "complete"
    err = capsys.readouterr().err
    assert "FT diverged" in err and "--lr-ft" in err


def test_a_sweep_skips_a_diverging_rate_and_chooses_by_the_best_epoch(tmp_path, data_root):
    runs = tmp_path / "runs"
    assert cli.main(QUICK + ["--root", str(data_root), "--runs", str(runs), "--methods", "ft", "--sweep-lr",
                             "--ft-lr-grid", "0.01,0.03,1e6"]) == 0
    ft = _results(next(runs.iterdir()))["methods"]["FT"]
    sweep = {s["lr"]: s for s in ft["lr_sweep"]}
    assert sweep[1e6]["status"] == "diverged" and sweep[1e6]["val_acc"] is None
    ok = [s for s in ft["lr_sweep"] if s["status"] == "complete"]
    assert ft["lr"] == max(ok, key=lambda s: s["val_acc"])["lr"]
    best = max(ft["epochs"], key=lambda e: e["val_acc"])  # first of equals, as the official summary's idxmax
    assert ft["best_epoch"] == {k: best[k] for k in ("epoch", "val_acc", "id_acc", "ood_acc")}
    assert sweep[ft["lr"]]["val_acc"] == best["val_acc"] and ft["last_epoch"]["epoch"] == 2


# -- resume ---------------------------------------------------------------------------------------------
def test_resume_after_interruption(tmp_path, data_root, capsys):
    runs = tmp_path / "runs"
    base = QUICK + ["--root", str(data_root), "--methods", "ft,lpft"]
    assert cli.main(base + ["--runs", str(runs / "a")]) == 0
    reference = _results(next((runs / "a").iterdir()))

    assert cli.main(base + ["--runs", str(runs / "b"), "--interrupt-after", "lpft:1"]) == 130
    run_dir = next((runs / "b").iterdir())
    assert "lpft-cifar-stl --resume" in capsys.readouterr().err
    partial = _results(run_dir)
    assert partial["status"] == "interrupted" and partial["methods"]["FT"]["status"] == "complete"
    assert partial["methods"]["LP-FT"]["status"] == "interrupted"
    ft_done = partial["methods"]["FT"]

    assert cli.main(["--resume", str(run_dir), "--no-progress"]) == 0
    final = _results(run_dir)
    assert final["status"] == "complete" and len(final["resumed"]) == 1
    assert final["methods"]["FT"] == ft_done  # finished method not re-run
    for name in ("FT", "LP-FT"):
        ours = [(e["id_acc"], e["ood_acc"]) for e in final["methods"][name]["epochs"]]
        ref = [(e["id_acc"], e["ood_acc"]) for e in reference["methods"][name]["epochs"]]
        assert ours == ref
    assert cli.main(["--resume", str(run_dir)]) == 0  # already complete: says so, changes nothing
    assert "already complete" in capsys.readouterr().out and _results(run_dir) == final


def test_resume_of_a_missing_run_explains(tmp_path, capsys):
    assert cli.main(["--resume", str(tmp_path / "nope")]) == 2
    assert "nothing to resume" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--epochs", "5"], ["--smoke"], ["--lr-ft", "0.1"], ["--runs", "elsewhere"],
                                   ["--sweep-lr"], ["--preset", "colab-t4"]])
def test_resume_refuses_options_it_would_otherwise_ignore(run_copy, extra, capsys):
    before = (run_copy / "results.json").read_bytes()
    assert _main(["--resume", str(run_copy)] + extra) == 2
    err = capsys.readouterr().err
    assert extra[0] in err and "start a new run" in err and len(err.strip().splitlines()) == 1
    assert (run_copy / "results.json").read_bytes() == before


def _edit_results(run_dir, edit):
    r = _results(run_dir)
    edit(r)
    (run_dir / "results.json").write_text(json.dumps(r))


@pytest.mark.parametrize("damage,expected", [
    (lambda p: p.write_text(p.read_text()[:100]), "not readable JSON"),
    (lambda p: p.write_bytes(b"\xff\xfe garbage"), "not readable JSON"),
    (lambda p: p.write_text("[1, 2]"), "not an lpft-cifar-stl results file"),
    (lambda p: _edit_results(p.parent, lambda r: r["config"].update(epochs="<img src=x onerror=alert(1)>")),
     "invalid configuration"),
    (lambda p: _edit_results(p.parent, lambda r: r["config"].update(lr_ft=-1)), "--lr-ft"),
    (lambda p: _edit_results(p.parent, lambda r: r["config"].update(evil=1)), "does not know"),
    (lambda p: _edit_results(p.parent, lambda r: r.update(config_version=1)), "another version"),
    (lambda p: _edit_results(p.parent, lambda r: r.pop("config_version")), "another version"),
])
def test_a_damaged_results_file_is_refused_with_a_message(run_copy, damage, expected, capsys):
    damage(run_copy / "results.json")
    assert cli.main(["--resume", str(run_copy), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_resume_refuses_changed_data(run_copy, data_root, tmp_path, capsys):
    other = tmp_path / "other-data"
    write_fake_data(other, FakeSizes(cifar_train=400, cifar_test=120, stl_train=10, stl_test=120), seed=5)
    before = _results(run_copy)
    assert cli.main(["--resume", str(run_copy), "--root", str(other), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "differ from the data this run started with" in err
    after = _results(run_copy)
    assert after["data"] == before["data"] and "resumed" not in after and after["status"] == "interrupted"


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_resume_never_runs_code_from_a_checkpoint(run_copy, tmp_path, capsys):
    marker = tmp_path / "PWNED"
    with open(run_copy / "checkpoints" / "lp_head.pt", "wb") as f:
        pickle.dump(_Payload(marker), f, protocol=2)
    assert cli.main(["--resume", str(run_copy), "--no-progress"]) == 2
    assert not marker.exists()
    err = capsys.readouterr().err
    assert "lp_head.pt is not a usable LP head" in err and "Delete it" in err


def test_resume_with_a_garbage_training_checkpoint_says_which_file(run_copy, capsys):
    ckpt = next((run_copy / "checkpoints").glob("ft-*.pt"))
    ckpt.write_bytes(b"garbage")
    assert cli.main(["--resume", str(run_copy), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert ckpt.name in err and "Delete it" in err and "Traceback" not in err
    ckpt.unlink()  # the fix the message gives works
    assert cli.main(["--resume", str(run_copy), "--no-progress"]) == 0
    assert _results(run_copy)["status"] == "complete"


def _as_if_saved_on_cuda(path, monkeypatch):
    """Rewrite a torch file so that its tensors claim to live on cuda:0, as a GPU run writes them."""
    obj = torch.load(path, weights_only=True)
    with monkeypatch.context() as mp:
        mp.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.save(obj, path)


def test_a_gpu_started_run_resumes_on_a_cpu(run_copy, monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without a GPU")
    files = [run_copy / "checkpoints" / "lp_head.pt", *(run_copy / "checkpoints").glob("ft-*.pt")]
    for path in files:
        _as_if_saved_on_cuda(path, monkeypatch)
    with pytest.raises(RuntimeError, match="CUDA"):  # the files really do name a GPU
        torch.load(files[0], weights_only=True)
    _edit_results(run_copy, lambda r: (r["config"].update(device="cuda"), r["device"].update(type="cuda")))
    assert cli.main(["--resume", str(run_copy), "--no-progress"]) == 0
    r = _results(run_copy)
    assert r["status"] == "complete" and r["config"]["device"] == "cpu" and r["device"]["type"] == "cpu"
    assert len(r["methods"]["FT"]["epochs"]) == 2


def test_resume_applies_device_and_keeps_a_diverged_method(run_copy, capsys):
    _edit_results(run_copy, lambda r: r["methods"].update(
        {"FT": {"status": "diverged", "error": "loss became nan at epoch 1, batch 3: lower --lr-ft (now 1), e.g. 0.1",
                "id_acc": None, "ood_acc": None}}))
    assert cli.main(["--resume", str(run_copy), "--device", "cpu", "--no-progress"]) == 3
    r = _results(run_copy)
    assert r["status"] == "diverged" and r["methods"]["FT"]["status"] == "diverged"
    assert r["methods"]["LP-FT"]["status"] == "complete"
    assert "FT diverged" in capsys.readouterr().err


def test_atomic_json_never_leaves_temp_files_and_rejects_nan(tmp_path):
    path = tmp_path / "r.json"
    vresults.write_json_atomic({"a": float("nan"), "b": [1.0, float("inf")]}, path)
    assert json.loads(path.read_text()) == {"a": None, "b": [1.0, None]}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    assert vresults.SCHEMA == SCHEMA


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--methods", "lp,xx"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "lp,ft,lpft" in err and "--methods" in err and len(err.strip().splitlines()) == 1


# -- presets -----------------------------------------------------------------------------------------
def _config(argv):
    return cli.config_from_args(cli.build_parser().parse_args(argv))


def test_colab_t4_preset_sets_the_sizes_it_states():
    from lpft_edu.vision.experiment import PRESET_NOTES, PRESETS, preset_config
    cfg = _config(["--preset", "colab-t4"])
    stated = {"backbone": "resnet18-imagenet", "image_size": 160, "epochs": 4, "batch_size": 128,
              "limit_train": 20000, "limit_eval": 5000, "lp_cs": 25, "distortion_examples": 1000}
    assert {k: getattr(cfg, k) for k in stated} == stated
    assert cfg == preset_config("colab-t4") and not cfg.smoke
    # every size the preset changes is stated in its note (and so in --help) ...
    note = PRESET_NOTES["colab-t4"]
    for text in ("160 px", "4 epochs", "batch 128", "20,000 training images", "5,000 images", "25 C values",
                 "1,000 distortion examples", "design target", "not yet measured"):
        assert text in note
    assert set(PRESETS["colab-t4"]) >= set(stated) - {"backbone", "batch_size"}
    # ... and --help shows the preset beside each option it changes
    helptext = " ".join(cli.build_parser().format_help().split())
    assert "--preset colab-t4 160" in helptext and "--preset colab-t4 20000" in helptext
    assert "design target" in helptext


def test_explicit_options_override_the_preset():
    cfg = _config(["--preset", "colab-t4", "--epochs", "6", "--image-size", "224", "--limit-train", "1000"])
    assert (cfg.epochs, cfg.image_size, cfg.limit_train) == (6, 224, 1000)
    assert cfg.limit_eval == 5000 and cfg.lp_cs == 25  # the rest stays the preset's


def test_preset_options_are_validated(capsys):
    assert _main(["--preset", "colab-t4", "--epochs", "0", "--runs", "unused"]) == 2
    err = capsys.readouterr().err
    assert "--epochs" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, expected", [(["--preset", "colab-t5"], "colab-t4"),
                                            (["--preset", ""], "colab-t4"),
                                            (["--preset", "colab-t4", "--smoke"], "--smoke")])
def test_unknown_or_conflicting_preset_exits_2_with_one_line(argv, expected, tmp_path, capsys):
    assert _main(argv + ["--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lpft-cifar-stl: --preset") and expected in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # refused before any run directory exists
