"""Run directories and atomic JSON.

A run lives in ``<runs>/<YYYYmmdd-HHMMSS>-<6 hex>/`` (created with ``exist_ok=False``, so a later run
never overwrites an earlier one) and holds ``results.json`` (rewritten atomically after every
stage: temp file + ``os.replace``, so a reader never sees half a file), ``checkpoints/`` and
``figures/``. The JSON layout is checked by :func:`lpft_edu.apps.results.validate_results`.
"""
from __future__ import annotations

import json
import math
import os
import secrets
import time
from pathlib import Path

SCHEMA = "lpft-edu/cifar-stl-results/v1"
SMOKE_BANNER = "SMOKE RUN ON FAKE DATA - not real CIFAR-10/STL-10 accuracy"
FAKE_BANNER = "RUN ON FAKE DATA - not real CIFAR-10/STL-10 accuracy"


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
