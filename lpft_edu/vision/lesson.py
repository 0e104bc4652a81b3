"""What lesson 3 runs: the real experiment on a GPU with the real data, otherwise the smoke path
(or an existing results file), with a banner that says exactly what a real run needs."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lpft_edu.config import fast_mode

RESULTS_ENV = "LPFT_RESULTS"
REAL_RUN_NEEDS = (
    "A real run needs: an NVIDIA GPU (LP + FT + LP-FT with the default ResNet-18 is designed to fit in 10 minutes on one "
    "H100-class GPU; not yet measured), the real data (`python data_scripts/download.py`, 2.7 GB into $LPFT_DATA or ~/.cache/lpft_edu), "
    "and ImageNet weights (downloaded once by torchvision). Then run `lpft-cifar-stl` in a terminal and point this "
    "lesson at its output with `LPFT_RESULTS=runs/<run>/results.json`, or just re-run this notebook on that machine.")


@dataclass
class RunChoice:
    mode: str    # "load", "real" or "smoke"
    reason: str
    path: Path | None = None


def real_data_present(root: Path) -> bool:
    from lpft_edu.vision.fake import CIFAR_DIR, MARKER, STL_DIR
    root = Path(root)
    return ((root / CIFAR_DIR / "data_batch_1").exists() and (root / STL_DIR / "test_X.bin").exists()
            and not (root / CIFAR_DIR / MARKER).exists())


def choose_run(results_path=None) -> RunChoice:
    path = results_path or os.environ.get(RESULTS_ENV)
    if path and Path(path).exists():
        return RunChoice("load", f"loading the results file {path}", Path(path))
    if fast_mode():
        return RunChoice("smoke", "fast mode (LPFT_FAST=1) runs the smoke path")
    import torch

    from lpft_edu.vision.data import default_root
    if not torch.cuda.is_available():
        return RunChoice("smoke", "no GPU found, so this runs the smoke path")
    if not real_data_present(default_root()):
        return RunChoice("smoke", f"no real CIFAR-10/STL-10 under {default_root()}, so this runs the smoke path")
    return RunChoice("real", f"GPU {torch.cuda.get_device_name()} and real data found: running the default experiment")


def run_for_lesson(choice: RunChoice, progress: bool = True, runs_dir: Path | None = None) -> dict:
    """Run (or load) what ``choice`` says and return the results dict (plus ``results_path``).

    With ``progress`` the notebook shows tqdm.auto bars (features, then each method's training, with
    an ETA). A run goes to ``runs_dir``, by default :func:`~lpft_edu.vision.results.default_runs_dir`
    ($LPFT_RUNS, else the checkout's top-level ``runs/``), never ``lessons/runs``; in fast mode (CI)
    to a temporary folder so the repository stays clean."""
    from lpft_edu.apps.results import load_results
    if choice.mode == "load":
        results = load_results(choice.path)
        results["results_path"] = str(choice.path)
        return results
    from lpft_edu.vision.experiment import ExperimentConfig, run_experiment, smoke_config
    from lpft_edu.vision.results import default_runs_dir, new_run_dir
    cfg = (smoke_config() if choice.mode == "smoke" else ExperimentConfig()).validate()
    if runs_dir is not None:
        base = Path(runs_dir)
    elif choice.mode == "smoke" and fast_mode():
        base = Path(tempfile.mkdtemp(prefix="lpft-lesson3-"))
    else:
        base = default_runs_dir()
    run_dir = new_run_dir(base)
    results = run_experiment(cfg, run_dir, progress=progress, command="lesson 3 notebook", log=lambda *a: None)
    results["results_path"] = str(run_dir / "results.json")
    return results
