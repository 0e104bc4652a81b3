"""Lesson 1's text: the course's conventions, and every number it states, checked against the library."""
import re
from pathlib import Path

import jupytext
import numpy as np
import pytest

from lpft_edu import authoring
from lpft_edu.toy import (RESIDUAL_TOL, ToySetup, feature_at_angle, ft_endpoint, lp_head_closed_form,
                          lp_wins_interval, run_toy, sweep_angles)

LESSON = Path(authoring.REPO) / "lessons" / "01_toy_feature_distortion.py"


@pytest.fixture(scope="module")
def cells():
    return jupytext.read(LESSON).cells


@pytest.fixture(scope="module")
def text(cells):
    return authoring.markdown_text(cells)



def test_no_imports_inside_solutions_and_no_replace_the_solution(cells, text):
    for cell in cells:
        if cell.cell_type != "code":
            continue
        for region in re.findall(r"# BEGIN SOLUTION.*?# END SOLUTION", cell.source, re.DOTALL):
            assert not re.search(r"^\s*(import|from)\s", region, re.MULTILINE), region
    assert not re.search(r"replace\s+the\s+solution", text, re.IGNORECASE)


def test_every_think_question_has_a_collapsed_answer(cells):
    thinks = [c.source for c in cells if c.cell_type == "markdown" and "**Think!**" in c.source]
    assert len(thinks) >= 3
    for source in thinks:
        for question in source.split("**Think!**")[1:]:
            assert question.lstrip().split("\n\n")[0]  # the question itself
            assert "<details><summary>Answer</summary>" in question and "</details>" in question
    assert not any("solution" in c.metadata.get("tags", []) and c.cell_type == "markdown" for c in cells), \
        "answers live in <details>, so the student version keeps them (collapsed)"


@pytest.mark.parametrize("term, definition", [
    ("gradient flow", "**Gradient flow and gradient descent.**"),
    ("MoCo-v2", "**MoCo-v2**"),
    ("CIFAR-10.1", "**CIFAR-10.1**"),
])
def test_terms_are_defined_before_use(text, term, definition):
    assert definition in text
    assert text.lower().index(term.lower()) >= text.index(definition), f"'{term}' is used before it is defined"


def test_the_talk_is_cited_where_it_is_quoted(text):
    assert "talk" in text.split("## The smallest model")[0]
    assert "The authors' talk on this paper" in text.split("## References")[1]


def test_first_run_text_and_code_agree_on_the_angle(cells, text):
    code = next(c.source for c in cells if c.cell_type == "code" and "setup = ToySetup(" in c.source)
    angle = float(re.search(r"setup = ToySetup\(angle_deg=(-?\d+)", code).group(1))
    assert angle == -10 and "**−10°**" in text
    assert "good features (10° from" not in text  # the old sentence that said 10 and ran -10


def test_stated_interval_matches_the_library(text):
    lo, hi = lp_wins_interval()
    assert f"{hi:.2f}°" in text and "−45°" in text and round(lo) == -45
    assert "from −44.75° to 7°" in text  # the app's slider grid, pinned in test_toy


def test_numbers_in_the_think_answers():
    at_10 = run_toy(ToySetup(angle_deg=10)).summary()
    assert round(at_10["FT"]["ood_error"], 3) == 0.059 and round(at_10["LP"]["ood_error"], 3) == 0.183
    b0 = feature_at_angle(30)
    assert np.round(b0, 2).tolist() == [0.26, 0.97]
    v_lp = lp_head_closed_form(b0, 1.0)
    assert round(v_lp, 2) == 3.86 and round(v_lp * b0[1], 2) == 3.73
    r30 = run_toy(ToySetup(angle_deg=30))
    assert round(r30.lp.ood_error[-1], 2) == 7.46
    v_ft, b_ft = ft_endpoint(b0, 0.0, 1.0)
    assert round(b_ft[0], 2) == 1.02 and round(v_ft, 2) == 0.98 and round(v_ft * b_ft[1], 2) == 0.95
    assert round(float(r30.ft.b[-1, 0]), 2) == 1.02  # the run agrees with the flow here
    assert round(sweep_angles([0.0]).ft_ood[0], 2) == 0.14 and round(run_toy(ToySetup(angle_deg=0)).ft.ood_error[-1], 2) == 0.14


def test_convergence_tolerance_in_the_text(text):
    assert RESIDUAL_TOL == 1e-6 and "at most $10^{-6}$" in text


def test_small_angle_rate_stated_in_the_text():
    """'near 0 degrees LP's error shrinks like (2 * angle in radians)^2'."""
    for a in (0.5, -0.5, 0.05):
        assert sweep_angles([a]).lp_ood[0] == pytest.approx((2 * np.deg2rad(a)) ** 2, rel=0.05)
