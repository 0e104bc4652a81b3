"""What lesson 3 runs.

* The laptop experiment (:mod:`lpft_edu.mini`) runs everywhere; its runs go to
  :func:`lesson_runs_dir`.
* CIFAR-10 -> STL-10: the real experiment on a GPU with the real data; otherwise a results file
  (``LPFT_RESULTS``), or the shipped example of the smoke path (fake data: a pipeline check, never a
  result), or, when asked for, a fresh smoke run. :data:`REAL_RUN_NEEDS` says exactly what a real
  run needs.
"""
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
    "lesson at its output with `LPFT_RESULTS=runs/<run>/results.json`, or just re-run this notebook on that machine. "
    "On a free Colab T4: `lpft-cifar-stl --preset colab-t4` (sized for about 15 minutes; a design target, not yet "
    "measured).")


@dataclass
class RunChoice:
    mode: str    # "load", "real", "example" (the shipped smoke-path results) or "smoke"
    reason: str
    path: Path | None = None


def real_data_present(root: Path) -> bool:
    from lpft_edu.vision.fake import CIFAR_DIR, MARKER, STL_DIR
    root = Path(root)
    return ((root / CIFAR_DIR / "data_batch_1").exists() and (root / STL_DIR / "test_X.bin").exists()
            and not (root / CIFAR_DIR / MARKER).exists())


def choose_run(results_path=None, run_smoke: bool = False) -> RunChoice:
    """What the CIFAR-10 -> STL-10 part of lesson 3 shows: a results file (``results_path`` or
    ``$LPFT_RESULTS``), else a real run when a GPU and the real data are here (never in fast mode),
    else the smoke path: a fresh run with ``run_smoke``, otherwise the shipped example of one. The
    smoke path is a pipeline check on fake data, never a result."""
    path = results_path or os.environ.get(RESULTS_ENV)
    if path and Path(path).exists():
        return RunChoice("load", f"loading the results file {path}", Path(path))
    if fast_mode():
        why = "fast mode (LPFT_FAST=1) never starts a real run"
    else:
        import torch

        from lpft_edu.vision.data import default_root
        if not torch.cuda.is_available():
            why = "no GPU found"
        elif not real_data_present(default_root()):
            why = f"no real CIFAR-10/STL-10 under {default_root()}"
        else:
            return RunChoice("real", f"GPU {torch.cuda.get_device_name()} and real data found: running the default "
                                     "experiment")
    if run_smoke:
        return RunChoice("smoke", f"{why}, so this runs the smoke path (fake data, tiny CNN): a pipeline check")
    from lpft_edu.apps.results import example_path
    return RunChoice("example", f"{why}, so this shows the shipped results of a smoke-path run (fake data, tiny "
                                "CNN): a pipeline check, not a result", example_path())


def lesson_runs_dir() -> Path:
    """Where runs started from the lesson go: the checkout's ``runs/`` (or ``$LPFT_RUNS``; see
    :func:`~lpft_edu.vision.results.default_runs_dir`), never ``lessons/runs``; in fast mode (CI) a
    temporary folder, so executing the lesson leaves the repository clean."""
    if fast_mode():
        return Path(tempfile.mkdtemp(prefix="lpft-lesson3-"))
    from lpft_edu.vision.results import default_runs_dir
    return default_runs_dir()


def run_for_lesson(choice: RunChoice, progress: bool = True, runs_dir: Path | None = None) -> dict:
    """Run (or load) what ``choice`` says and return the results dict (plus ``results_path``).

    With ``progress`` the notebook shows tqdm.auto bars (features, then each method's training, with
    an ETA). A run goes to ``runs_dir``, by default :func:`~lpft_edu.vision.results.default_runs_dir`
    ($LPFT_RUNS, else the checkout's top-level ``runs/``), never ``lessons/runs``; in fast mode (CI)
    to a temporary folder so the repository stays clean."""
    from lpft_edu.apps.results import load_results
    if choice.mode in ("load", "example"):
        results = load_results(choice.path)
        results["results_path"] = str(choice.path)
        return results
    from lpft_edu.vision.experiment import ExperimentConfig, run_experiment, smoke_config
    from lpft_edu.vision.results import new_run_dir
    cfg = (smoke_config() if choice.mode == "smoke" else ExperimentConfig()).validate()
    base = Path(runs_dir) if runs_dir is not None else lesson_runs_dir()
    run_dir = new_run_dir(base)
    results = run_experiment(cfg, run_dir, progress=progress, command="lesson 3 notebook", log=lambda *a: None)
    results["results_path"] = str(run_dir / "results.json")
    return results


_CLAIM_NAMES = {"id_acc": "ID accuracy", "ood_acc": "OOD accuracy", "distortion_ood": "OOD feature change"}


def _pm(mean, std, scale: float = 1.0, digits: int = 1) -> str:
    if mean is None:
        return "-"
    text = f"{scale * mean:.{digits}f}"
    return text if std is None else f"{text} ± {scale * std:.{digits}f}"


def mini_means_table(results: dict) -> str:
    """Lesson 3's table of an ``lpft-mini`` run: per method the mean ± sample std over seeds of ID and
    OOD accuracy (%) and of the relative OOD feature change, then the pretrained network's own
    accuracy. The paired per-seed comparison is left out: exercise 1 asks for it first."""
    n = len(results.get("seeds") or [])
    lines = [f"{n} seed(s); mean ± sample std over seeds",
             f"{'method':<7} {'ID accuracy (%)':>16} {'OOD accuracy (%)':>17} {'OOD feature change':>19}"]
    for name, m in (results.get("methods") or {}).items():
        d = (m.get("distortion") or {}).get("ood") or {}
        lines.append(f"{name:<7} {_pm(m.get('id_acc'), m.get('id_acc_std'), 100):>16} "
                     f"{_pm(m.get('ood_acc'), m.get('ood_acc_std'), 100):>17} "
                     f"{_pm(d.get('relative'), d.get('relative_std'), 1, 3):>19}")
    pre = results.get("pretraining") or {}
    if pre.get("id_acc") is not None:
        lines.append(f"the pretrained network with its own head: ID {100 * pre['id_acc']:.1f}%, "
                     f"OOD {100 * pre['ood_acc']:.1f}%")
    return "\n".join(lines)


def mini_paired_table(results: dict) -> str:
    """The paper's claims as paired per-seed differences (a - b seed by seed: mean ± sample std, and
    in how many seeds a is higher, equal, lower), from ``results["paired"]``."""
    rows = results.get("paired") or []
    if not rows:
        return "(no paired comparison in these results)"
    lines = [f"{'a - b, seed by seed':<32} {'mean ± std':>14}   seeds a higher / equal / lower"]
    for c in rows:
        scale, digits = (1, 3) if c["key"].startswith("distortion") else (100, 1)
        lines.append(f"{c['a']:>5} - {c['b']:<5} {_CLAIM_NAMES.get(c['key'], c['key']):<18} "
                     f"{_pm(c['mean'], c['std'], scale, digits):>14}   {c['a_higher']} / {c['equal']} / {c['b_higher']}")
    return "\n".join(lines)
