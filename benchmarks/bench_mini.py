"""Time and memory of ``lpft-mini`` (lesson 3's laptop experiment), as a student runs it.

    .venv/bin/python benchmarks/bench_mini.py                  # 3 repeats of `lpft-mini --seeds 5`, + fast mode
    .venv/bin/python benchmarks/bench_mini.py --repeats 5 --extra=--no-pretrain-ood

Each repeat is a fresh process (imports included, as in a terminal), timed by wall clock; its peak
resident memory comes from ``os.wait4``'s resource usage of that child alone (ru_maxrss, KiB on
Linux). Reported: the medians over repeats (and every repeat), with the machine's load average
before and after, since other work on a shared 2-core machine inflates the times.
Budgets (issue 10): the 5-seed run <= 90 s and well under 2 GB; the fast run (LPFT_FAST=1, the
tests' size) <= 15 s.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_once(args: list[str], env: dict) -> tuple[float, float, float, int]:
    """(wall seconds, peak RSS in MiB, seconds of the run itself from its results.json (the wall time
    less the start-up of Python and torch), exit status) of one ``lpft-mini`` process."""
    with tempfile.TemporaryDirectory() as runs:
        cmd = [sys.executable, "-m", "lpft_edu.mini.cli", *args, "--no-progress", "--runs-dir", runs]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        if proc.returncode not in (0, 3):
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-400:]}")
        (results,) = Path(runs).glob("*/results.json")
        run_s = json.loads(results.read_text())["timings"]["total_s"]
    return wall, usage.ru_maxrss / 1024, run_s, proc.returncode


def measure(label: str, args: list[str], repeats: int, fast: bool) -> dict:
    env = {**os.environ, "LPFT_FAST": "1" if fast else "0"}
    load_before = os.getloadavg()
    walls, rss, runs = [], [], []
    for _ in range(repeats):
        wall, peak, run_s, _rc = run_once(args, env)
        walls.append(wall)
        rss.append(peak)
        runs.append(run_s)
    entry = {"command": ("LPFT_FAST=1 " if fast else "") + "lpft-mini " + " ".join(args),
             "median_s": statistics.median(walls), "runs_s": walls, "median_run_only_s": statistics.median(runs),
             "run_only_s": runs, "median_peak_rss_mib": statistics.median(rss),
             "max_peak_rss_mib": max(rss), "load_avg_before": load_before, "load_avg_after": os.getloadavg()}
    print(f"{label:28s} median {entry['median_s']:6.1f} s  (runs {', '.join(f'{w:.1f}' for w in walls)}; "
          f"without start-up {entry['median_run_only_s']:.1f} s)  "
          f"peak RSS median {entry['median_peak_rss_mib']:.0f} MiB  load {load_before[0]:.1f} -> "
          f"{entry['load_avg_after'][0]:.1f}")
    return entry


def bench(repeats: int = 3, seeds: int = 5, extra: list[str] | None = None) -> dict:
    args = ["--seeds", str(seeds), *(extra or [])]
    return {"full": measure(f"lpft-mini --seeds {seeds}", args, repeats, fast=False),
            "fast": measure("fast mode (--seeds 2)", ["--seeds", "2", *(extra or [])], repeats, fast=True)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="processes per measurement (median reported)")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--extra", action="append", default=[], help="another lpft-mini flag, e.g. --extra=--no-pretrain-ood")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks/results/mini.json")
    args = p.parse_args(argv)
    report = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                          "cpus": os.cpu_count()}, **bench(args.repeats, args.seeds, args.extra)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
