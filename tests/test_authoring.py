"""One source per lesson: notebooks in sync and output-free, student versions without solutions.

The student versions of the real lessons are built and executed in tests/test_student_notebooks.py;
this file tests the machinery on small synthetic lessons, plus the lessons' sync state.
"""
import json
import re

import jupytext
import nbformat
import pytest

from lpft_edu import authoring, launch
from lpft_edu.exercises import not_answered, passed, verdict

LESSON = """# %% [markdown]
# # A lesson

# %%
import numpy as np

# %% [markdown]
# **Exercise 1.** Compute the mean.

# %%
data = np.arange(4.0)
# BEGIN SOLUTION
total = data.sum()
answer = total / len(data)
# END SOLUTION
print(answer)

# %% [markdown]
# *Think!* Why the mean?
#
# <details><summary>Answer</summary>
#
# Because it is **unbiased**.
#
# </details>

# %% [markdown] tags=["solution"]
# *Instructor note.* Secret.
"""


def write_lesson(tmp_path, text=LESSON, name="lesson.py"):
    src = tmp_path / name
    src.write_text(text)
    return src


@pytest.fixture
def in_tmp_repo(tmp_path, monkeypatch):
    monkeypatch.setattr(authoring, "REPO", tmp_path)
    monkeypatch.setattr(authoring, "LESSONS", tmp_path)
    return tmp_path


def test_every_lesson_source_has_an_in_sync_output_free_twin():
    sources = authoring.lesson_sources()
    assert any(s.name.startswith("01_") for s in sources)
    problems = [p for s in sources for p in authoring.sync_problems(s)]
    assert not problems, "\n".join(problems)


def test_every_committed_notebook_has_a_source():
    notebooks = [p for p in authoring.LESSONS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
    for nb in notebooks:
        assert nb.with_suffix(".py").exists(), f"{nb} has no py:percent source"
        cells = json.loads(nb.read_text())["cells"]
        assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code"), f"{nb} carries outputs"


def test_no_lesson_has_an_import_or_a_broken_think_block_in_a_solution():
    """The check behind `python -m lpft_edu.authoring check`, on the real lessons."""
    problems = [p for s in authoring.lesson_sources() for p in authoring.solution_problems(s)]
    assert not problems, "\n".join(problems)


def test_sync_check_notices_a_stale_twin(in_tmp_repo):
    src = write_lesson(in_tmp_repo, "# %% [markdown]\n# Hello\n\n# %%\nx = 1\n")
    authoring.write_notebook(src)
    assert authoring.sync_problems(src) == []
    src.write_text(src.read_text().replace("x = 1", "x = 2"))
    assert "run `make sync`" in authoring.sync_problems(src)[0]


def test_sync_with_paths_rewrites_only_those_lessons(in_tmp_repo):
    a = write_lesson(in_tmp_repo, "# %%\na = 1\n", "a.py")
    b = write_lesson(in_tmp_repo, "# %%\nb = 1\n", "b.py")
    assert authoring.main(["sync"]) == 0  # no PATH: every lesson
    assert authoring.sync_problems(a) == authoring.sync_problems(b) == []
    a.write_text("# %%\na = 2\n")
    b.write_text("# %%\nb = 2\n")
    assert authoring.main(["sync", str(a.with_suffix(".ipynb"))]) == 0  # the twin's name works too
    assert authoring.sync_problems(a) == []
    assert authoring.sync_problems(b), "b was not named, so its twin must stay stale"


def test_sync_refuses_a_path_that_is_not_a_lesson(in_tmp_repo):
    (in_tmp_repo / "notes.py").write_text("x = 1\n")
    with pytest.raises(SystemExit, match="not a lesson source"):
        authoring.main(["sync", str(in_tmp_repo / "notes.py")])
    with pytest.raises(SystemExit, match="not a lesson source"):
        authoring.main(["sync", str(in_tmp_repo / "missing.py")])


def test_resyncing_an_unchanged_source_keeps_the_notebook_byte_identical(in_tmp_repo):
    src = write_lesson(in_tmp_repo, "# %% [markdown]\n# Hello\n\n# %%\nx = 1\n\n# %%\ny = 2\n")
    first = authoring.write_notebook(src).read_text()
    assert authoring.write_notebook(src).read_text() == first


def test_inserting_a_cell_keeps_the_other_cells_ids(in_tmp_repo):
    src = write_lesson(in_tmp_repo, "# %%\nx = 1\n\n# %%\ny = 2\n\n# %%\nz = 3\n")
    before = [c.id for c in nbformat.read(authoring.write_notebook(src), as_version=4).cells]
    src.write_text("# %%\nx = 1\n\n# %%\nnew = 0\n\n# %%\ny = 2\n\n# %%\nz = 3\n")
    after = [c.id for c in nbformat.read(authoring.write_notebook(src), as_version=4).cells]
    assert [after[0], after[2], after[3]] == before
    assert len(set(after)) == 4


def test_strip_solutions_announces_the_names_the_later_code_reads():
    code = ("a = 1\nif a:\n    # BEGIN SOLUTION\n    tmp = secret(a)\n    b = tmp + 1\n"
            "    if b:\n        c = 2\n    # END SOLUTION\ncheck(b)\n")
    out = authoring.strip_solutions(code)
    assert "secret" not in out and "tmp" not in out  # a helper name would hint at the solution's shape
    assert out == ("a = 1\nif a:\n    b = ...  # YOUR CODE HERE: compute b, then run the self-check below\n"
                   "check(b)\n")
    compile(out, "<student>", "exec")
    # a name only a later cell reads is announced too
    later = authoring.strip_solutions("# BEGIN SOLUTION\nx = 1\ny = 2\n# END SOLUTION\n", later="print(y)")
    assert later == "y = ...  # YOUR CODE HERE: compute y, then run the self-check below\n"


def test_strip_solutions_without_assignment_keeps_the_notebook_running():
    out = authoring.strip_solutions("if True:\n    # BEGIN SOLUTION\n    print(secret())\n    # END SOLUTION\n")
    assert "secret" not in out and "YOUR CODE HERE" in out
    exec(compile(out, "<student>", "exec"), {})  # the student version runs on (no NotImplementedError)


def test_unbalanced_markers_are_an_error():
    with pytest.raises(ValueError, match="unbalanced"):
        authoring.strip_solutions("# BEGIN SOLUTION\nx = 1\n")


@pytest.mark.parametrize("statement", ["import numpy as np", "from numpy import linalg",
                                       "import numpy as np  # noqa: E402"])
def test_an_import_inside_a_solution_region_is_refused_with_its_line(statement):
    code = f"x = 1\n# BEGIN SOLUTION\n{statement}\n\nanswer = 2\n# END SOLUTION\ncheck(answer)\n"
    with pytest.raises(authoring.SolutionError, match=rf"lesson.py:3: `{re.escape(statement)}` is inside a solution"):
        authoring.strip_solutions(code, where="lesson.py")
    # an import that only appears in a string or a comment is not an import
    assert "import" not in authoring.strip_solutions(
        "# BEGIN SOLUTION\nanswer = 'import os'  # no import here\n# END SOLUTION\ncheck(answer)\n")


def test_check_and_student_refuse_a_lesson_with_an_import_in_a_solution(in_tmp_repo, capsys):
    text = LESSON.replace("total = data.sum()\n", "import math\ntotal = math.fsum(data)\n")
    src = write_lesson(in_tmp_repo, text)
    authoring.write_notebook(src)
    line = text.splitlines().index("import math") + 1
    assert authoring.main(["check"]) == 1
    assert f"lesson.py:{line}: `import math` is inside a solution region" in capsys.readouterr().out
    out = in_tmp_repo / "student"
    assert authoring.main(["student", "--out", str(out)]) == 1
    assert f"lesson.py:{line}: `import math`" in capsys.readouterr().err
    assert not out.exists(), "nothing is written when a lesson is refused"


@pytest.mark.parametrize("think, message", [
    ("<details><summary>Answer</summary>\n# Yes.", "opens 1 <details> and closes 0"),
    ("<details>\n# Yes.\n# </details>", "without <summary>"),
    ("<details open><summary>Answer</summary>\n# Yes.\n# </details>", "<details open> shows the answer"),
])
def test_check_flags_think_blocks_that_would_not_fold(in_tmp_repo, think, message):
    src = write_lesson(in_tmp_repo, f"# %% [markdown]\n# *Think!* Why?\n#\n# {think}\n\n# %%\nx = 1\n")
    assert any(message in p for p in authoring.solution_problems(src)), authoring.solution_problems(src)
    assert authoring.solution_problems(write_lesson(in_tmp_repo, LESSON)) == []


def test_student_version_strips_solutions_keeps_think_answers_folded_and_says_what_to_do(in_tmp_repo):
    src = write_lesson(in_tmp_repo, LESSON)
    authoring.write_notebook(src)
    nb = authoring.student_notebook(src)
    text = "\n".join(c.source for c in nb.cells)
    assert "data.sum()" not in text and "total" not in text and "Secret" not in text
    assert "answer = ...  # YOUR CODE HERE: compute answer, then run the self-check below" in text
    assert "import numpy as np" in text
    # the Think! answer passes through unchanged: plain HTML that notebook front ends show folded
    think = [c.source for c in nb.cells if "<details>" in c.source]
    assert think == [c.source for c in jupytext.read(src).cells if "<details>" in c.source]
    assert re.search(r"<details><summary>Answer</summary>\s+Because it is \*\*unbiased\*\*.\s+</details>", think[0])
    # a note under the title tells the learner what to do, and mentions the folded answers
    assert nb.cells[1].id == authoring.STUDENT_NOTE_ID and "Think!" in nb.cells[1].source
    assert nb.cells[0].source.startswith("# A lesson")


def test_student_facing_text_never_says_replace_the_solution():
    inserted = [authoring.PLACEHOLDER_NOTE, authoring.FREE_PLACEHOLDER, authoring.STUDENT_NOTE, authoring.THINK_NOTE]
    for text in inserted:
        assert "replace" not in text.lower() and "solution" not in text.lower(), text


def test_student_version_keeps_the_instructor_notebooks_cell_ids(in_tmp_repo):
    src = write_lesson(in_tmp_repo, LESSON)
    instructor = nbformat.read(authoring.write_notebook(src), as_version=4)
    first, second = authoring.student_notebook(src), authoring.student_notebook(src)
    assert [c.id for c in first.cells] == [c.id for c in second.cells]
    ids = {c.id: c for c in instructor.cells}
    for cell in first.cells:
        assert cell.id == authoring.STUDENT_NOTE_ID or ids[cell.id].cell_type == cell.cell_type


def test_write_student_versions_writes_one_notebook_per_lesson_and_skips_demos(in_tmp_repo):
    write_lesson(in_tmp_repo, LESSON, "01_a.py")
    (in_tmp_repo / "demos").mkdir()
    write_lesson(in_tmp_repo / "demos", "# %%\nx = 1\n", "demo.py")
    written = authoring.write_student_versions(in_tmp_repo / "student")
    assert sorted(p.name for p in written) == ["01_a.ipynb"]  # no .py copy of the lesson
    assert sorted(p.name for p in (in_tmp_repo / "student").rglob("*") if p.is_file()) == ["01_a.ipynb"]
    for path in written:
        text = path.read_text()
        assert authoring.BEGIN not in text and authoring.END not in text and "Secret" not in text


def test_placeholders_count_as_not_answered():
    for unanswered in (None, ..., {0: ..., 1: 2}, [1.0, ...], (..., ...)):
        assert not_answered(unanswered), unanswered
    for answered in (0, 0.0, [1.0, 2.0], {0: 0}, "text"):
        assert not not_answered(answered), answered


def test_passed_refuses_a_check_with_two_verdicts_or_none(capsys):
    def twice(answer):
        verdict(True, "first")
        verdict(False, "second")

    with pytest.raises(RuntimeError, match="more than one verdict"):
        passed(twice, 1)
    with pytest.raises(RuntimeError, match="no verdict"):
        passed(lambda answer: None, 1)
    assert passed(lambda answer: verdict(answer == 1, "ok"), 1)
    assert capsys.readouterr().out.splitlines()[-1] == "Correct! ok"


def glossary_anchor(heading: str) -> str:
    """The anchor GitHub (and MyST with myst_heading_anchors) gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_glossary_is_alphabetical_and_every_link_to_it_resolves():
    glossary = authoring.REPO / "docs" / "glossary.md"
    headings = re.findall(r"(?m)^### (.+)$", glossary.read_text())
    assert len(headings) >= 30
    assert headings == sorted(headings, key=str.casefold), "glossary terms must stay in alphabetical order"
    anchors = {glossary_anchor(h) for h in headings}
    assert {"gradient-flow", "lp-ft", "moco-v2", "cifar-101", "principal-angle"} <= anchors
    linking = [*authoring.lesson_sources(), *authoring.REPO.glob("*.md"), *(authoring.REPO / "docs").glob("*.md")]
    broken = [f"{p.name}: #{a}" for p in linking for a in re.findall(r"glossary\.md#([\w\-]+)", p.read_text())
              if a not in anchors]
    assert not broken, "links to glossary terms that do not exist:\n" + "\n".join(broken)


# -- launch cells (Colab and Binder badges, the Colab install cell) -----------------------------------

def _launch_cells(nb):
    return [(i, c.metadata.get("tags")) for i, c in enumerate(nb.cells) if authoring.is_launch_cell(c)]


def test_launch_inserts_badges_under_the_title_and_the_colab_cell_first_and_is_idempotent(in_tmp_repo, capsys):
    src = write_lesson(in_tmp_repo, LESSON, "01_a.py")
    authoring.write_notebook(src)
    assert authoring.main(["check"]) == 1
    assert "01_a.py: the launch cells (Colab/Binder badges, Colab install cell) are missing" in capsys.readouterr().out
    assert authoring.main(["launch", str(src)]) == 0
    nb = jupytext.read(src)
    assert _launch_cells(nb) == [(1, [launch.BADGES_TAG]), (2, [launch.COLAB_TAG])]
    assert nb.cells[0].source.startswith("# A lesson") and nb.cells[3].source == "import numpy as np"
    assert launch.colab_url("lessons/01_a.ipynb") in nb.cells[1].source
    assert launch.binder_url("student/01_a.ipynb") in nb.cells[1].source
    assert launch.pip_requirement() in nb.cells[2].source
    once, twin = src.read_text(), src.with_suffix(".ipynb").read_text()
    assert authoring.main(["launch", str(src)]) == 0
    assert src.read_text() == once and src.with_suffix(".ipynb").read_text() == twin
    assert authoring.main(["check"]) == 0


def test_check_notices_an_edited_or_moved_launch_cell(in_tmp_repo, capsys):
    src = write_lesson(in_tmp_repo, LESSON, "01_a.py")
    authoring.write_launch_cells(src)
    assert authoring.launch_problems(src) == []
    edited = src.read_text().replace("github.com/", "example.org/", 1)
    src.write_text(edited)
    authoring.write_notebook(src)
    assert authoring.main(["check"]) == 1
    assert "differ from what the tool writes" in capsys.readouterr().out
    authoring.write_launch_cells(src)
    nb = jupytext.read(src)
    nb.cells.insert(5, nb.cells.pop(2))  # the Colab cell no longer first among the code cells
    jupytext.write(nb, src, fmt="py:percent")
    assert authoring.launch_problems(src) != []
    authoring.write_launch_cells(src)
    assert authoring.launch_problems(src) == [] and len(_launch_cells(jupytext.read(src))) == 2


def test_student_version_keeps_the_launch_cells_with_badges_for_the_student_notebook(in_tmp_repo):
    src = write_lesson(in_tmp_repo, LESSON, "01_a.py")
    authoring.write_launch_cells(src)
    nb = authoring.student_notebook(src)
    [badges] = [c for c in nb.cells if launch.BADGES_TAG in c.metadata.get("tags", [])]
    assert badges.source == launch.badges_markdown("01_a", student=True)
    assert "student/01_a.ipynb" in badges.source and "lessons/01_a.ipynb" not in badges.source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert launch.COLAB_TAG in code[0].metadata.get("tags", []) and launch.pip_requirement() in code[0].source


@pytest.mark.parametrize("source", authoring.student_sources(), ids=lambda s: s.stem)
def test_every_lesson_opens_with_duration_prerequisites_and_the_glossary(source):
    head = jupytext.read(source).cells[0].source
    assert re.search(r"Duration: about \d+ minutes", head), source.name
    assert "Prerequisites:" in head, source.name
    assert "[glossary](../docs/glossary.md)" in head, source.name

