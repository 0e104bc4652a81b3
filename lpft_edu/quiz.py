"""Pop quizzes in the talk's style: learners commit to a guess, then see the reported answer.

Live (Jupyter, Voila, Colab) a quiz is a widget: guesses, a Reveal button, the answers. Where widgets
are not rendered (a static course page, nbconvert, GitHub's notebook view) the same display carries a
plain HTML version: the question, what to guess, and the answers folded in a ``<details>`` block, so a
static page never pretends to be interactive and never shows the answer before the reader asks.
"""
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
        self.question = question
        self.guesses = guesses
        self.source = source
        self.explanation = explanation
        self.inputs = [widgets.FloatText(value=50.0, description=g.label, style={"description_width": "initial"})
                       for g in guesses]
        self.choice = None
        self.choice_answer = None
        self.choice_prompt = ""
        extra = []
        if choice is not None:
            prompt, options, answer = choice
            self.choice = widgets.RadioButtons(options=options, value=None, description="")
            self.choice_answer = answer
            self.choice_prompt = prompt
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
            f"{rows}</table>{verdict}{self._source_and_explanation()}"
        )
        return self.result.value

    def _source_and_explanation(self) -> str:
        return (f"<p><i>Answers {html.escape(self.source)}.</i></p>"
                + (f"<p>{html.escape(self.explanation)}</p>" if self.explanation else ""))

    def _repr_html_(self) -> str:
        """The static version: question and what to guess, the answers folded until the reader opens them."""
        esc = html.escape
        guesses = "".join(f"<li>{esc(g.label)} ({esc(g.unit)})</li>" if g.unit else f"<li>{esc(g.label)}</li>"
                          for g in self.guesses)
        choice = ""
        if self.choice is not None:
            options = "".join(f"<li>{esc(str(o))}</li>" for o in self.choice.options)
            choice = f"<p><b>{esc(self.choice_prompt)}</b></p><ul>{options}</ul>"
        answers = "".join(f"<tr><td>{esc(g.label)}</td><td><b>{g.reported:g}{esc(g.unit)}</b></td></tr>"
                          for g in self.guesses)
        choice_answer = (f"<p>The answer is <b>{esc(self.choice_answer)}</b>.</p>"
                         if self.choice is not None else "")
        return (
            f'<div class="lpft-pop-quiz"><p><b>Pop quiz.</b> {esc(self.question)}</p>'
            f"<p>Write down your guesses before you open the answer:</p><ul>{guesses}</ul>{choice}"
            "<details><summary>Answer</summary>"
            f"<table><tr><th></th><th>reported</th></tr>{answers}</table>{choice_answer}"
            f"{self._source_and_explanation()}</details></div>"
        )

    def _plain_text(self) -> str:
        lines = [f"Pop quiz. {self.question}", "Guess: " + ", ".join(g.label for g in self.guesses)]
        if self.choice is not None:
            lines.append(f"{self.choice_prompt} ({' / '.join(map(str, self.choice.options))})")
        lines.append("(Run this notebook in Jupyter to enter your guesses and reveal the answers.)")
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs):
        # Frontends that render widgets (JupyterLab, Voila, Colab) pick the widget view; static renderers
        # without widget state fall back to text/html. text/plain replaces the widget's "VBox(...)" repr
        # and, like a closed <details>, does not give the answer away.
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = self._repr_html_()
        bundle["text/plain"] = self._plain_text()
        return bundle
