"""The quiz in a live kernel: ipywidgets for each question, a running score, and :func:`show`.

:func:`show` returns a :class:`QuizView` that displays as two outputs rendered from the same
loaded :class:`~rmcourse.quiz.content.Question` objects, so they cannot disagree: the static form
of :mod:`rmcourse.quiz.static` that committed notebooks, nbconvert and code hosts show, and the
widgets, which need a kernel and hide the static form while they render.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from rmcourse.quiz.answers import check_question
from rmcourse.quiz.content import Feedback, Question, select_questions
from rmcourse.quiz.figures import log_figure_png
from rmcourse.quiz.static import (
    STATIC_CLASS,
    WRONG_COLOUR,
    feedback_html,
    question_header_html,
    question_html,
    question_text,
    static_bundle,
)


class Score:
    """A running score over every question shown with it: solved questions and attempts.

    Examples
    --------
    >>> score = Score()
    >>> score.register("q1"); score.register("q2")
    >>> score.record("q1", correct=False); score.record("q1", correct=True)
    >>> score.text
    'Score: 1 of 2 solved (2 attempts)'
    """

    def __init__(self) -> None:
        self._questions: set[str] = set()
        self._solved: set[str] = set()
        self.attempts = 0
        self._labels: list[widgets.HTML] = []

    @property
    def solved(self) -> int:
        """How many questions were answered correctly at least once."""
        return len(self._solved)

    @property
    def text(self) -> str:
        """The score as one line of text."""
        plural = "" if self.attempts == 1 else "s"
        return (
            f"Score: {self.solved} of {len(self._questions)} solved "
            f"({self.attempts} attempt{plural})"
        )

    def register(self, question_id: str) -> None:
        """Count ``question_id`` among the questions shown."""
        self._questions.add(question_id)
        self._refresh()

    def record(self, question_id: str, correct: bool) -> None:
        """Count one attempt at ``question_id``, and the question as solved when ``correct``."""
        self.attempts += 1
        if correct:
            self._solved.add(question_id)
        self._refresh()

    def label(self) -> widgets.HTML:
        """A new widget showing this score, kept up to date."""
        label = widgets.HTML(self._html())
        label.add_class("rmcourse-score")
        self._labels.append(label)
        return label

    def _html(self) -> str:
        return f"<b>{html.escape(self.text)}</b>"

    def _refresh(self) -> None:
        for label in self._labels:
            label.value = self._html()


class QuestionWidget:
    """The widget of one question: prompt, inputs, a Check button (multi-choice and numeric
    questions), feedback and a retry button.

    ``answer(value)`` answers it from Python exactly as a click or a typed value does.
    """

    def __init__(self, question: Question, score: Score) -> None:
        self.question = question
        self.score = score
        self.last: Feedback | None = None
        self.feedback = widgets.HTML("")
        self.feedback.add_class("rmcourse-feedback")
        self.retry = widgets.Button(
            description="Try again", icon="undo", layout=widgets.Layout(display="none")
        )
        self.retry.add_class("rmcourse-retry")
        self.retry.on_click(lambda _: self.reset())
        self.input = self._make_input()
        self.check_button = None
        if question.kind != "choice":  # a click on a choice is its answer
            self.check_button = widgets.Button(description="Check", button_style="primary")
            self.check_button.add_class("rmcourse-check")
            self.check_button.on_click(lambda _: self._on_check())
        children = [widgets.HTML(question_header_html(question, live=True))]
        if question.log is not None:
            children.append(
                widgets.Image(
                    value=log_figure_png(question),
                    format="png",
                    layout=widgets.Layout(max_width="760px"),
                )
            )
        controls = [b for b in (self.check_button, self.retry) if b is not None]
        children += [self.input, widgets.HBox(controls), self.feedback]
        self.box = widgets.VBox(
            children,
            layout=widgets.Layout(
                border="1px solid #d0d7de", padding="6px 10px", margin="0 0 12px 0"
            ),
        )
        self.box.add_class("rmcourse-question")
        self.box.add_class(f"rmcourse-q-{question.id}")
        score.register(question.id)

    def answer(self, value: str | list[str] | float) -> Feedback:
        """Answer the question with ``value`` (an option key, a list of keys, or a number)."""
        q = self.question
        if q.kind != "numeric":
            for key in [value] if isinstance(value, str) else value:
                q.option(key)  # ValueError naming the valid keys
        if q.kind == "multi_choice":
            for box, opt in zip(self.input.children, q.options, strict=True):
                box.value = opt.key in set(value)
            self.check_button.click()
        else:  # set as a user would; the observer checks it (clear first: same value twice)
            self.input.value = None if q.kind == "choice" else ""
            self.input.value = value if q.kind == "choice" else str(value)
        return self.last

    def reset(self) -> None:
        """Clear the answer and the feedback, for another try."""
        q = self.question
        if q.kind == "choice":
            self.input.value = None
        elif q.kind == "multi_choice":
            for box in self.input.children:
                box.value = False
        else:
            self.input.value = ""
        self.feedback.value = ""
        self.retry.layout.display = "none"

    def _make_input(self) -> widgets.Widget:
        q = self.question
        wide = widgets.Layout(width="auto")
        if q.kind == "choice":
            radio = widgets.RadioButtons(
                options=[(f"({o.key}) {o.text}", o.key) for o in q.options], value=None, layout=wide
            )
            radio.observe(self._on_choice, names="value")
            return radio
        if q.kind == "multi_choice":
            boxes = widgets.VBox(
                [
                    widgets.Checkbox(
                        value=False, description=f"({o.key}) {o.text}", indent=False, layout=wide
                    )
                    for o in q.options
                ]
            )
            boxes.add_class("rmcourse-checkboxes")
            return boxes
        text = widgets.Text(
            placeholder="type a number, e.g. 0.1234, then Enter",
            description="Your answer:",
            continuous_update=False,
            style={"description_width": "initial"},
        )
        text.observe(self._on_text, names="value")
        return text

    def _on_check(self) -> None:
        if self.question.kind == "multi_choice":
            options = zip(self.input.children, self.question.options, strict=True)
            self._submit([o.key for box, o in options if box.value])
        else:
            self._on_text({"new": self.input.value})

    def _on_choice(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self._submit(change["new"])

    def _on_text(self, change: dict[str, Any]) -> None:
        if str(change["new"]).strip():
            self._submit(str(change["new"]).strip())

    def _submit(self, value: str | list[str]) -> None:
        try:
            result = check_question(self.question, value)
        except (TypeError, ValueError) as exc:
            self.last = Feedback(False, str(exc))
            self.feedback.value = (
                f"<span style='color:{WRONG_COLOUR}'>{html.escape(str(exc))}</span>"
            )
            return
        self.last = result
        self.score.record(self.question.id, result.correct)
        self.feedback.value = feedback_html(self.question, result)
        self.retry.layout.display = None if not result.correct else "none"


class QuizView:
    """Questions with their widgets and a score; displays as widgets, HTML or text."""

    def __init__(self, questions: list[Question], score: Score) -> None:
        self.questions = {q.id: QuestionWidget(q, score) for q in questions}
        self.score = score
        self.score_label = score.label()
        self.widget = widgets.VBox(
            [hide_static_style(), self.score_label] + [w.box for w in self.questions.values()]
        )
        self.widget.add_class("rmcourse-quiz")

    def answer(self, question_id: str, value: str | list[str] | float) -> Feedback:
        """Answer one question from Python, as a click would."""
        if question_id not in self.questions:
            raise ValueError(f"{question_id!r} is not shown here; shown: {list(self.questions)}")
        return self.questions[question_id].answer(value)

    def to_html(self) -> str:
        """Every question as HTML, each answer behind a ``<details>`` toggle."""
        parts = [question_html(w.question) for w in self.questions.values()]
        return "<div class='rmcourse-quiz-static'>" + "\n".join(parts) + "</div>"

    def to_text(self) -> str:
        """Every question as plain text, without its answer (:func:`question_text`)."""
        return "\n\n".join(question_text(w.question) for w in self.questions.values())

    def mimebundles(self) -> list[dict[str, Any]]:
        """What displaying the view shows: the static form, then the widgets."""
        return static_then_widget(self.to_html(), self.to_text(), self.widget)

    def _ipython_display_(self) -> None:
        display_all(self.mimebundles())


def show(what: str | Question | None = None, score: Score | None = None) -> QuizView:
    """Display quiz questions: the whole quiz, one scenario, or one question.

    Parameters
    ----------
    what : str or Question, optional
        ``None`` for lesson 05's quiz, a scenario name (e.g. ``"least_loss"``), a question id, or a
        :class:`Question` (see :func:`rmcourse.quiz.content.select_questions`).
    score : Score, optional
        The running score to count answers in (pass one :class:`Score` to several views to
        count them together); default: a new score of this view's questions.

    Returns
    -------
    QuizView
        Displayed when it is a cell's last expression: widgets in a live kernel, HTML (answers
        behind ``<details>`` toggles) or text elsewhere. ``view.answer(id, value)`` answers
        from Python.

    Raises
    ------
    ValueError
        If ``what`` is neither a scenario nor a question id.

    Examples
    --------
    >>> view = show("calculate_loss", score=Score())
    >>> list(view.questions)
    ['q05', 'q06']
    >>> view.answer("q05", 0.5).correct, view.score.text
    (False, 'Score: 0 of 2 solved (1 attempt)')
    >>> "<details>" in view.to_html()
    True
    """
    return QuizView(select_questions(what), Score() if score is None else score)


def static_then_widget(page: str, text: str, widget: widgets.Widget) -> list[dict[str, Any]]:
    """Two outputs: the static HTML/text form and the widget view.

    Committed notebooks keep only the first (the widget view needs a kernel); with a kernel the
    widget carries a style that hides the static forms, so a live page shows each question once.
    """
    live = widget._repr_mimebundle_()
    live["text/plain"] = "(interactive widgets: run this cell in Jupyter to use them)"
    return [static_bundle(page, text), live]


def display_all(bundles: list[dict[str, Any]]) -> None:
    """Display each mime bundle as one output."""
    from IPython.display import display

    for bundle in bundles:
        display(bundle, raw=True)


# Page style that comes with the widgets: hide the static forms; let long option labels wrap
# (ipywidgets puts a radio's text before its input, hence row-reverse).
_LIVE_STYLE = f"""<style>
.{STATIC_CLASS} {{display: none}}
.rmcourse-question .widget-radio-box label, .rmcourse-question .widget-checkbox label {{
  display: flex; flex-direction: row-reverse; justify-content: flex-end;
  align-items: flex-start; gap: 6px; height: auto; white-space: normal;
  line-height: 1.35; padding: 2px 0}}
.rmcourse-question .widget-radio-box input {{flex: none; margin: 2px 0 0 0}}
.rmcourse-question .widget-checkbox {{height: auto}}
</style>"""


def hide_static_style() -> widgets.HTML:
    """An invisible widget carrying the style that hides the static forms on a live page."""
    return widgets.HTML(_LIVE_STYLE, layout=widgets.Layout(display="none"))
