"""Test-wide settings: fast mode for every lesson, a headless plotting backend, and a guard
that makes any attempt to reach a non-loopback address fail (tests never touch the network).
The guard also reaches Python subprocesses (notebook kernels, Voila, the CLI) through
tests/netguard/sitecustomize.py on PYTHONPATH. It lives at the repository root so that it
also applies when a single lesson notebook is run (pytest lessons/01_....ipynb)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

NETGUARD = Path(__file__).parent / "tests" / "netguard"
sys.path.insert(0, str(NETGUARD))

# Set before any notebook kernel starts: nbval's kernels inherit this environment.
os.environ["LPFT_FAST"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["LPFT_NO_NETWORK"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH")) if p)

import sitecustomize as netguard  # noqa: E402  (the file above, not the interpreter's)

netguard.install()
NetworkAccessError = netguard.NetworkAccessError
