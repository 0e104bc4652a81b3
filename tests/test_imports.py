"""Lessons 1-2 must run where torch is absent: no non-vision module may import it."""
import pkgutil
import subprocess
import sys

import lpft_edu


def non_vision_modules():
    names = [m.name for m in pkgutil.walk_packages(lpft_edu.__path__, "lpft_edu.")]
    return [n for n in names if not n.startswith("lpft_edu.vision")]


def test_non_vision_modules_do_not_import_torch():
    modules = non_vision_modules()
    assert {"lpft_edu.toy", "lpft_edu.apps.toy", "lpft_edu.authoring"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "print(len(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0", f"torch was imported by one of {modules}"


def test_core_modules_do_not_import_widgets_or_matplotlib():
    code = (
        "import sys, lpft_edu.toy, lpft_edu.config, lpft_edu.paper_numbers\n"
        "for pure in ('lpft_edu.linear', 'lpft_edu.theory'):\n"
        "    try:\n        __import__(pure)\n    except ModuleNotFoundError:\n        pass\n"
        "print(sorted(m for m in ('ipywidgets', 'matplotlib', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
