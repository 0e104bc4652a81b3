"""Shared machinery for driving the Voila demos in a real browser.

Used by tests/test_browser_demos.py (pytest, Playwright's sync API) and by
benchmarks/load_test.py (many concurrent sessions, Playwright's async API). No pytest here.

* :class:`VoilaServer` starts Voila on 127.0.0.1 on a free port (``--Voila.port_retries=0``, so a
  port taken between our probe and Voila's bind fails fast and we retry with another), waits for
  ``/voila/static/voila.js`` to answer, watches the kernels it starts (psutil), and stops the whole
  process group by PID so no server or kernel outlives a test.
* :func:`launch_kwargs` is how to start Debian's Chromium through Playwright (``executable_path``;
  never ``playwright install``), and :func:`chromium_missing` says how to install it when absent.
* The JavaScript snippets below read the page the same way in both APIs: whether the widgets are
  on screen, the text of a slider's numeric readout, the ``src`` of the plot (an ipywidgets Image
  whose ``src`` becomes a new ``blob:`` URL each time the kernel sends a new PNG), and the app's
  message line (``.lpft-message``, set by lpft_edu.apps.base.FigureApp).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMOS = REPO / "lessons" / "demos"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("LPFT_CHROMIUM", "/usr/bin/chromium")
HEALTH_PATH = "/voila/static/voila.js"

INSTALL_HINT = (
    f"Chromium not found at {CHROMIUM}: the browser tests drive Debian's chromium package. "
    "Install it with `apt-get update && apt-get install -y chromium` (never `playwright install`), "
    "or point LPFT_CHROMIUM at another Chromium binary."
)

# Headless, and nothing that phones home: the tests run with the network guard on and Chromium
# must not wait on update checks, sync, QUIC probes or the GPU process.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-proxy-server",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--mute-audio",
]


def chromium_missing() -> str | None:
    """None when Chromium and Playwright are usable, else the reason (with the install command)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return INSTALL_HINT
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is missing: install the dev extra, `pip install -e '.[dev]'` (or `make install`)."
    return None


def launch_kwargs() -> dict:
    """Keyword arguments for ``playwright.chromium.launch`` (sync or async)."""
    return {"executable_path": CHROMIUM, "headless": True, "args": list(CHROMIUM_ARGS)}


LOOPBACK_PREFIXES = ("http://127.0.0.1", "ws://127.0.0.1", "http://localhost", "data:", "blob:", "about:")


def is_loopback_url(url: str) -> bool:
    return url.startswith(LOOPBACK_PREFIXES)


# ---------------------------------------------------------------------------------------------
# Reading the page. Each snippet is an expression for page.evaluate / page.wait_for_function.

#: True once the dashboard is usable: a control (slider, or the results viewer's toggle/upload) is
#: laid out and the plot image has been decoded.
WIDGETS_READY_JS = """() => {
  const img = document.querySelector('img.widget-image');
  const control = document.querySelector('.widget-slider, .widget-toggle-buttons, .widget-upload, .widget-dropdown');
  return !!(img && img.src && img.complete && img.naturalWidth > 0 && control && control.offsetParent !== null);
}"""

#: The plot's current src (a blob: URL that changes with every new PNG), or null.
IMAGE_SRC_JS = """() => { const img = document.querySelector('img.widget-image'); return img ? img.src : null; }"""

#: True when the plot's src differs from the argument and the new image is decoded.
IMAGE_CHANGED_JS = """(old) => {
  const img = document.querySelector('img.widget-image');
  return !!(img && img.src && img.src !== old && img.complete && img.naturalWidth > 0);
}"""

#: The visible text of the app's message line ('' when there is none).
MESSAGE_JS = """() => { const m = document.querySelector('.lpft-message'); return m ? m.innerText.trim() : null; }"""

#: Whether Voila reported an error executing the notebook (its own error box or a traceback).
VOILA_ERROR_JS = """() => {
  const e = document.querySelector('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"], .voila-error, .jp-OutputArea-output pre');
  return e ? e.innerText.slice(0, 2000) : null;
}"""


def slider_selector(label: str) -> str:
    """CSS/Playwright selector of the slider whose description contains ``label``."""
    return f'.widget-slider:has(label:has-text("{label}"))'


def parse_readout(text: str) -> float:
    """A slider readout as a float (ipywidgets prints a Unicode minus sign)."""
    return float(text.strip().replace("\u2212", "-").replace(",", ""))


# ---------------------------------------------------------------------------------------------
# The server.

# Straight to 127.0.0.1, whatever http_proxy says (the network guard would stop a proxy hop).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def voila_env(extra: dict | None = None) -> dict:
    """The environment for Voila and its kernels: the caller's (network guard included), minus
    MPLBACKEND (a forced Agg backend hides inline plots in notebooks that use pyplot)."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra or {})
    return env


class VoilaError(RuntimeError):
    pass


class VoilaServer:
    """A Voila server for one folder of notebooks, stopped by process group.

    ``use_repo_config`` runs Voila from the repository root so that it reads the shipped
    ``voila.json`` (what ``make demos`` and Binder use). Without it Voila runs from an empty
    temporary folder and gets Voila's own defaults (the load test's baseline).
    """

    def __init__(self, root: Path = DEMOS, *, use_repo_config: bool = True, extra_args=(), env: dict | None = None,
                 log_path: Path | None = None, startup_timeout: float = 60.0, attempts: int = 3):
        self.root = Path(root).resolve()
        self.use_repo_config = use_repo_config
        self.extra_args = list(extra_args)
        self.env = voila_env(env)
        self.startup_timeout = startup_timeout
        self.attempts = attempts
        self.log_path = Path(log_path) if log_path else None
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._log = None

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, demo: str) -> str:
        """Voila's URL for ``demo`` (a notebook name under root, with or without .ipynb)."""
        name = demo if demo.endswith(".ipynb") else f"{demo}.ipynb"
        return f"{self.base_url}/voila/render/{name}"

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-m", "voila", str(self.root), "--no-browser",
                "--Voila.ip=127.0.0.1", f"--Voila.port={port}", "--Voila.port_retries=0", *self.extra_args]

    def start(self) -> "VoilaServer":
        if self.use_repo_config:
            cwd = REPO
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="lpft-voila-")
            cwd = Path(self._tmp.name)
        if self.log_path is None:
            self.log_path = Path(tempfile.mkstemp(prefix="voila-", suffix=".log")[1])
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        last = ""
        for _ in range(self.attempts):
            self.port = free_port()
            self._log = open(self.log_path, "w")
            # start_new_session: the server is a process group of its own that stop() can end.
            self.proc = subprocess.Popen(self.command(self.port), cwd=cwd, env=self.env, stdout=self._log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            if self._wait_healthy():
                return self
            last = self.log_text()
            self._stop_server()
            if "in use" not in last and "Errno 98" not in last:
                break  # not a port clash: retrying will not help
        raise VoilaError(f"Voila did not start (log {self.log_path}):\n{last[-3000:]}")

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with _DIRECT.open(self.base_url + HEALTH_PATH, timeout=2) as r:
                    if r.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        self._stop_server()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _stop_server(self) -> None:
        """Stop Voila and every kernel it started. Kernels run in sessions of their own
        (jupyter_client starts them with start_new_session), so we note their PIDs first and end
        any that survive Voila's own shutdown."""
        proc, self.proc = self.proc, None
        if proc is not None:
            kernels = self._kernels_of(proc.pid)
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)  # Voila shuts its kernels down on SIGTERM
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    pass
            _signal_group(proc.pid, signal.SIGKILL)  # whatever is left of the server's group
            proc.wait(timeout=10)
            _end_processes(kernels)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "VoilaServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- inspection -----------------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""

    def kernel_processes(self):
        """The server's running kernels (psutil.Process objects; empty when psutil is missing)."""
        return self._kernels_of(self.proc.pid) if self.proc is not None else []

    @staticmethod
    def _kernels_of(pid: int):
        try:
            import psutil
        except ImportError:
            return []
        try:
            children = psutil.Process(pid).children(recursive=True)
        except psutil.Error:
            return []
        out = []
        for c in children:
            try:
                if "ipykernel" in " ".join(c.cmdline()):
                    out.append(c)
            except psutil.Error:
                pass
        return out

    def wait_for_pools(self, pools: int, timeout: float = 120.0) -> float:
        """With preheated kernels, wait until ``pools`` notebooks report a full pool; seconds waited."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if len(re.findall(r"Kernel pool of .* is filled", self.log_text())) >= pools:
                return time.monotonic() - t0
            if self.proc is None or self.proc.poll() is not None:
                raise VoilaError(f"Voila exited while preheating kernels:\n{self.log_text()[-3000:]}")
            time.sleep(0.25)
        raise VoilaError(f"kernel pools not filled after {timeout:.0f} s:\n{self.log_text()[-3000:]}")


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the server was started with start_new_session: its PID is the group
    except (ProcessLookupError, PermissionError):
        pass


def _end_processes(processes, timeout: float = 5.0) -> None:
    """Terminate, then kill, the given psutil processes that are still running (by PID)."""
    if not processes:
        return
    import psutil
    alive = [p for p in processes if p.is_running()]
    for p in alive:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(alive, timeout=timeout)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass


def voila_available() -> str | None:
    """None when Voila can be started with this interpreter, else why not."""
    try:
        import voila  # noqa: F401
    except ImportError:
        return "Voila is not installed in this environment: run `make install`."
    return None
