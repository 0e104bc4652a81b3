"""Lessons 1-2 must run where torch is absent: no module outside lpft_edu.vision and lpft_edu.mini may import it."""
import pkgutil
import subprocess
import sys

import lpft_edu


# The computational core of lessons 1-2: numpy/scipy only, no plotting, no widgets, no torch.
CORE_MODULES = ("lpft_edu.toy", "lpft_edu.config", "lpft_edu.paper_numbers", "lpft_edu.linear", "lpft_edu.theory")


# The packages that train networks and so need torch (the ``vision`` extra): lesson 3's
# CIFAR -> STL pipeline and lpft-mini, its laptop experiment. Everything else must import without it.
TORCH_PACKAGES = ("lpft_edu.vision", "lpft_edu.mini")


def non_vision_modules():
    names = [m.name for m in pkgutil.walk_packages(lpft_edu.__path__, "lpft_edu.")]
    return [n for n in names if not any(n == p or n.startswith(p + ".") for p in TORCH_PACKAGES)]


def test_non_vision_modules_do_not_import_torch():
    modules = non_vision_modules()
    assert {"lpft_edu.toy", "lpft_edu.apps.toy", "lpft_edu.apps.results", "lpft_edu.authoring"} <= set(modules)
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
    # Every core module is imported for real: a missing or broken one fails this test (it used to
    # be skipped by an except ModuleNotFoundError, which also hid a typo in a module's name).
    code = (
        "import sys\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    __import__(name)\n"
        "print(sorted(m for m in ('ipywidgets', 'matplotlib', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_core_module_list_names_real_modules():
    import importlib.util
    assert all(importlib.util.find_spec(name) is not None for name in CORE_MODULES)
