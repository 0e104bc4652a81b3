"""Pop quizzes show the reported figures, labelled with their source, only on reveal."""
from lpft_edu import paper_numbers
from lpft_edu.quiz import Guess, PopQuiz


def make_quiz():
    living = paper_numbers.LIVING17
    return PopQuiz("Guess.", [Guess("LP, OOD", living["LP"][1]), Guess("FT, OOD", living["FT"][1])],
                   source=living["source"], choice=("Which is better OOD?", ["LP", "FT"], "LP"))


def test_answers_hidden_until_reveal_then_labelled_as_reported():
    quiz = make_quiz()
    assert quiz.result.value == ""
    quiz.inputs[0].value = 70.0
    quiz.choice.value = "FT"
    html = quiz.reveal()
    assert "82.2%" in html and "77.7%" in html
    assert "-12.2" in html  # the guess of 70 against the reported 82.2
    assert "reported by Kumar et al. 2022" in html
    assert "Not quite" in html


def test_right_choice_is_acknowledged():
    quiz = make_quiz()
    quiz.choice.value = "LP"
    assert "Right" in quiz.reveal()


def test_reported_tables_are_labelled():
    for table in (paper_numbers.CIFAR_STL, paper_numbers.TEN_SHIFT_AVERAGE, paper_numbers.LIVING17):
        assert table["source"].startswith(paper_numbers.SOURCE)


def test_static_version_shows_question_and_folds_the_answer():
    quiz = make_quiz()
    bundle = quiz._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # live front ends still get the widget
    page = bundle["text/html"]
    assert page == quiz._repr_html_()
    before, _, folded = page.partition("<details><summary>Answer</summary>")
    assert folded, "the answer must sit in a <details> block"
    assert "Guess." in before and "LP, OOD" in before and "Which is better OOD?" in before
    assert "82.2%" in folded and "77.7%" in folded and "The answer is <b>LP</b>" in folded
    assert "reported by Kumar et al. 2022" in folded
    for answer in ("82.2", "77.7"):  # nothing outside the fold gives an answer away
        assert answer not in before and answer not in bundle["text/plain"]
    assert "VBox" not in bundle["text/plain"] and "Guess." in bundle["text/plain"]


def test_static_version_escapes_every_text():
    quiz = PopQuiz("<script>alert(1)</script>", [Guess("a<b", 1.0, unit="<u>")], source="<i>src</i>",
                   choice=("<b>which</b>", ["<x>", "y"], "<x>"), explanation="& more")
    page = quiz._repr_html_()
    for raw in ("<script>", "<b>which</b>", "<x>", "<i>src</i>", "a<b", "<u>"):
        assert raw not in page, raw
    assert "&lt;script&gt;" in page and "&amp; more" in page and "&lt;x&gt;" in page


def test_a_static_page_without_widget_state_renders_the_fallback():
    """nbconvert (like a course page built from a saved notebook) has no widget state: it must pick the
    HTML version, and the answer must arrive folded."""
    import nbformat
    from nbconvert import HTMLExporter

    cell = nbformat.v4.new_code_cell("quiz", outputs=[nbformat.v4.new_output(
        "display_data", data=make_quiz()._repr_mimebundle_())])
    body, _ = HTMLExporter().from_notebook_node(nbformat.v4.new_notebook(cells=[cell]))
    assert "<b>Pop quiz.</b> Guess." in body
    assert "<details><summary>Answer</summary>" in body
