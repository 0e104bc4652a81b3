"""One source per lesson: notebooks in sync and output-free, student versions without solutions."""
import json

import jupytext
import pytest

from lpft_edu import authoring


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


def test_sync_check_notices_a_stale_twin(tmp_path, monkeypatch):
    src = tmp_path / "lesson.py"
    src.write_text("# %% [markdown]\n# Hello\n\n# %%\nx = 1\n")
    monkeypatch.setattr(authoring, "REPO", tmp_path)
    authoring.write_notebook(src)
    assert authoring.sync_problems(src) == []
    src.write_text(src.read_text().replace("x = 1", "x = 2"))
    assert "run `make sync`" in authoring.sync_problems(src)[0]


def test_strip_solutions_leaves_a_placeholder_for_each_assigned_name():
    code = ("a = 1\nif a:\n    # BEGIN SOLUTION\n    tmp = secret(a)\n    b = tmp + 1\n"
            "    if b:\n        c = 2\n    # END SOLUTION\ncheck(b)\n")
    out = authoring.strip_solutions(code)
    assert "secret" not in out
    assert out == "a = 1\nif a:\n    tmp = ...  # YOUR CODE HERE\n    b = ...  # YOUR CODE HERE\ncheck(b)\n"
    compile(out, "<student>", "exec")


def test_strip_solutions_without_assignment_raises_in_the_student_version():
    out = authoring.strip_solutions("# BEGIN SOLUTION\nprint(secret())\n# END SOLUTION\n")
    assert "secret" not in out and "raise NotImplementedError(" in out
    compile(out, "<student>", "exec")


def test_unbalanced_markers_are_an_error():
    with pytest.raises(ValueError, match="unbalanced"):
        authoring.strip_solutions("# BEGIN SOLUTION\nx = 1\n")


def test_student_versions_strip_every_solution(tmp_path):
    written = authoring.write_student_versions(tmp_path)
    lesson1 = [p for p in written if p.name == "01_toy_feature_distortion.ipynb"]
    assert lesson1
    for path in written:
        text = path.read_text()
        assert authoring.BEGIN not in text and authoring.END not in text
    nb = jupytext.read(lesson1[0])
    full = jupytext.read(authoring.LESSONS / "01_toy_feature_distortion.py")
    sources = "\n".join(c.source for c in nb.cells)
    assert sources.count("# YOUR CODE HERE") == full_solution_count(full)
    assert "Instructor note" not in sources  # the cell tagged "solution" is dropped
    assert len(nb.cells) == len(full.cells) - sum("solution" in c.metadata.get("tags", []) for c in full.cells)


def full_solution_count(nb):
    return sum(c.source.count(authoring.BEGIN) for c in nb.cells)


def test_student_version_of_lesson_1_runs_and_its_checks_say_not_yet(tmp_path):
    """Students get a notebook that runs top to bottom; every self-check waits for their answer."""
    from nbclient import NotebookClient

    authoring.write_student_versions(tmp_path)
    nb = jupytext.read(tmp_path / "01_toy_feature_distortion.ipynb")
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(authoring.LESSONS)}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert printed.count("Not yet. Set `answer`") == full_solution_count(
        jupytext.read(authoring.LESSONS / "01_toy_feature_distortion.py"))
    assert "Correct!" not in printed


def test_resyncing_an_unchanged_source_keeps_the_notebook_byte_identical(tmp_path, monkeypatch):
    src = tmp_path / "lesson.py"
    src.write_text("# %% [markdown]\n# Hello\n\n# %%\nx = 1\n\n# %%\ny = 2\n")
    monkeypatch.setattr(authoring, "REPO", tmp_path)
    first = authoring.write_notebook(src).read_text()
    assert authoring.write_notebook(src).read_text() == first
