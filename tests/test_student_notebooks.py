"""The committed student notebooks (student/) are exactly what `make student` writes, and each runs top
to bottom in fast mode with every exercise answerable.

Binder and Colab badges open student/, so these files are what learners get. The whole file is marked
``slow`` so that it can be left out while lessons are being edited (``-m "not slow"``) and run last,
after ``make student`` has been run and student/ committed. A missing student/ is a failure, not a
skip: a repository without it sends every learner to notebooks that do not exist.
"""
from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from lpft_edu import authoring
from lpft_edu.exercises import CORRECT, NOT_YET

pytestmark = pytest.mark.slow

STUDENT = authoring.REPO / "student"
FIX = "run `make student` and commit student/"
MISSING = f"student/ does not exist: {FIX}"


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*")
                  if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts)


def _cells(path: Path) -> list[tuple[str, str, str | None]]:
    """(cell type, source, id) of each cell; a .py file has no ids (jupytext makes new ones on reading)."""
    if path.suffix == ".ipynb":
        return [(c.cell_type, c.source, c.get("id")) for c in nbformat.read(path, as_version=4).cells]
    return [(c.cell_type, c.source, None) for c in jupytext.read(path).cells]


def test_committed_student_folder_is_what_make_student_writes(tmp_path):
    if not STUDENT.is_dir():
        pytest.fail(MISSING)
    fresh = tmp_path / "student"
    authoring.write_student_versions(fresh)
    expected, committed = _files(fresh), _files(STUDENT)
    missing = [f"student/{p}" for p in expected if p not in committed]
    extra = [f"student/{p}" for p in committed if p not in expected]
    assert not missing, f"missing {missing}: {FIX}"
    assert not extra, f"{extra} come from no lesson: delete them, then {FIX}"
    for rel in expected:
        want, got = _cells(fresh / rel), _cells(STUDENT / rel)
        assert len(got) == len(want), f"student/{rel} has {len(got)} cells, `make student` writes {len(want)}: {FIX}"
        for i, (w, g) in enumerate(zip(want, got)):
            assert g == w, f"student/{rel}, cell {i} ({w[0]}, id {w[2]}) differs from what `make student` writes: {FIX}"
    for rel in expected:
        if rel.suffix == ".ipynb":
            nb = nbformat.read(STUDENT / rel, as_version=4)
            assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"student/{rel} carries outputs"


def test_make_student_is_deterministic(tmp_path):
    """Two runs write byte-identical notebooks, so student/ only changes when a lesson does."""
    first, second = tmp_path / "a", tmp_path / "b"
    authoring.write_student_versions(first)
    authoring.write_student_versions(second)
    for rel in _files(first):
        if rel.suffix == ".ipynb":
            assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_student_text_never_gives_away_or_says_replace_the_solution():
    for source in authoring.student_sources():
        nb = authoring.student_notebook(source)
        text = "\n".join(c.source for c in nb.cells)
        assert authoring.BEGIN not in text and authoring.END not in text, source.name
        found = re.search(r"replace\s+the\s+solution", text, re.IGNORECASE)
        assert found is None, f"{source.name}: the student version says {found and found.group(0)!r}; learners have no solution"
        assert any(authoring.YOUR_CODE in c.source for c in nb.cells if c.cell_type == "code"), source.name


# -- every student notebook runs, and every exercise accepts a correct answer --------------------------

def _exercise_cells(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and authoring.YOUR_CODE in c.source]


def _cases():
    if not STUDENT.is_dir():
        return [pytest.param(None, None, id="student-missing")]
    cases = []
    for path in sorted(STUDENT.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        rel = path.relative_to(STUDENT)
        nb = nbformat.read(path, as_version=4)
        cells = _exercise_cells(nb)
        cases += [pytest.param(rel, nb.cells[i].id, id=f"{rel.stem}-exercise-{k}") for k, i in enumerate(cells, 1)]
        if not cells:
            cases.append(pytest.param(rel, None, id=f"{rel.stem}-no-exercises"))
    return cases


def _verdicts(cell) -> list[str]:
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    return [line for line in text.splitlines() if line.startswith((CORRECT.strip(), NOT_YET.strip()))]


@pytest.mark.parametrize("rel, exercise_id", _cases())
def test_student_notebook_runs_and_accepts_a_correct_answer(rel, exercise_id):
    """Fill in ONE exercise with the instructor's solution, run the student notebook top to bottom in
    fast mode, and read every self-check's printed verdict.

    One exercise at a time (one run per exercise) rather than all at once, because only that shows
    what a learner meets: each exercise can be answered on its own (a learner stuck on exercise 1 can
    still do exercise 2; an exercise whose correct answer only passes when an earlier one is solved
    fails here), an unanswered exercise never breaks a later cell, and every check says "Not yet" to
    the untouched placeholder. A run with all answers filled in would show none of the three. The
    price is one notebook run per exercise, in fast mode.

    The filled-in cell is the instructor's cell (same id): the student cell with its placeholder
    replaced by the solution region; the sync test above guarantees the rest of the cell is the same.
    """
    from nbclient import NotebookClient

    if rel is None:
        pytest.fail(MISSING)
    path = STUDENT / rel
    nb = nbformat.read(path, as_version=4)
    exercises = _exercise_cells(nb)
    if exercise_id is not None:
        source = authoring.LESSONS / rel.with_suffix(".py")
        instructor = {c.id: c for c in authoring.instructor_notebook(source).cells}
        if exercise_id not in instructor:
            pytest.fail(f"student/{rel}: cell {exercise_id} is not in {source.name} any more: {FIX}")
        filled = next(i for i in exercises if nb.cells[i].id == exercise_id)
        nb.cells[filled].source = instructor[exercise_id].source
    # Run where a student runs it (student/ sits next to lessons/, so relative paths resolve alike).
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for i in exercises:
        verdicts = _verdicts(nb.cells[i])
        name = f"student/{rel}, exercise {exercises.index(i) + 1}"
        assert len(verdicts) == 1, f"{name} printed {len(verdicts)} verdicts: {verdicts}"
        if nb.cells[i].id == exercise_id:
            assert verdicts[0].startswith(CORRECT.strip()), f"{name}: the instructor's answer got {verdicts[0]!r}"
        else:
            assert verdicts[0].startswith(NOT_YET.strip()), f"{name}: the untouched placeholder got {verdicts[0]!r}"
