"""Benchmarks for the lessons: notebook execution time and app slider-update latency.

Budgets (DESIGN.md) are checked here, not in timed tests: lessons 1-2 execute in under 15 s each,
lesson 3 in fast mode in under 90 s, a slider update re-renders in under 150 ms in Python.
Every figure is a median over repeated runs, and each comes with a baseline measured in the same
run on the same machine (an empty notebook; rendering a blank figure of the same size), so a
reader can tell a slow lesson from a slow machine.

    python benchmarks/run_all.py                  # everything, 3 executions per lesson
    python benchmarks/run_all.py --skip-lessons   # only the slider latencies
    python benchmarks/run_all.py --lessons 01 --repeats 5 --moves 20
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# (module, class, constructor kwargs) of every app with sliders; missing modules are reported.
APPS = [
    ("lpft_edu.apps.toy", "ToyApp"),
    ("lpft_edu.apps.theory", "TheoryApp"),
    ("lpft_edu.apps.results", "ResultsViewerApp"),
]
# Lesson 3 trains a network: its budget is for fast mode. Lessons 1-2 are budgeted as shipped.
FAST_ONLY = {"03"}


def median_time(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def execute_notebook(path: Path, fast: bool) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("LPFT_FAST")
    os.environ["LPFT_FAST"] = "1" if fast else "0"
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("LPFT_FAST", None)
        else:
            os.environ["LPFT_FAST"] = env_before


def empty_notebook_baseline(repeats: int) -> float:
    import nbformat
    from nbclient import NotebookClient

    def run():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()

    return median_time(run, repeats)[0]


def bench_lessons(prefixes: list[str] | None, repeats: int) -> dict:
    lessons = sorted(p for p in (REPO / "lessons").glob("[0-9][0-9]_*.ipynb")
                     if prefixes is None or p.name[:2] in prefixes)
    base = empty_notebook_baseline(repeats)
    print(f"baseline: empty notebook (kernel start + one cell)  {base:6.2f} s")
    out = {"baseline_empty_notebook_s": base, "lessons": {}}
    for path in lessons:
        entry = {}
        modes = [True] if path.name[:2] in FAST_ONLY else [False, True]
        for fast in modes:
            med, times = median_time(lambda: execute_notebook(path, fast), repeats)
            label = "fast" if fast else "default"
            entry[label] = {"median_s": med, "runs_s": times, "ratio_to_baseline": med / base}
            print(f"{path.stem:32s} {label:7s} median {med:6.2f} s  ({med / base:4.1f}x empty notebook)")
        out["lessons"][path.stem] = entry
    return out


def two_values(control):
    """The current value and a neighbour one step away: what a keyboard press on the handle does.

    Small moves from the app's defaults keep every setting valid, so the benchmark times redraws,
    not the (cheaper) error message a far-away value could trigger.
    """
    if hasattr(control, "options") and control.options:
        opts = [o[1] if isinstance(o, tuple) else o for o in control.options]
        current = control.value if control.value is not None else opts[0]
        others = [o for o in opts if o != current]
        return (others[0], current) if others else None
    if hasattr(control, "min") and hasattr(control, "max") and hasattr(control, "step"):
        value, step = control.value, control.step or 1
        if hasattr(control, "base"):  # FloatLogSlider: step is in exponent units
            import math
            up = control.base ** (math.log(value, control.base) + step)
            down = control.base ** (math.log(value, control.base) - step)
            return (up if up <= control.base ** control.max else down), value
        neighbour = value + step if value + step <= control.max else value - step
        return neighbour, value
    if isinstance(control.value, bool):
        return (not control.value), control.value
    return None


def bench_apps(moves: int) -> dict:
    from lpft_edu.apps.base import FigureApp

    out = {}
    for module, cls in APPS:
        try:
            app_cls = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as exc:
            print(f"{cls:18s} not available ({exc})")
            out[cls] = {"error": str(exc)}
            continue
        app = app_cls()
        blank = FigureApp(figsize=tuple(app.figure.get_size_inches()), dpi=int(app.figure.dpi))
        base, _ = median_time(blank.render, moves)
        per_control = {}
        for control in app.controls:
            values = two_values(control)
            if values is None:
                continue
            seq = [values[i % 2] for i in range(moves)]
            times = []
            for value in seq:
                start = time.perf_counter()
                control.value = value
                elapsed = time.perf_counter() - start
                if app.error:  # a message, not a redraw: not what this benchmark times
                    print(f"  note: {cls}.{control.description!r} = {value!r} shows message: {app.error[:80]}")
                else:
                    times.append(elapsed)
            if times:
                per_control[control.description or type(control).__name__] = statistics.median(times)
        overall = statistics.median(per_control.values()) if per_control else float("nan")
        worst = max(per_control.values()) if per_control else float("nan")
        out[cls] = {"median_update_ms": overall * 1e3, "worst_control_median_ms": worst * 1e3,
                    "per_control_ms": {k: v * 1e3 for k, v in per_control.items()},
                    "baseline_blank_render_ms": base * 1e3}
        print(f"{cls:18s} slider update median {overall * 1e3:6.1f} ms (worst control {worst * 1e3:6.1f} ms; "
              f"blank figure render {base * 1e3:5.1f} ms)")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="executions per lesson (median reported)")
    parser.add_argument("--moves", type=int, default=10, help="slider moves per control (median reported)")
    parser.add_argument("--lessons", nargs="*", help="lesson number prefixes, e.g. 01 02 (default: all)")
    parser.add_argument("--skip-lessons", action="store_true")
    parser.add_argument("--skip-mini", action="store_true", help="skip lpft-mini's time and memory (bench_mini.py)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/latest.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")

    report = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                          "cpus": os.cpu_count()}, "apps": bench_apps(args.moves)}
    if not args.skip_lessons:
        report.update(bench_lessons(args.lessons, args.repeats))
    if not args.skip_mini:  # lesson 3's laptop experiment: the 5-seed run <= 90 s, fast mode <= 15 s
        sys.path.insert(0, str(REPO / "benchmarks"))
        import bench_mini
        report["lpft_mini"] = bench_mini.bench(args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
