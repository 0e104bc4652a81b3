"""Build the static course site: `make site` (or `python site/build.py --out DIR`).

1. Stage the pages into a work folder with the repository's relative layout (lessons/*.ipynb,
   docs/*.md and their assets), so that links between them (../docs/glossary.md) resolve as they
   do on GitHub, without editing a lesson. The README is staged as an include, not as a page. The
   lessons' launch cells (badges, Colab install cell) are left out: each page's banner links to
   Binder and Colab instead.
2. Run Sphinx (myst-nb executes every lesson, in fast mode) with site/ as the configuration.

Any Sphinx warning (a broken link, a failing cell, a missing image) fails the build.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # lpft_edu from this checkout, installed or not
from lpft_edu import authoring  # noqa: E402
SITE = REPO / "site"
TOCTREE_ENTRY = re.compile(r"^(lessons|docs)/[\w.-]+$")


def page_sources(index_text: str) -> dict[str, Path]:
    """Repository source of every page the index's toctrees list: docname -> path (which may not
    exist yet: docs are written by several people; missing ones are left out with a message)."""
    pages = {}
    for line in index_text.splitlines():
        entry = line.strip()
        if TOCTREE_ENTRY.match(entry):
            suffix = ".ipynb" if entry.startswith("lessons/") else ".md"
            pages[entry] = REPO / f"{entry}{suffix}"
    return pages


def stage_lesson(path: Path, target: Path) -> None:
    """A lesson as the site shows it: without its launch cells (the Colab install cell is noise on a
    static page, and the page's banner carries the Binder and Colab links instead of the badges)."""
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if not authoring.is_launch_cell(c)]
    nbformat.write(nb, target)


def stage(src: Path) -> list[str]:
    """Copy the site's sources into ``src`` (emptied first); return the pages left out."""
    if src.exists():
        shutil.rmtree(src)
    (src / "_includes").mkdir(parents=True)
    index_text = (SITE / "index.md").read_text()
    pages = page_sources(index_text)
    missing = [name for name, path in pages.items() if not path.is_file()]
    for name, path in pages.items():
        if name not in missing:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".ipynb":
                stage_lesson(path, src / path.relative_to(REPO))
            else:
                shutil.copy2(path, src / path.relative_to(REPO))
    # Pictures and other non-page files under docs/ (a page may show them).
    for asset in (REPO / "docs").rglob("*"):
        if asset.is_file() and asset.suffix not in {".md", ".ipynb"}:
            target = src / asset.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(asset, target)
    kept = [line for line in index_text.splitlines() if line.strip() not in missing]
    (src / "index.md").write_text("\n".join(kept) + "\n")
    shutil.copy2(REPO / "README.md", src / "_includes" / "README.md")
    return missing


def build_env() -> dict:
    env = dict(os.environ)
    env["LPFT_FAST"] = "1"  # every lesson in fast mode: minutes, not hours, on a laptop
    # A forced Agg backend would hide the lessons' inline figures in the executing kernels.
    env.pop("MPLBACKEND", None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def build(out: Path, work: Path, quiet: bool = False) -> int:
    """Stage and build; return Sphinx's exit status (0 when the site is complete)."""
    src, doctrees = work / "src", work / "doctrees"
    missing = stage(src)
    for name in missing:
        print(f"site: {name} is not in the repository yet; the site leaves it out.", file=sys.stderr)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(SITE), "-d", str(doctrees),
               "-W", "--keep-going", "-E", str(src), str(out)]
    if quiet:
        command.insert(3, "-q")
    return subprocess.run(command, cwd=REPO, env=build_env()).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "site", help="where the HTML goes (default build/site)")
    parser.add_argument("--work", type=Path, default=None, help="staging and doctrees (default: beside --out)")
    parser.add_argument("--quiet", action="store_true", help="print only warnings and errors")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    work = (args.work or out.parent / f"{out.name}-work").resolve()
    status = build(out, work, quiet=args.quiet)
    if status == 0:
        print(f"site: open {out / 'index.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
