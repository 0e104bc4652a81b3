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
