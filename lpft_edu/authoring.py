"""Authoring tools for the lessons: one source per lesson, generated notebooks and student versions.

Each lesson is a py:percent script (the source of truth, reviewable in diffs) paired with an
``.ipynb`` that is committed without outputs. Instructor solutions are marked in the source:

* inside a code cell, the lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` (the nbgrader
  markers instructors know) are replaced by a placeholder: ``name = ...  # YOUR CODE HERE`` for each
  name the solution assigns, so the student notebook still runs top to bottom and the self-checks
  answer "Not yet" (they treat ``...`` as unanswered); a solution that assigns nothing becomes a
  ``raise NotImplementedError``;
* a whole cell tagged ``solution`` (``# %% [markdown] tags=["solution"]``) is dropped.

Command line (also behind ``make sync`` and ``make student``)::

    python -m lpft_edu.authoring sync               # rewrite every .ipynb from its .py source
    python -m lpft_edu.authoring check              # exit 1 if any pair is out of sync or has outputs
    python -m lpft_edu.authoring student --out student
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

REPO = Path(__file__).resolve().parent.parent
LESSONS = REPO / "lessons"
BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
SOLUTION_TAG = "solution"
PLACEHOLDER = 'raise NotImplementedError("Exercise: write your solution here, then run the self-check below")'


def lesson_sources(root: Path = LESSONS) -> list[Path]:
    """Every py:percent notebook source under ``root`` (lessons and demos)."""
    return sorted(p for p in root.rglob("*.py") if "# %%" in p.read_text(encoding="utf-8")
                  and ".ipynb_checkpoints" not in p.parts)


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def strip_outputs(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def write_notebook(source: Path, target: Path | None = None) -> Path:
    """Write the output-free .ipynb twin of a py:percent source."""
    nb = jupytext.read(source)
    strip_outputs(nb)
    target = target or source.with_suffix(".ipynb")
    if target.exists():
        # Keep the cell ids the committed notebook already has (jupytext makes new random ones),
        # so re-syncing an unchanged lesson leaves git clean.
        old = nbformat.read(target, as_version=4).cells
        for new_cell, old_cell in zip(nb.cells, old):
            if new_cell.cell_type == old_cell.cell_type and "id" in old_cell:
                new_cell.id = old_cell.id
    jupytext.write(nb, target, fmt="ipynb")
    return target


def sync_problems(source: Path) -> list[str]:
    """Why ``source`` and its .ipynb twin disagree (empty when they are in sync)."""
    twin = source.with_suffix(".ipynb")
    if not twin.exists():
        return [f"{twin.relative_to(REPO)} is missing: run `make sync`"]
    problems = []
    nb_py, nb_ipynb = jupytext.read(source), nbformat.read(twin, as_version=4)
    if _cells(nb_py) != _cells(nb_ipynb):
        problems.append(f"{twin.relative_to(REPO)} differs from {source.name}: run `make sync`")
    if any(c.get("outputs") for c in nb_ipynb.cells if c.cell_type == "code"):
        problems.append(f"{twin.relative_to(REPO)} carries outputs: run `make sync` to strip them")
    return problems


_REGION = re.compile(r"^(?P<indent>[ \t]*)" + re.escape(BEGIN) + r"[^\n]*\n.*?^[ \t]*" + re.escape(END) + r"[^\n]*(\n|$)",
                     re.MULTILINE | re.DOTALL)


_ASSIGNMENT = re.compile(r"^(?P<indent>[ \t]*)(?P<name>[A-Za-z_]\w*)\s*=(?!=)", re.MULTILINE)


def _placeholder(region: re.Match) -> str:
    indent = region["indent"]
    names = []
    for m in _ASSIGNMENT.finditer(region.group(0)):
        if m["indent"] == indent and m["name"] not in names:
            names.append(m["name"])
    if not names:
        return f"{indent}# YOUR CODE HERE\n{indent}{PLACEHOLDER}\n"
    return "".join(f"{indent}{name} = ...  # YOUR CODE HERE\n" for name in names)


def strip_solutions(code: str) -> str:
    """Replace every BEGIN/END SOLUTION region of a code cell by its placeholder."""
    if code.count(BEGIN) != code.count(END):
        raise ValueError(f"unbalanced solution markers: {code.count(BEGIN)} '{BEGIN}' vs {code.count(END)} '{END}'")
    return _REGION.sub(_placeholder, code)


def student_notebook(source: Path):
    """The student version of a lesson: solution regions replaced, solution cells removed."""
    nb = jupytext.read(source)
    kept = []
    for cell in nb.cells:
        if SOLUTION_TAG in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
        kept.append(cell)
    nb.cells = kept
    strip_outputs(nb)
    return nb


def write_student_versions(out: Path, root: Path = LESSONS) -> list[Path]:
    """Write student .py and .ipynb versions of every lesson under ``out`` (keeping sub-folders)."""
    written = []
    for source in lesson_sources(root):
        if "demos" in source.relative_to(root).parts:
            continue  # dashboards have no exercises
        nb = student_notebook(source)
        target = out / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(nb, target, fmt="py:percent")
        jupytext.write(nb, target.with_suffix(".ipynb"), fmt="ipynb")
        written += [target, target.with_suffix(".ipynb")]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lpft_edu.authoring", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sync", help="rewrite every lesson .ipynb from its .py source, without outputs")
    sub.add_parser("check", help="fail if a lesson pair is out of sync or a notebook has outputs")
    st = sub.add_parser("student", help="write student versions with solutions stripped")
    st.add_argument("--out", type=Path, default=REPO / "student")
    args = parser.parse_args(argv)

    if args.command == "sync":
        for source in lesson_sources():
            print("wrote", write_notebook(source).relative_to(REPO))
    elif args.command == "check":
        problems = [p for s in lesson_sources() for p in sync_problems(s)]
        print("\n".join(problems) or "all lesson pairs in sync")
        return 1 if problems else 0
    else:
        for path in write_student_versions(args.out):
            print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
