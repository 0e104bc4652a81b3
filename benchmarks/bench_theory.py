"""Lesson 2 measurements (not tests): the TheoryApp's slider latency and the lesson's run time.

    .venv/bin/python benchmarks/bench_theory.py            # slider medians (>= 10 moves per slider)
    .venv/bin/python benchmarks/bench_theory.py --lesson   # also execute the notebook, fast and default

Latency is measured in Python, from setting a widget's value to the new PNG being in the Image
widget (what ``observe`` triggers in a live kernel). The machine's load is printed alongside:
on a shared 2-core machine, other work inflates the numbers.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MOVES = {
    "angle": [10, 20, 40, 50, 60, 70, 80, 15, 25, 35, 45, 55],
    "phi": [0.1, 0.3, 0.5, 0.7, 1.0, 0.2, 0.4, 0.6, 0.8, 0.95, 0.35, 0.65],
    "eps": [0.0, 0.02, 0.05, 0.1, 0.2, 0.005, 0.015, 0.03, 0.04, 0.06, 0.08, 0.12],
    "k": [1, 3, 4, 2, 1, 3, 4, 2, 1, 3, 4, 2],
    "m": [1, 2, 3, 5, 6, 7, 1, 2, 3, 5, 6, 7],
}
DEFAULTS = {"angle": 30.0, "phi": 0.9, "eps": 0.01, "k": 2, "m": 4}


def move_breakdown(moves: int = 12) -> dict[str, float]:
    """Median ms of one angle move, and of its two parts: training (three runs in one batch) and the PNG render.

    The demo's text quotes the total ("about 50 ms of computation"); this says where it goes.
    """
    from lpft_edu.apps import theory as app_module
    from lpft_edu.linear import run_methods

    app = app_module.TheoryApp()
    total, train, render = [], [], []
    for i in range(moves):
        start = time.perf_counter()
        app.angle.value = DEFAULTS["angle"] + (1 if i % 2 == 0 else 0)
        total.append(time.perf_counter() - start)
        start = time.perf_counter()
        run_methods(app.instance, steps=app_module.APP_STEPS, record_every=app_module.APP_RECORD_EVERY,
                    c=app_module.APP_STEP_C)
        train.append(time.perf_counter() - start)
        start = time.perf_counter()
        app.render()
        render.append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(values) for name, values in
            (("move", total), ("training", train), ("render", render))}


def slider_medians() -> dict[str, float]:
    from lpft_edu.apps.theory import TheoryApp

    app = TheoryApp()
    out = {}
    for name, values in MOVES.items():
        widget, times = getattr(app, name), []
        for value in values:
            start = time.perf_counter()
            widget.value = value
            times.append(time.perf_counter() - start)
            assert app.error is None, app.error
        widget.value = DEFAULTS[name]
        out[name] = 1000 * statistics.median(times)
    return out


def lesson_seconds(fast: bool) -> float:
    env = dict(os.environ, LPFT_FAST="1" if fast else "0")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--stdout",
                    str(ROOT / "lessons" / "02_linear_theory.ipynb")], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lesson", action="store_true", help="also time the lesson's execution")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for name, ms in slider_medians().items():
        print(f"TheoryApp slider {name:6s} median {ms:6.1f} ms")
    parts = move_breakdown()
    print("one angle move: median {move:.1f} ms = training {training:.1f} ms + PNG render {render:.1f} ms "
          "+ readout".format(**parts))
    if args.lesson:
        for fast in (True, False):
            print(f"lesson 2 ({'fast' if fast else 'default'} mode): {lesson_seconds(fast):.1f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
