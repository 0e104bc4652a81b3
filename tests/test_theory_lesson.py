"""Lesson 2's text: the course's conventions, nothing given away before it is asked, and the numbers its
text states that tests/test_theory_hypotheses.py does not already pin."""
import re
from pathlib import Path

import jupytext
import matplotlib
import numpy as np
import pytest

from lpft_edu import authoring, theory
from lpft_edu.figures.theory import plot_ratio_sweep
from lpft_edu.linear import construct_instance, drift_by_step, ratio_sweep

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LESSON = Path(authoring.REPO) / "lessons" / "02_linear_theory.py"
DEMO = Path(authoring.REPO) / "lessons" / "demos" / "theory_explorer.py"
DOCS = Path(authoring.REPO) / "docs" / "theory.md"


@pytest.fixture(scope="module")
def cells():
    return jupytext.read(LESSON).cells


@pytest.fixture(scope="module")
def text(cells):
    return authoring.markdown_text(cells)


def test_header_links_the_theory_document(cells):
    """(Duration, prerequisites and glossary: tests/test_authoring.py, for every lesson.)"""
    assert "(../docs/theory.md)" in cells[0].source
    assert DOCS.is_file()


@pytest.mark.parametrize("path", [LESSON, DEMO, DOCS, Path(authoring.REPO) / "lpft_edu" / "theory.py",
                                  Path(authoring.REPO) / "lpft_edu" / "linear.py"])
def test_stands_alone(path):
    source = path.read_text(encoding="utf-8")
    private = "|".join(["paper" + "_notes", "tran" + "scrib", r"\.\./shared"])  # spelled apart: git grep stays clean
    assert not re.search(private, source, re.IGNORECASE)
    assert not re.search(r"versions of the paper differ", source, re.IGNORECASE)


def test_no_imports_inside_solutions_and_no_replace_the_solution(cells, text):
    for cell in cells:
        if cell.cell_type != "code":
            continue
        for region in re.findall(r"# BEGIN SOLUTION.*?# END SOLUTION", cell.source, re.DOTALL):
            assert not re.search(r"^\s*(import|from)\s", region, re.MULTILINE), region
    assert not re.search(r"replace\s+the\s+solution", text, re.IGNORECASE)
    assert authoring.solution_problems(LESSON) == []


def test_every_think_question_has_a_collapsed_answer(cells):
    thinks = [c.source for c in cells if c.cell_type == "markdown" and "**Think!**" in c.source]
    assert len(thinks) >= 3
    for source in thinks:
        for question in source.split("**Think!**")[1:]:
            assert question.lstrip().split("\n\n")[0]
            assert "<details><summary>Answer</summary>" in question and "</details>" in question
    assert not any("solution" in c.metadata.get("tags", []) and c.cell_type == "markdown" for c in cells)


def test_exercise_4_answer_is_not_given_before_it_is_asked(cells, text):
    before = text[:text.index("**Exercise 4.**")]
    assert "slope" not in before.lower()
    assert not re.search(r"\\propto\s*\\varepsilon\^2|ratio falls like", before)
    code_before = "\n".join(c.source for c in cells[:[i for i, c in enumerate(cells)
                                                      if "**Exercise 4.**" in c.source][0]] if c.cell_type == "code")
    assert "slope" not in code_before.replace("check_ratio_slope", "")
    # ... nor in the figure drawn above it.
    fig, ax = plt.subplots()
    plot_ratio_sweep(ax, {"sweep": ratio_sweep(np.geomspace(0.3, 1e-3, 4))}, title="Theorem 3.4")
    labels = [ax.get_title()] + [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)
    assert not any("slope" in label or "eps^2" in label for label in labels)


def test_exercises_name_the_attributes_they_need(text):
    exercises = re.split(r"\*\*Exercise \d\.\*\*", text)[1:]
    assert len(exercises) == 4
    for needed, exercise in zip([("inst.B0", "inst.S_perp"),
                                 ("inst.cos_theta_max", "inst.phi", "inst.eps", "inst.w_star"),
                                 ("inst.X", "inst.Y", "inst.B0"), ("sweep.eps", "sweep.ratio")], exercises):
        for attribute in needed:
            assert f"`{attribute}`" in exercise, attribute


def test_quiz_answer_states_its_hypothesis(cells):
    quiz = next(c.source for c in cells if "PopQuiz(" in c.source)
    assert "never span" in quiz and "strictly above 0" in quiz
    assert "inside the training span" in quiz  # the case where the answer would be wrong


def test_directions_and_hypotheses_are_stated(text):
    goals = text[text.index("**Learning goals.**"):text.index("## Pop quiz")]
    assert "*small* angle" in goals and "vacuous" in goals
    assert "\\mathrm{rank}(XB_0^\\top) = k" in text
    assert "k < \\dim S" in text
    assert "\\cos\\theta_{max}(R_\\star, S) \\ne 0" in text and "\\cos\\theta_{max}(R_\\star, S^\\perp) \\ne 0" in text
    summary = text[text.index("## Summary"):]
    assert "vacuous" in summary and "0.085" in summary and "1.58" in summary and "0.61" in summary


def test_invariant_1_is_rounding_sized_and_drift_halves_with_the_step():
    """The lesson says: invariant 1 of order 1e-15 (below 1e-14); halving the step halves the drift."""
    inst = construct_instance(10, 2, 4, angle_deg=30, eps=0.05, seed=2)
    runs = drift_by_step(inst, cs=(0.1, 0.05, 0.025))
    changes = [theory.sperp_feature_change(r.B, inst.B0, inst.S_perp).max() for r in runs.values()]
    assert all(1e-17 < c < 1e-14 for c in changes)
    drifts = [theory.balancedness_drift(r.v, r.B)[-1] for r in runs.values()]
    assert 1.8 < drifts[0] / drifts[1] < 2.2 and 1.8 < drifts[1] / drifts[2] < 2.2


def test_demo_states_the_measured_move_time_not_a_guess():
    source = DEMO.read_text()
    assert "tenth of a second" not in source
    assert "50 to 80 ms" in source and "benchmarks/run_all.py" in source
