"""Pop quizzes in the talk's style: learners commit to a guess, then see the reported answer."""
from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets


@dataclass(frozen=True)
class Guess:
    """One number the learner guesses before the reveal."""

    label: str
    reported: float
    unit: str = "%"


class PopQuiz:
    """Numeric guesses (and optionally one multiple-choice question) with a Reveal button.

    ``source`` is shown with the answers, so the reported figures are always labelled as
    the paper's and never as something this package measured.
    """

    def __init__(self, question: str, guesses: list[Guess], source: str,
                 choice: tuple[str, list[str], str] | None = None, explanation: str = ""):
        self.guesses = guesses
        self.source = source
        self.explanation = explanation
        self.inputs = [widgets.FloatText(value=50.0, description=g.label, style={"description_width": "initial"})
                       for g in guesses]
        self.choice = None
        self.choice_answer = None
        extra = []
        if choice is not None:
            prompt, options, answer = choice
            self.choice = widgets.RadioButtons(options=options, value=None, description="")
            self.choice_answer = answer
            extra = [widgets.HTML(f"<b>{html.escape(prompt)}</b>"), self.choice]
        self.button = widgets.Button(description="Reveal", button_style="primary", icon="eye")
        self.result = widgets.HTML()
        self.button.on_click(self.reveal)
        self.widget = widgets.VBox([widgets.HTML(f"<b>Pop quiz.</b> {html.escape(question)}"), *self.inputs, *extra,
                                    self.button, self.result])

    def reveal(self, *_):
        rows = "".join(
            f"<tr><td>{html.escape(g.label)}</td><td>{w.value:g}{g.unit}</td><td><b>{g.reported:g}{g.unit}</b></td>"
            f"<td>{w.value - g.reported:+.1f}</td></tr>"
            for g, w in zip(self.guesses, self.inputs)
        )
        verdict = ""
        if self.choice is not None:
            ok = self.choice.value == self.choice_answer
            verdict = (f"<p>{'Right' if ok else 'Not quite'}: the answer is <b>{html.escape(self.choice_answer)}</b>.</p>"
                       if self.choice.value is not None else
                       f"<p>The answer is <b>{html.escape(self.choice_answer)}</b>.</p>")
        self.result.value = (
            "<table><tr><th></th><th>your guess</th><th>reported</th><th>difference</th></tr>"
            f"{rows}</table>{verdict}<p><i>Answers {html.escape(self.source)}.</i></p>"
            + (f"<p>{html.escape(self.explanation)}</p>" if self.explanation else "")
        )
        return self.result.value

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
