"""Workshop load test: a room of N people opening one Voila demo at the same moment.

For each server setting (Voila's defaults, then the settings recommended in
docs/instructor_guide.md) it starts one Voila server on 127.0.0.1, opens N browser sessions at once
(one headless Chromium, one context per person), and in every session waits for the widgets, moves
a slider a few times with the keyboard, reloads the page once (people do), moves a slider again,
then "leaves the room" by closing the browser without unloading the pages (lids closed, Wi-Fi
gone). It reports:

* time to widgets (page request -> sliders laid out and the plot decoded), p50 / p95; also the
  server's share of it (HTML received = kernel started and notebook executed);
* slider to plot (key press -> new plot image decoded), p50 / p95;
* peak memory per kernel (RSS) and in total (server + kernels, RSS and PSS), sampled with psutil;
* kernels left running after the reloads and after the room left (leaks that culling must clear);
* every failure (a session that never rendered or never responded), which fails the run.

    .venv/bin/python benchmarks/load_test.py                    # 10 sessions, toy demo, both settings
    .venv/bin/python benchmarks/load_test.py --sessions 30 --settings recommended
    .venv/bin/python benchmarks/load_test.py --demo theory_explorer --out benchmarks/results/theory.json
    .venv/bin/python benchmarks/load_test.py --solo 5          # one person: per-demo medians

The browsers run on the same machine as the server, so on a small machine the page's own
JavaScript (about 5 MB, the same for every demo) competes with the kernels for CPU; in a real room
it runs on each student's laptop. The report therefore also gives the server's share.
Needs Debian's chromium (`apt-get install -y chromium`) and the dev extra (playwright, psutil).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import browser_support as bs  # noqa: E402  (tests/browser_support.py: server, Chromium, page probes)

DEFAULT_OUT = REPO / "benchmarks" / "results" / "load_test.json"


def recommended_args(demo: str, pool: int, cull_after: float, cull_interval: float) -> list[str]:
    """Command-line settings layered on the shipped voila.json (preheated kernels; Voila's own
    kernel shutdown on tab close let through) for a room, as in the instructor guide: a preheated
    pool as large as the room for the demo about to be shown, one kernel for the others.

    Idle culling is off unless ``cull_after`` > 0: this load test showed that with preheated
    kernels the culler shuts down a kernel that waited in the pool longer than the timeout as
    soon as it is handed to a page, before the page's websocket connects (the page then never
    shows widgets). Pass --cull-after to watch that happen."""
    pools = {f"{demo}.ipynb": {"pool_size": pool}, "default": {"pool_size": 1}}
    args = [f"--VoilaKernelManager.kernel_pools_config={json.dumps(pools)}"]
    if cull_after > 0:
        args += [f"--MappingKernelManager.cull_idle_timeout={int(cull_after)}",
                 f"--MappingKernelManager.cull_interval={int(cull_interval)}",
                 "--MappingKernelManager.cull_connected=False"]
    return args


# -- memory ------------------------------------------------------------------------------------

class MemorySampler(threading.Thread):
    """Samples RSS (and PSS, when readable) of the Voila server and its kernels."""

    def __init__(self, server: bs.VoilaServer, interval: float = 0.5):
        super().__init__(daemon=True)
        import psutil
        self.psutil = psutil
        self.server, self.interval = server, interval
        self.stop_event = threading.Event()
        self.kernel_peak_rss: dict[int, int] = {}
        self.peak_total_rss = 0
        self.peak_total_pss = 0
        self.peak_kernels = 0
        self.samples = 0

    def _pss(self, p) -> int:
        try:
            return p.memory_full_info().pss
        except (self.psutil.Error, AttributeError):
            return 0

    def sample(self) -> None:
        if self.server.proc is None:
            return
        try:
            procs = [self.psutil.Process(self.server.proc.pid)]
        except self.psutil.Error:
            return
        kernels = self.server.kernel_processes()
        total_rss = total_pss = 0
        for p in procs + kernels:
            try:
                rss = p.memory_info().rss
            except self.psutil.Error:
                continue
            total_rss += rss
            # PSS reads /proc/PID/smaps: every fourth sample keeps the sampler's own CPU low.
            if self.samples % 4 == 0:
                total_pss += self._pss(p)
            if p in kernels:
                self.kernel_peak_rss[p.pid] = max(self.kernel_peak_rss.get(p.pid, 0), rss)
        self.peak_total_rss = max(self.peak_total_rss, total_rss)
        self.peak_total_pss = max(self.peak_total_pss, total_pss)
        self.peak_kernels = max(self.peak_kernels, len(kernels))
        self.samples += 1

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)


# -- one person in the room ----------------------------------------------------------------------

async def open_and_wait(page, url: str, timeout_ms: float) -> tuple[float, float]:
    """(time to widgets, time until the HTML arrived) in seconds."""
    t0 = time.perf_counter()
    await page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    t_html = time.perf_counter() - t0
    await page.wait_for_function(bs.WIDGETS_READY_JS, timeout=timeout_ms)
    return time.perf_counter() - t0, t_html


async def move_once(page, slider: str, key: str, timeout_ms: float) -> float:
    """Press ``key`` on the slider's handle; seconds until the new plot is decoded."""
    readout = page.locator(slider).locator(".widget-readout")
    before_text = await readout.inner_text()
    src = await page.evaluate(bs.IMAGE_SRC_JS)
    await page.locator(slider).locator(".noUi-handle").first.focus()
    t0 = time.perf_counter()
    await page.keyboard.press(key)
    await page.wait_for_function(bs.IMAGE_CHANGED_JS, arg=src, timeout=timeout_ms)
    elapsed = time.perf_counter() - t0
    if await readout.inner_text() == before_text:
        raise AssertionError(f"the readout stayed at {before_text!r} although the plot changed")
    return elapsed


async def session(i: int, browser, url: str, slider: str, moves: int, start: asyncio.Event,
                  timeout_ms: float, record: dict) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.route("**/*", lambda r: r.continue_() if bs.is_loopback_url(r.request.url) else r.abort())
    record.update(session=i, time_to_widgets=None, html=None, moves=[], reload_time_to_widgets=None, error=None)
    await start.wait()
    stage = "opening the demo"
    try:
        record["time_to_widgets"], record["html"] = await open_and_wait(page, url, timeout_ms)
        for j in range(moves):
            stage = f"slider move {j + 1}"
            record["moves"].append(await move_once(page, slider, "ArrowRight" if j % 2 == 0 else "ArrowLeft", timeout_ms))
            await asyncio.sleep(0.3)  # a person looks at the plot before the next move
        stage = "reloading the page"
        record["reload_time_to_widgets"], _ = await open_and_wait(page, url, timeout_ms)
        stage = "slider move after the reload"
        record["moves"].append(await move_once(page, slider, "ArrowRight", timeout_ms))
    except Exception as exc:  # recorded, reported, and it fails the run
        record["error"] = f"session {i}, {stage}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        try:
            await page.screenshot(path=str(bs.ARTIFACTS / f"load-test-failure-{i}.png"))
        except Exception:
            pass
    record["context"] = context


# -- one setting ---------------------------------------------------------------------------------

def percentile(values, q: float):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summary(values) -> dict:
    return {"n": len(values), "p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
            "max": max(values) if values else None}


async def run_setting(name: str, args) -> dict:
    from playwright.async_api import async_playwright

    if name == "recommended":
        server = bs.VoilaServer(use_repo_config=True, log_path=bs.ARTIFACTS / f"load-test-voila-{name}.log",
                                extra_args=recommended_args(args.demo, args.pool or args.sessions,
                                                            args.cull_after, args.cull_interval))
    else:
        server = bs.VoilaServer(use_repo_config=False, log_path=bs.ARTIFACTS / f"load-test-voila-{name}.log")
    result: dict = {"setting": name, "server_args": server.extra_args}
    t0 = time.perf_counter()
    server.start()
    sampler = None
    try:
        if name == "recommended":
            demos = len(list(bs.DEMOS.glob("*.ipynb")))
            result["preheat_s"] = round(server.wait_for_pools(demos, timeout=600) + time.perf_counter() - t0, 1)
            time.sleep(2)  # let the last preheated kernel settle
        result["idle_kernels_before"] = len(server.kernel_processes())
        sampler = MemorySampler(server)
        sampler.start()
        url = server.url(args.demo)
        slider = bs.slider_selector(args.slider) if args.slider else ".widget-slider >> nth=0"
        async with async_playwright() as p:
            browser = await p.chromium.launch(**bs.launch_kwargs())
            start = asyncio.Event()
            records = [dict() for _ in range(args.sessions)]
            tasks = [asyncio.create_task(session(i, browser, url, slider, args.moves, start, args.timeout * 1000, r))
                     for i, r in enumerate(records)]
            await asyncio.sleep(1.0)  # contexts created: now everyone clicks at once
            t_room = time.perf_counter()
            start.set()
            await asyncio.gather(*tasks)
            result["room_wall_s"] = round(time.perf_counter() - t_room, 2)
            sampler.sample()
            result["kernels_after_reloads"] = len(server.kernel_processes())
            # The room leaves without unloading its pages (closed lids): no shutdown requests.
            await browser.close()
        t_left = time.perf_counter()
        await asyncio.sleep(2.0)
        result["kernels_just_after_room_left"] = len(server.kernel_processes())
        deadline = t_left + args.linger
        while time.perf_counter() < deadline:
            await asyncio.sleep(1.0)
        sampler.stop()
        kernels_left = server.kernel_processes()
        result["kernels_after_linger"] = len(kernels_left)
        result["linger_s"] = args.linger
        rss_left = 0
        for k in kernels_left:
            try:
                rss_left += k.memory_info().rss
            except Exception:
                pass
        result["kernel_rss_after_linger_mb"] = round(rss_left / 2**20, 1)
    finally:
        if sampler is not None and sampler.is_alive():
            sampler.stop()
        server.stop()

    for r in records:
        r.pop("context", None)
    ttw = [r["time_to_widgets"] for r in records if r["time_to_widgets"] is not None]
    html = [r["html"] for r in records if r["html"] is not None]
    reload_ttw = [r["reload_time_to_widgets"] for r in records if r["reload_time_to_widgets"] is not None]
    moves = [m for r in records for m in r["moves"]]
    kernel_peaks = sorted(sampler.kernel_peak_rss.values())
    result.update(
        sessions=args.sessions,
        failures=[r["error"] for r in records if r["error"]],
        time_to_widgets_s=summary(ttw),
        html_received_s=summary(html),
        reload_time_to_widgets_s=summary(reload_ttw),
        slider_to_plot_s=summary(moves),
        kernel_peak_rss_mb={"median": round(statistics.median(kernel_peaks) / 2**20, 1) if kernel_peaks else None,
                            "max": round(max(kernel_peaks) / 2**20, 1) if kernel_peaks else None,
                            "kernels_seen": len(kernel_peaks)},
        peak_total_rss_mb=round(sampler.peak_total_rss / 2**20, 1),
        peak_total_pss_mb=round(sampler.peak_total_pss / 2**20, 1),
        peak_kernels=sampler.peak_kernels,
        sessions_detail=records,
    )
    return result


async def run_solo(args) -> dict:
    """One person at a time: each demo opened ``--solo`` times in turn on a server with the shipped
    voila.json (the issue's budgets: time to widgets < 3 s median, slider to plot < 300 ms median)."""
    from playwright.async_api import async_playwright

    demos = sorted(p.stem for p in bs.DEMOS.glob("*.ipynb"))
    out: dict = {}
    with bs.VoilaServer(use_repo_config=True, log_path=bs.ARTIFACTS / "load-test-voila-solo.log") as server:
        server.wait_for_pools(len(demos), timeout=300)
        async with async_playwright() as p:
            browser = await p.chromium.launch(**bs.launch_kwargs())
            for demo in demos:
                ttw, moves = [], []
                for i in range(args.solo):
                    await asyncio.sleep(args.gap)  # Voila refills its pool between two people
                    context = await browser.new_context(viewport={"width": 1280, "height": 900})
                    page = await context.new_page()
                    await page.route("**/*", lambda r: r.continue_() if bs.is_loopback_url(r.request.url) else r.abort())
                    t, _ = await open_and_wait(page, server.url(demo), args.timeout * 1000)
                    ttw.append(t)
                    if await page.locator(".widget-slider").count():
                        for j in range(args.moves):
                            moves.append(await move_once(page, ".widget-slider >> nth=0",
                                                         "ArrowRight" if j % 2 == 0 else "ArrowLeft", args.timeout * 1000))
                            await asyncio.sleep(0.3)
                    else:  # the results viewer: its control is a toggle between views
                        buttons = page.locator(".widget-toggle-button")
                        for j in range(1, min(args.moves, await buttons.count() - 1) + 1):
                            src = await page.evaluate(bs.IMAGE_SRC_JS)
                            t0 = time.perf_counter()
                            await buttons.nth(j).click()
                            await page.wait_for_function(bs.IMAGE_CHANGED_JS, arg=src, timeout=args.timeout * 1000)
                            moves.append(time.perf_counter() - t0)
                    await context.close()
                out[demo] = {"time_to_widgets_s": summary(ttw), "control_to_plot_s": summary(moves)}
                print(f"{demo:16s} time to widgets {fmt(out[demo]['time_to_widgets_s'])}; "
                      f"control to plot {fmt(out[demo]['control_to_plot_s'], 'ms')}", flush=True)
            await browser.close()
    return out


def fmt(s: dict | None, unit: str = "s") -> str:
    if not s or s.get("p50") is None:
        return "n/a"
    if unit == "ms":
        return f"p50 {s['p50'] * 1000:.0f} ms, p95 {s['p95'] * 1000:.0f} ms (n={s['n']})"
    return f"p50 {s['p50']:.2f} s, p95 {s['p95']:.2f} s (n={s['n']})"


def report(r: dict) -> str:
    lines = [
        f"== {r['setting']}: {r['sessions']} sessions on {r['demo']} ({'PASS' if not r['failures'] else 'FAIL'})",
        f"  time to widgets        {fmt(r['time_to_widgets_s'])}",
        f"    of which HTML (server: kernel start + notebook run) {fmt(r['html_received_s'])}",
        f"  after a reload         {fmt(r['reload_time_to_widgets_s'])}",
        f"  slider to plot         {fmt(r['slider_to_plot_s'], 'ms')}",
        f"  peak memory per kernel median {r['kernel_peak_rss_mb']['median']} MB, max {r['kernel_peak_rss_mb']['max']} MB RSS "
        f"({r['kernel_peak_rss_mb']['kernels_seen']} kernels seen)",
        f"  peak memory in total   {r['peak_total_rss_mb']} MB RSS, {r['peak_total_pss_mb']} MB PSS "
        f"(server + up to {r['peak_kernels']} kernels)",
        f"  kernels: {r['idle_kernels_before']} before the room, {r['kernels_after_reloads']} after the reloads, "
        f"{r['kernels_just_after_room_left']} just after the room left, {r['kernels_after_linger']} "
        f"{r['linger_s']:.0f} s later ({r['kernel_rss_after_linger_mb']} MB RSS still held)",
    ]
    if "preheat_s" in r:
        lines.append(f"  preheating before the room arrived took {r['preheat_s']} s")
    lines += [f"  FAILURE {f}" for f in r["failures"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=10, help="people opening the demo at once (default 10; 30 for a full room)")
    ap.add_argument("--demo", default="toy_explorer", help="notebook under lessons/demos without .ipynb (default toy_explorer)")
    ap.add_argument("--slider", default=None, help="label text of the slider to move (default: the first slider)")
    ap.add_argument("--moves", type=int, default=3, help="slider moves per session before the reload (default 3)")
    ap.add_argument("--settings", choices=["both", "default", "recommended"], default="both")
    ap.add_argument("--pool", type=int, default=None, help="preheated kernels for the demo (default: --sessions)")
    ap.add_argument("--cull-after", type=float, default=0, help="add idle culling after this many seconds to the "
                    "recommended run (default 0: off; see recommended_args for why)")
    ap.add_argument("--cull-interval", type=float, default=5, help="seconds between cull checks when culling (default 5)")
    ap.add_argument("--linger", type=float, default=10, help="seconds to watch kernels after the room leaves (default 10)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds one session may wait for a render or a move")
    ap.add_argument("--solo", type=int, default=0, metavar="K",
                    help="instead of a room: open each demo K times, one person at a time, and report medians")
    ap.add_argument("--gap", type=float, default=5.0, help="--solo: seconds between two people (default 5)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON report (default {DEFAULT_OUT.relative_to(REPO)})")
    args = ap.parse_args(argv)

    problem = bs.chromium_missing() or bs.voila_available()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        import psutil  # noqa: F401
    except ImportError:
        print("psutil is missing: install the dev extra (`make install`).", file=sys.stderr)
        return 2
    if not (bs.DEMOS / f"{args.demo}.ipynb").exists():
        print(f"no demo {args.demo!r} in {bs.DEMOS.relative_to(REPO)}", file=sys.stderr)
        return 2
    bs.ARTIFACTS.mkdir(exist_ok=True)
    if args.solo:
        solo = asyncio.run(run_solo(args))
        out = args.out if args.out != DEFAULT_OUT else DEFAULT_OUT.with_name("solo.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "demos": solo}, indent=2))
        print(f"wrote {out}")
        return 0
    names = ["default", "recommended"] if args.settings == "both" else [args.settings]
    results = []
    for name in names:
        r = asyncio.run(run_setting(name, args))
        r["demo"] = args.demo
        results.append(r)
        print(report(r), flush=True)
    out = {"machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version(),
                       "platform": platform.platform()},
           "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
           "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out}")
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
