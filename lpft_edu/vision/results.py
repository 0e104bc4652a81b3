"""Run directories and atomic JSON.

A run lives in ``<runs>/<YYYYmmdd-HHMMSS>-<6 hex>/`` (created with ``exist_ok=False``, so a later run
never overwrites an earlier one) and holds ``results.json`` (rewritten atomically after every
stage: temp file + ``os.replace``, so a reader never sees half a file), ``checkpoints/`` and
``figures/``. The JSON layout is checked by :func:`lpft_edu.apps.results.validate_results`.

Statuses, of the run (``results["status"]``) and of each method (``results["methods"][NAME]["status"]``):
``running``, ``interrupted``, ``complete`` or ``diverged``; a diverged method carries an ``error`` (one
line, with the flag that fixes it) and makes the run ``diverged``, never ``complete``.
"""
from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import time
from pathlib import Path

SCHEMA = "lpft-edu/cifar-stl-results/v1"
SMOKE_BANNER = "SMOKE RUN ON FAKE DATA - not real CIFAR-10/STL-10 accuracy"
FAKE_BANNER = "RUN ON FAKE DATA - not real CIFAR-10/STL-10 accuracy"
UNKNOWN_BANNER = "DATA OF UNKNOWN ORIGIN - not verified as CIFAR-10/STL-10, so not comparable with the paper"
STATUSES = ("running", "interrupted", "complete", "diverged")
RUNS_ENV = "LPFT_RUNS"


class CheckpointError(ValueError):
    """A checkpoint in a run directory cannot be used; the message names the file and the fix."""


def project_root(start: Path | None = None) -> Path | None:
    """The lpft-edu checkout holding ``start`` (default: the working directory): the nearest
    ancestor with a pyproject.toml that names lpft-edu; None outside one."""
    start = Path.cwd() if start is None else Path(start)
    for folder in (start, *start.resolve().parents):
        toml = folder / "pyproject.toml"
        try:
            if toml.is_file() and 'name = "lpft-edu"' in toml.read_text(encoding="utf-8", errors="replace"):
                return folder
        except OSError:
            continue
    return None


def default_runs_dir(start: Path | None = None) -> Path:
    """Where new runs go: ``$LPFT_RUNS`` if set; else ``runs/`` at the top of the lpft-edu checkout
    (so a notebook started in ``lessons/`` never writes ``lessons/runs``); else ``./runs``, or the
    parent's ``runs/`` when the working directory is a ``lessons`` folder."""
    env = os.environ.get(RUNS_ENV)
    if env:
        return Path(env).expanduser()
    start = Path.cwd() if start is None else Path(start)
    top = project_root(start)
    if top is not None:
        return top / "runs"
    return (start.parent if start.name == "lessons" else start) / "runs"


def new_run_dir(base: Path) -> Path:
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    while True:
        path = base / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # pragma: no cover - same second and same random id
            continue


def discard_unstarted_run(run_dir: Path) -> bool:
    """Remove ``run_dir`` if the run failed before producing anything (no method result, only
    ``results.json`` and an empty ``checkpoints/``), so a refused start leaves no orphan directory.
    Anything else is kept. Returns whether it was removed."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return False
    allowed = {"results.json", "checkpoints"}
    names = {p.name for p in run_dir.iterdir() if not p.name.startswith(".results.json.tmp")}
    checkpoints = run_dir / "checkpoints"
    if not names <= allowed or (checkpoints.is_dir() and any(checkpoints.iterdir())):
        return False
    if (run_dir / "results.json").exists():
        try:
            if read_json(run_dir / "results.json").get("methods"):
                return False
        except (OSError, ValueError, AttributeError):
            return False
    shutil.rmtree(run_dir)
    return True


def _finite(obj):
    """NaN/inf (a diverged run) become null: strict JSON has no NaN."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_json_atomic(obj, path: Path) -> None:
    path = Path(path)
    obj = _finite(obj)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def report_finished(prog: str, results: dict, results_path: Path, seconds: float) -> bool:
    """The last lines a command prints about a finished run: its banner (fake or unverified data),
    where the results are, and each diverged method with its fix (on stderr). True when a method
    diverged, so the command exits non-zero: such a run is never complete."""
    import sys

    if results.get("banner"):
        print(f"NOTE: {results['banner']}")
    print(f"results: {results_path}  ({seconds:.1f} s)")
    diverged = {n: m.get("error") for n, m in results["methods"].items() if m.get("status") == "diverged"}
    for name, error in diverged.items():
        print(f"{prog}: {name} diverged: {error}", file=sys.stderr)
    return bool(diverged)

