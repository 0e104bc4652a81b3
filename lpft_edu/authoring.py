"""Authoring tools for the lessons: one source per lesson, generated notebooks and student versions.

Each lesson is a py:percent script (the source of truth, reviewable in diffs) paired with an
``.ipynb`` that is committed without outputs. Instructor solutions are marked in the source:

* inside a code cell, the lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` (the nbgrader
  markers instructors know) are replaced by a placeholder,
  ``answer = ...  # YOUR CODE HERE: compute answer, then run the self-check below``, for each name the
  solution assigns and the code after it uses, so the student notebook still runs top to bottom and
  the self-checks answer "Not yet" (they treat ``...`` as unanswered). Helper names the solution
  uses only internally are not announced (they would hint at the solution's shape);
* a whole cell tagged ``solution`` (``# %% [markdown] tags=["solution"]``) is dropped;
* everything else passes through unchanged, in particular "Think!" answers written as
  ``<details><summary>…</summary>…</details>`` in markdown: plain HTML, so Jupyter, Voila and Colab
  show them folded until the learner opens them.

A solution region never contains an import: the student version drops the region and the import
with it, so every later cell would fail. ``check`` and the student build refuse such a region and
name the lesson and line.

Student notebooks keep the instructor notebook's cell ids, so ``make student`` is deterministic and
``git diff student/`` shows only real changes.

Every lesson opens with two *launch cells* (see :mod:`lpft_edu.launch`): Colab and Binder badges
under the title cell, and a first code cell that installs the package on Colab only. ``launch``
writes them into the lesson source and re-syncs the notebook; the student version keeps both, with
badges that open the student notebook.

Command line (also behind ``make sync`` and ``make student``)::

    python -m lpft_edu.authoring sync [PATH ...]    # rewrite .ipynb twins from their .py sources (all when no PATH)
    python -m lpft_edu.authoring launch [PATH ...]  # insert or refresh the launch cells, then sync (all lessons when no PATH)
    python -m lpft_edu.authoring check              # exit 1 if a pair is out of sync, has outputs, a solution is
                                                    # malformed or a lesson's launch cells are missing or stale
    python -m lpft_edu.authoring student --out student
"""
from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import io
import re
import sys
import textwrap
import tokenize
from pathlib import Path

import jupytext
import nbformat

from lpft_edu import launch

REPO = Path(__file__).resolve().parent.parent
LESSONS = REPO / "lessons"
BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
SOLUTION_TAG = "solution"
YOUR_CODE = "# YOUR CODE HERE"
PLACEHOLDER_NOTE = YOUR_CODE + ": compute {name}, then run the self-check below"
# A solution that assigns no name the later code reads: the student writes free code here. ``pass``
# keeps the cell valid Python (the region may sit inside a block) and the notebook running.
FREE_PLACEHOLDER = YOUR_CODE + ": write your code here, then run the cell"
STUDENT_NOTE_ID = "student-version-note"
STUDENT_NOTE = (
    "**Student version.** Each exercise has a line such as `answer = ...  # YOUR CODE HERE`: write your "
    "own code there and run the cell; the self-check below it prints **Correct!** or **Not yet** with a hint."
)
THINK_NOTE = " Answers to the *Think!* questions are folded: open one once you have your own answer."


class SolutionError(ValueError):
    """A solution region the student build cannot strip safely; the message names lesson and line."""


def lesson_sources(root: Path | None = None) -> list[Path]:
    """Every py:percent notebook source under ``root`` (default: lessons/, demos included)."""
    root = root or LESSONS
    return sorted(p for p in root.rglob("*.py") if "# %%" in p.read_text(encoding="utf-8")
                  and ".ipynb_checkpoints" not in p.parts)


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def strip_outputs(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def instructor_notebook(source: Path):
    """The notebook of a py:percent source, with the cell ids its committed .ipynb twin already has.

    jupytext makes new random ids on every read; keeping the twin's ids leaves git clean on a re-sync
    and gives the student version stable ids. Cells are matched to the twin's by content first (so
    inserting a cell does not shift every id after it), then edited cells by position; a cell the twin
    does not have gets an id derived from the lesson's name and its position, never from chance.
    """
    nb = jupytext.read(source)
    twin = source.with_suffix(".ipynb")
    old = nbformat.read(twin, as_version=4).cells if twin.exists() else []
    ids: list[str | None] = [None] * len(nb.cells)
    matcher = difflib.SequenceMatcher(a=_cells(nb), b=[(c.cell_type, c.source.strip()) for c in old], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for i, j in zip(range(i1, i2), range(j1, j2)):
                if nb.cells[i].cell_type == old[j].cell_type and old[j].get("id"):
                    ids[i] = old[j].id
    used = set(filter(None, ids))
    for i, cell in enumerate(nb.cells):
        if ids[i] is None:
            candidate, n = hashlib.sha1(f"{source.stem}:{i}".encode()).hexdigest()[:8], 0
            while candidate in used:
                n += 1
                candidate = hashlib.sha1(f"{source.stem}:{i}:{n}".encode()).hexdigest()[:8]
            ids[i] = candidate
            used.add(candidate)
        cell.id = ids[i]
    return nb


def write_notebook(source: Path, target: Path | None = None) -> Path:
    """Write the output-free .ipynb twin of a py:percent source (keeping the twin's cell ids)."""
    nb = instructor_notebook(source)
    strip_outputs(nb)
    target = target or source.with_suffix(".ipynb")
    jupytext.write(nb, target, fmt="ipynb")
    return target


def sync_problems(source: Path) -> list[str]:
    """Why ``source`` and its .ipynb twin disagree (empty when they are in sync)."""
    twin = source.with_suffix(".ipynb")
    if not twin.exists():
        return [f"{_rel(twin)} is missing: run `make sync`"]
    problems = []
    nb_py, nb_ipynb = jupytext.read(source), nbformat.read(twin, as_version=4)
    if _cells(nb_py) != _cells(nb_ipynb):
        problems.append(f"{_rel(twin)} differs from {source.name}: run `make sync`")
    if any(c.get("outputs") for c in nb_ipynb.cells if c.cell_type == "code"):
        problems.append(f"{_rel(twin)} carries outputs: run `make sync` to strip them")
    return problems


_REGION = re.compile(r"^(?P<indent>[ \t]*)" + re.escape(BEGIN) + r"[^\n]*\n.*?^[ \t]*" + re.escape(END) + r"[^\n]*(\n|$)",
                     re.MULTILINE | re.DOTALL)
_ASSIGNMENT = re.compile(r"^(?P<indent>[ \t]*)(?P<name>[A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)", re.MULTILINE)
_IMPORT_LINE = re.compile(r"^\s*(import\s+\w|from\s+[\w.]+\s+import\b)")


def imports_in(region: str) -> list[tuple[int, str]]:
    """(line within ``region``, 1-based; the statement) for each import statement in a solution region."""
    body = textwrap.dedent(region)
    lines = body.splitlines()
    try:
        numbers = sorted({node.lineno for node in ast.walk(ast.parse(body))
                          if isinstance(node, (ast.Import, ast.ImportFrom))})
    except SyntaxError:  # an unfinished region: fall back to reading lines
        numbers = [i for i, line in enumerate(lines, 1) if _IMPORT_LINE.match(line)]
    return [(i, lines[i - 1].strip()) for i in numbers]


def _names_read(code: str) -> set[str]:
    """Identifiers that occur in ``code`` outside strings and comments."""
    try:
        return {t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.NAME}
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return set(re.findall(r"[A-Za-z_]\w*", code))


def _placeholder(region: re.Match, later: str) -> str:
    indent = region["indent"]
    assigned = []
    for m in _ASSIGNMENT.finditer(region.group(0)):
        if m["indent"] == indent and m["name"] not in assigned:
            assigned.append(m["name"])
    read_later = _names_read(region.string[region.end():] + "\n" + later)
    names = [n for n in assigned if n in read_later] or assigned
    if not names:
        return f"{indent}pass  {FREE_PLACEHOLDER}\n"
    return "".join(f"{indent}{name} = ...  {PLACEHOLDER_NOTE.format(name=name)}\n" for name in names)


def region_problems(code: str, where: str = "", first_line: int = 1) -> list[str]:
    """What makes ``code``'s solution regions unsafe to strip: unbalanced markers, imports inside.

    ``where`` names the file and ``first_line`` is the line of ``code``'s first line in it, so a
    message points at the exact line an author must change.
    """
    prefix = f"{where}:" if where else "line "
    if code.count(BEGIN) != code.count(END):
        line = first_line + code[:code.find(BEGIN if code.count(BEGIN) > code.count(END) else END)].count("\n")
        return [f"{prefix}{line}: unbalanced solution markers ({code.count(BEGIN)} '{BEGIN}' vs "
                f"{code.count(END)} '{END}')"]
    problems = []
    for region in _REGION.finditer(code):
        start = first_line + code[:region.start()].count("\n")
        for offset, statement in imports_in(region.group(0)):
            problems.append(f"{prefix}{start + offset - 1}: `{statement}` is inside a solution region; move it above "
                            f"'{BEGIN}' (the student version drops the region, and the import with it)")
    return problems


def strip_solutions(code: str, later: str = "", where: str = "") -> str:
    """Replace every BEGIN/END SOLUTION region of a code cell by its placeholder.

    ``later`` is the code that runs after this cell (the rest of the notebook): a name the solution
    assigns gets a placeholder when this cell or a later one reads it. Raises :class:`SolutionError`
    for unbalanced markers or an import inside a region.
    """
    problems = region_problems(code, where)
    if problems:
        raise SolutionError("\n".join(problems))
    return _REGION.sub(lambda region: _placeholder(region, later), code)


def solution_problems(source: Path) -> list[str]:
    """Malformed solution regions and "Think!" blocks in a lesson source, each with file and line."""
    text = source.read_text(encoding="utf-8")
    problems = region_problems(text, _rel(source))
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("# %%")] + [len(lines)]
    for start, stop in zip(starts, starts[1:]):
        if "[markdown]" not in lines[start]:
            continue
        block = "\n".join(lines[start + 1:stop])
        opened, closed = len(re.findall(r"<details\b", block)), block.count("</details>")
        if opened != closed:
            problems.append(f"{_rel(source)}:{start + 1}: markdown cell opens {opened} <details> and closes {closed}: "
                            "a Think! answer needs <details><summary>…</summary> … </details>")
        elif len(re.findall(r"<summary\b", block)) < opened:
            problems.append(f"{_rel(source)}:{start + 1}: a <details> block without <summary>: the folded answer "
                            "needs a visible title, e.g. <summary>Answer</summary>")
        if re.search(r"<details\b[^>]*\bopen\b", block):
            problems.append(f"{_rel(source)}:{start + 1}: <details open> shows the answer unfolded; write <details>")
    return problems


def _tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def is_launch_cell(cell) -> bool:
    return bool({launch.BADGES_TAG, launch.COLAB_TAG} & set(_tags(cell)))


def with_launch_cells(nb, name: str, student: bool = False):
    """``nb`` with its launch cells written afresh: the badge cell right under the title cell (the
    first cell) and the Colab cell as the first code cell. Old launch cells are dropped first, so
    applying it twice changes nothing. (Cell ids come later, from :func:`instructor_notebook`.)"""
    rest = [c for c in nb.cells if not is_launch_cell(c)]
    code = "\n".join(c.source for c in rest if c.cell_type == "code")
    badges = nbformat.v4.new_markdown_cell(launch.badges_markdown(name, student=student))
    badges.metadata["tags"] = [launch.BADGES_TAG]
    colab = nbformat.v4.new_code_cell(launch.colab_cell(launch.lesson_extras(code)))
    colab.metadata["tags"] = [launch.COLAB_TAG]
    cells = rest[:1] + [badges]
    rest = rest[1:]
    first_code = next((i for i, c in enumerate(rest) if c.cell_type == "code"), len(rest))
    nb.cells = cells + rest[:first_code] + [colab] + rest[first_code:]
    return nb


def _launch_view(nb) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source.strip(), _tags(c)) for c in nb.cells]


def launch_problems(source: Path) -> list[str]:
    """Why a lesson's launch cells differ from what ``launch`` writes (empty when they agree)."""
    nb = jupytext.read(source)
    expected = with_launch_cells(jupytext.read(source), source.stem)
    if _launch_view(nb) == _launch_view(expected):
        return []
    have = sum(map(is_launch_cell, nb.cells))
    what = "are missing" if not have else "differ from what the tool writes (moved, edited or stale)"
    return [f"{_rel(source)}: the launch cells (Colab/Binder badges, Colab install cell) {what}: "
            f"run `python -m lpft_edu.authoring launch {_rel(source)}`"]


def write_launch_cells(source: Path) -> list[Path]:
    """Insert or refresh the launch cells in a lesson source, then re-sync its notebook."""
    nb = jupytext.read(source)
    updated = with_launch_cells(jupytext.read(source), source.stem)
    written = []
    if _launch_view(nb) != _launch_view(updated):
        jupytext.write(updated, source, fmt="py:percent")
        written.append(source)
    written.append(write_notebook(source))
    return written


def markdown_text(cells) -> str:
    """The prose of a lesson: its markdown cells joined, for checks that read what a learner reads."""
    return "\n".join(c.source for c in cells if c.cell_type == "markdown")


def student_notebook(source: Path):
    """The student version of a lesson: solution regions replaced, solution cells removed, a note added."""
    problems = solution_problems(source)
    if problems:
        raise SolutionError("\n".join(problems))
    nb = instructor_notebook(source)
    kept = [c for c in nb.cells if SOLUTION_TAG not in c.metadata.get("tags", [])]
    for cell in kept:
        if launch.BADGES_TAG in _tags(cell):  # the student's badges open the student notebook
            cell.source = launch.badges_markdown(source.stem, student=True)
    for i, cell in enumerate(kept):
        if cell.cell_type == "code":
            later = "\n".join(c.source for c in kept[i + 1:] if c.cell_type == "code")
            cell.source = strip_solutions(cell.source, later, _rel(source))
    folded = any(re.search(r"<details\b", c.source) for c in kept if c.cell_type == "markdown")
    note = nbformat.v4.new_markdown_cell(STUDENT_NOTE + (THINK_NOTE if folded else ""), id=STUDENT_NOTE_ID)
    nb.cells = kept[:1] + [note] + kept[1:]  # right under the lesson's title cell
    strip_outputs(nb)
    return nb


def student_sources(root: Path | None = None) -> list[Path]:
    """The lessons that get a student version (the dashboards in demos/ have no exercises)."""
    root = root or LESSONS
    return [s for s in lesson_sources(root) if "demos" not in s.relative_to(root).parts]


def write_student_versions(out: Path, root: Path | None = None) -> list[Path]:
    """Write the student notebook (.ipynb) of every lesson under ``out`` (keeping sub-folders).

    Only notebooks: students open them (Binder, Colab, JupyterLab), and a second, .py copy of every
    lesson would only repeat the lesson sources in the repository. Every lesson is stripped before
    anything is written, so a malformed lesson leaves ``out`` as it was.
    """
    root = root or LESSONS
    notebooks = [(source, student_notebook(source)) for source in student_sources(root)]
    written = []
    for source, nb in notebooks:
        target = out / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(nb, target.with_suffix(".ipynb"), fmt="ipynb")
        written.append(target.with_suffix(".ipynb"))
    return written


def _source_of(arg: str) -> Path:
    """The lesson source a command-line PATH names (its .py, or its .ipynb twin)."""
    path = Path(arg)
    if not path.exists() and (REPO / path).exists():
        path = REPO / path
    source = path.with_suffix(".py")
    if not source.exists() or "# %%" not in source.read_text(encoding="utf-8"):
        raise SystemExit(f"{arg}: not a lesson source (a py:percent .py under lessons/, or its .ipynb twin). "
                         "Run `python -m lpft_edu.authoring sync` without PATH to sync every lesson.")
    return source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lpft_edu.authoring", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sy = sub.add_parser("sync", help="rewrite lesson .ipynb twins from their .py sources, without outputs")
    sy.add_argument("paths", nargs="*", metavar="PATH", help="lesson .py (or .ipynb) to sync; every lesson when none")
    la = sub.add_parser("launch", help="insert or refresh each lesson's launch cells (Colab and Binder badges, "
                                       "the Colab install cell), then sync its notebook")
    la.add_argument("paths", nargs="*", metavar="PATH", help="lesson .py (or .ipynb); every lesson when none")
    sub.add_parser("check", help="fail if a lesson pair is out of sync, a notebook has outputs, a solution "
                                 "region holds an import, or a lesson's launch cells are missing or stale")
    st = sub.add_parser("student", help="write student versions with solutions stripped")
    st.add_argument("--out", type=Path, default=REPO / "student")
    args = parser.parse_args(argv)

    if args.command == "sync":
        for source in [_source_of(p) for p in args.paths] or lesson_sources():
            print("wrote", _rel(write_notebook(source)))
    elif args.command == "launch":
        for source in [_source_of(p) for p in args.paths] or student_sources():
            for path in write_launch_cells(source):
                print("wrote", _rel(path))
    elif args.command == "check":
        problems = [p for s in lesson_sources() for p in sync_problems(s) + solution_problems(s)]
        problems += [p for s in student_sources() for p in launch_problems(s)]
        print("\n".join(problems) or "all lesson pairs in sync, every solution region well formed, "
                                      "launch cells up to date")
        return 1 if problems else 0
    else:
        try:
            written = write_student_versions(args.out)
        except SolutionError as err:
            print(f"{err}\nNo student version written: fix the lines above in the lesson sources.", file=sys.stderr)
            return 1
        for path in written:
            print("wrote", _rel(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
