"""Rendering the quiz: ipywidgets in a live kernel, HTML and plain text everywhere else.

:func:`show` returns a :class:`QuizView` that displays as two outputs rendered from the same
loaded :class:`~rmcourse.quiz.content.Question` objects, so they cannot disagree: a static form
(HTML with every answer behind a ``<details>`` toggle, plus plain text) that committed notebooks,
nbconvert and code hosts show, and the widgets, which need a kernel and hide the static form
while they render. :func:`explorer` is the live loss explorer: two reward sliders, the margin,
σ(Δ), the loss and its gradient, and the point moving on the loss curve.
"""

from __future__ import annotations

import base64
import html
import io
from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import numpy as np

from rmcourse.np_loss import bt_loss, bt_loss_grad, log_sigmoid
from rmcourse.quiz.content import (
    SCENARIOS,
    Feedback,
    Question,
    check_question,
    load_questions,
)

SCENARIO_TITLES = {
    "least_loss": "Which pair contributes the least loss?",
    "primary_effect": "What minimising the loss does to the scores",
    "calculate_loss": "Calculating the loss",
    "diagnose_training": "Diagnosing training",
    "analyze_performance": "Reading a model's loss",
    "loss_behavior": "How the loss behaves",
    "regularized_loss": "Margin and centering terms",
}
FIGURE_DPI = 80
# Static (kernel-less) forms carry this class; a rendered widget hides them.
STATIC_CLASS = "rmcourse-static"
_RIGHT = "#1a7f37"
_WRONG = "#b42318"


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


SESSION_SCORE = Score()


class QuestionWidget:
    """The widget of one question: prompt, inputs, feedback, a retry button.

    ``answer(value)`` answers it from Python exactly as a click or a typed value does.
    """

    def __init__(self, question: Question, score: Score) -> None:
        self.question = question
        self.score = score
        self.last: Feedback | None = None
        self.feedback = widgets.HTML("")
        self.feedback.add_class("rmcourse-feedback")
        self.retry = widgets.Button(description="Try again", icon="undo",
                                    layout=widgets.Layout(display="none"))
        self.retry.add_class("rmcourse-retry")
        self.retry.on_click(lambda _: self.reset())
        self.input, controls = self._make_input()
        header = widgets.HTML(_question_header_html(question, live=True))
        children = [header]
        if question.log is not None:
            children.append(widgets.Image(value=log_figure_png(question), format="png",
                                          layout=widgets.Layout(max_width="760px")))
        children += [self.input, widgets.HBox([*controls, self.retry]), self.feedback]
        self.box = widgets.VBox(children, layout=widgets.Layout(
            border="1px solid #d0d7de", padding="6px 10px", margin="0 0 12px 0"))
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
            self._check_button.click()
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

    def _make_input(self) -> tuple[widgets.Widget, list[widgets.Widget]]:
        q = self.question
        wide = widgets.Layout(width="auto")
        if q.kind == "choice":
            radio = widgets.RadioButtons(
                options=[(f"({o.key}) {o.text}", o.key) for o in q.options], value=None,
                layout=wide)
            radio.observe(self._on_choice, names="value")
            return radio, []
        if q.kind == "multi_choice":
            boxes = widgets.VBox([
                widgets.Checkbox(value=False, description=f"({o.key}) {o.text}", indent=False,
                                 layout=wide)
                for o in q.options
            ])
            boxes.add_class("rmcourse-checkboxes")
            self._check_button = widgets.Button(description="Check", button_style="primary")
            self._check_button.add_class("rmcourse-check")
            self._check_button.on_click(lambda _: self._submit(
                [o.key for box, o in zip(boxes.children, q.options, strict=True) if box.value]))
            return boxes, [self._check_button]
        text = widgets.Text(placeholder="type a number, e.g. 0.1234, then Enter",
                            description="Your answer:", continuous_update=False,
                            style={"description_width": "initial"})
        text.observe(self._on_text, names="value")
        self._check_button = widgets.Button(description="Check", button_style="primary")
        self._check_button.add_class("rmcourse-check")
        self._check_button.on_click(lambda _: self._on_text({"new": text.value}))
        return text, [self._check_button]

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
            self.feedback.value = f"<span style='color:{_WRONG}'>{html.escape(str(exc))}</span>"
            return
        self.last = result
        self.score.record(self.question.id, result.correct)
        self.feedback.value = _feedback_html(self.question, result)
        self.retry.layout.display = None if not result.correct else "none"


class QuizView:
    """Questions with their widgets and a score; displays as widgets, HTML or text."""

    def __init__(self, questions: list[Question], score: Score) -> None:
        self.questions = {q.id: QuestionWidget(q, score) for q in questions}
        self.score = score
        self.score_label = score.label()
        self.widget = widgets.VBox([_hide_static_style(), self.score_label]
                                   + [w.box for w in self.questions.values()])
        self.widget.add_class("rmcourse-quiz")

    def answer(self, question_id: str, value: str | list[str] | float) -> Feedback:
        """Answer one question from Python, as a click would."""
        if question_id not in self.questions:
            raise ValueError(f"{question_id!r} is not shown here; shown: {list(self.questions)}")
        return self.questions[question_id].answer(value)

    def to_html(self) -> str:
        """Every question as HTML, each answer behind a ``<details>`` toggle."""
        parts = [_question_html(w.question) for w in self.questions.values()]
        return "<div class='rmcourse-quiz-static'>" + "\n".join(parts) + "</div>"

    def to_text(self) -> str:
        """Every question as plain text, with its answer."""
        return "\n\n".join(question_text(w.question) for w in self.questions.values())

    def mimebundles(self) -> list[dict[str, Any]]:
        """What displaying the view shows: the static form, then the widgets."""
        return _static_then_widget(self.to_html(), self.to_text(), self.widget)

    def _ipython_display_(self) -> None:
        _display_all(self.mimebundles())


def show(what: str | Question | None = None, score: Score | None = None) -> QuizView:
    """Display quiz questions: the whole quiz, one scenario, or one question.

    Parameters
    ----------
    what : str or Question, optional
        ``None`` for every question, a scenario name (e.g. ``"least_loss"``), a question id, or a
        :class:`Question`.
    score : Score, optional
        The running score to count answers in; default: one score for the whole session.

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
    ['calculate-single-pair', 'calculate-dataset']
    >>> view.answer("calculate-single-pair", 0.5).correct, view.score.text
    (False, 'Score: 0 of 2 solved (1 attempt)')
    >>> "<details>" in view.to_html()
    True
    """
    return QuizView(select_questions(what), SESSION_SCORE if score is None else score)


def select_questions(what: str | Question | None = None) -> list[Question]:
    """The questions :func:`show` displays for ``what`` (see there)."""
    questions = load_questions()
    if what is None:
        return questions
    if isinstance(what, Question):
        return [what]
    if not isinstance(what, str):
        raise TypeError(f"show() takes a scenario, a question id or a Question, got {what!r}")
    if what in SCENARIOS:
        return [q for q in questions if q.scenario == what]
    chosen = [q for q in questions if q.id == what]
    if not chosen:
        raise ValueError(
            f"{what!r} is neither a scenario ({', '.join(SCENARIOS)}) nor a question id "
            f"({', '.join(q.id for q in questions)})"
        )
    return chosen


def _static_then_widget(page: str, text: str, widget: widgets.Widget) -> list[dict[str, Any]]:
    """Two outputs: the static HTML/text form and the widget view.

    Committed notebooks keep only the first (the widget view needs a kernel); with a kernel the
    widget carries a style that hides the static forms, so a live page shows each question once.
    """
    static = {"text/html": f"<div class='{STATIC_CLASS}'>{page}</div>", "text/plain": text}
    live = widget._repr_mimebundle_()
    live["text/plain"] = "(interactive widgets: run this cell in Jupyter to use them)"
    return [static, live]


def _display_all(bundles: list[dict[str, Any]]) -> None:
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


def _hide_static_style() -> widgets.HTML:
    return widgets.HTML(_LIVE_STYLE, layout=widgets.Layout(display="none"))


def question_text(question: Question) -> str:
    """One question as plain text, its answer and explanation at the end.

    Examples
    --------
    >>> from rmcourse.quiz.content import question_by_id
    >>> print(question_text(question_by_id("calculate-single-pair")).splitlines()[-2])
    Answer: 0.2014 (± 0.002)
    """
    q = question
    lines = [f"[{q.id}] {SCENARIO_TITLES[q.scenario]}", q.prompt]
    if q.log is not None:
        for panel in q.log["panels"]:
            for name, values in panel["series"].items():
                lines.append(f"  {name}: " + ", ".join(f"{v:g}" for v in values))
    if q.kind == "numeric":
        lines.append(f"Answer: {q.answer:.4f} (± {q.tolerance:g})")
    else:
        lines += [f"  ({o.key}) {o.text}" for o in q.options]
        keys = [q.answer] if isinstance(q.answer, str) else list(q.answer)
        lines.append("Answer: " + ", ".join(f"({k})" for k in keys))
    lines.append(q.explanation)
    return "\n".join(lines)


def log_figure_png(question: Question) -> bytes:
    """The question's training log drawn as a PNG, one panel per entry of ``log["panels"]``."""
    if question.log is None:
        raise ValueError(f"question {question.id!r} has no training log to draw")
    return _log_png(question)


@lru_cache(maxsize=32)
def _log_png(question: Question) -> bytes:
    import matplotlib.pyplot as plt

    from rmcourse.plots import plot_learning_curves

    panels = question.log["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.0), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        history = {"step": question.log["step"], **panel["series"]}
        plot_learning_curves(history, ax=ax, title=panel["ylabel"], ylabel=panel["ylabel"])
        if "ylim" in panel:
            ax.set_ylim(*panel["ylim"])
    fig.suptitle(f"Training log ({question.id})")
    fig.tight_layout()
    return _png(fig)


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI)
    plt.close(fig)
    return buffer.getvalue()


def _img_tag(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'/>"


def _question_header_html(question: Question, live: bool) -> str:
    """Title and prompt; ``live`` adds how to answer with the widgets."""
    q = question
    hints = {"multi_choice": " <i>(select every true statement, then Check)</i>",
             "numeric": " <i>(type a number, then Enter or Check)</i>"}
    hint = hints.get(q.kind, "") if live else ""
    parts = [f"<h4 style='margin:4px 0'>{html.escape(SCENARIO_TITLES[q.scenario])}"
             f" <small style='color:#57606a'>[{q.id}]</small></h4>",
             f"<p style='margin:4px 0'>{html.escape(q.prompt)}{hint}</p>"]
    return "".join(parts)


def _feedback_html(question: Question, result: Feedback) -> str:
    colour, mark = (_RIGHT, "✔") if result.correct else (_WRONG, "✘")
    body = "<br>".join(html.escape(line) for line in result.message.splitlines())
    text = f"<div style='color:{colour}'>{mark} {body}</div>"
    if result.correct:
        text += f"<div style='margin-top:4px'>{html.escape(question.explanation)}</div>"
    return text


def _question_html(question: Question) -> str:
    q = question
    parts = [f"<div class='rmcourse-question-static' data-question-id='{q.id}' "
             f"style='border-top: 1px solid #d0d7de; margin-top: 8px'>"
             f"{_question_header_html(q, live=False)}"]
    if q.log is not None:
        parts.append(_img_tag(log_figure_png(q), f"training log of {q.id}"))
    if q.kind == "numeric":
        answer = f"<p><b>Answer:</b> {q.answer:.4f} (accepted within ± {q.tolerance:g})</p>"
        notes = "".join(f"<li>{html.escape(o.text)}: {html.escape(o.feedback)}</li>"
                        for o in q.options)
        answer += f"<p>Values you may get and why:</p><ul>{notes}</ul>"
    else:
        items = "".join(f"<li>({o.key}) {html.escape(o.text)}</li>" for o in q.options)
        parts.append(f"<ul style='list-style:none'>{items}</ul>")
        keys = [q.answer] if isinstance(q.answer, str) else list(q.answer)
        notes = "".join(f"<li>({o.key}) {'✔' if o.key in keys else '✘'} "
                        f"{html.escape(o.feedback)}</li>" for o in q.options)
        answer = (f"<p><b>Answer:</b> {', '.join(f'({k})' for k in keys)}</p>"
                  f"<ul style='list-style:none'>{notes}</ul>")
    parts.append(f"<details><summary>Show the answer</summary>{answer}"
                  f"<p>{html.escape(q.explanation)}</p></details></div>")
    return "".join(parts)


class Explorer:
    """Sliders for r(x, y_w) and r(x, y_l) with Δ, σ(Δ), the loss and its gradient, live.

    Examples
    --------
    >>> ex = Explorer(r_chosen=2.0, r_rejected=0.5)
    >>> ex.readout_text()
    'Δ = 1.500 · σ(Δ) = 0.8176 · loss = 0.2014 · ∂L/∂r(x, y_w) = -0.1824 · ∂L/∂r(x, y_l) = 0.1824'
    >>> ex.chosen.value = -1.0
    >>> ex.readout_text().split(" · ")[2]
    'loss = 1.7014'
    """

    def __init__(self, r_chosen: float = 1.0, r_rejected: float = 0.0,
                 limit: float = 6.0) -> None:
        for name, value in (("r_chosen", r_chosen), ("r_rejected", r_rejected)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} must be a number, got {value!r}")
            if not -limit <= value <= limit:
                raise ValueError(f"{name}={value!r} is outside the slider range ±{limit:g}")
        slider = dict(min=-limit, max=limit, step=0.1, continuous_update=True,
                      readout_format=".1f", style={"description_width": "initial"},
                      layout=widgets.Layout(width="420px"))
        self.chosen = widgets.FloatSlider(value=r_chosen, description="r(x, y_w)", **slider)
        self.rejected = widgets.FloatSlider(value=r_rejected, description="r(x, y_l)", **slider)
        self.readout = widgets.HTML()
        self.readout.add_class("rmcourse-explorer-readout")
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="560px"))
        self._figure = _ExplorerFigure(2 * limit)
        for s in (self.chosen, self.rejected):
            s.observe(self._update, names="value")
        self.widget = widgets.VBox([_hide_static_style(), self.chosen, self.rejected,
                                    self.readout, self.plot])
        self.widget.add_class("rmcourse-explorer")
        self._update()

    def values(self) -> dict[str, float]:
        """Δ, σ(Δ), the loss and both gradients at the sliders' values."""
        r_w, r_l = [self.chosen.value], [self.rejected.value]
        margin = self.chosen.value - self.rejected.value
        g_w, g_l = bt_loss_grad(r_w, r_l)
        return {"margin": margin, "sigmoid": float(np.exp(log_sigmoid(margin))),
                "loss": bt_loss(r_w, r_l), "grad_chosen": float(g_w[0]),
                "grad_rejected": float(g_l[0])}

    def readout_text(self) -> str:
        """The readout line, as shown under the sliders."""
        v = self.values()
        return (f"Δ = {v['margin']:.3f} · σ(Δ) = {v['sigmoid']:.4f} · loss = {v['loss']:.4f} · "
                f"∂L/∂r(x, y_w) = {v['grad_chosen']:.4f} · "
                f"∂L/∂r(x, y_l) = {v['grad_rejected']:.4f}")

    def to_html(self) -> str:
        """A static table of the loss and gradient at a few margins, and the current plot."""
        margins = (-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0)
        rows = "".join(
            f"<tr><td>{m:g}</td><td>{np.exp(log_sigmoid(m)):.4f}</td>"
            f"<td>{bt_loss([m], [0.0]):.4f}</td><td>{bt_loss_grad([m], [0.0])[0][0]:.4f}</td></tr>"
            for m in margins)
        return (f"<div class='rmcourse-explorer-static' data-r-chosen='{self.chosen.value:g}' "
                f"data-r-rejected='{self.rejected.value:g}' data-min='{self.chosen.min:g}' "
                f"data-max='{self.chosen.max:g}' data-step='{self.chosen.step:g}'>"
                "<p><i>Run the notebook to move the sliders.</i> The loss of one pair at a few "
                "margins:</p><table><tr><th>Δ</th><th>σ(Δ)</th><th>loss −log σ(Δ)</th>"
                f"<th>∂L/∂r(x, y_w)</th></tr>{rows}</table>"
                + _img_tag(self.plot.value, "pair loss against the margin") + "</div>")

    def _update(self, _: object = None) -> None:
        self.readout.value = f"<code>{html.escape(self.readout_text())}</code>"
        self.plot.value = self._figure.png(self.values())

    def mimebundles(self) -> list[dict[str, Any]]:
        """What displaying the explorer shows: the static form, then the widgets."""
        return _static_then_widget(self.to_html(), self.readout_text(), self.widget)

    def _ipython_display_(self) -> None:
        _display_all(self.mimebundles())


class _ExplorerFigure:
    """The loss and |gradient| curves over the margin, with the current point; redrawn cheaply."""

    def __init__(self, span: float) -> None:
        import matplotlib.pyplot as plt

        self.fig, ax = plt.subplots(figsize=(5.6, 3.0))
        plt.close(self.fig)  # drawn on demand, never shown by pyplot
        grid = np.linspace(-span, span, 401)
        ax.plot(grid, -log_sigmoid(grid), label="loss −log σ(Δ)")
        ax.plot(grid, np.exp(log_sigmoid(-grid)), label="|∂L/∂r(x, y_w)| = σ(−Δ)")
        (self.loss_point,) = ax.plot([], [], "o", color="C0", markersize=8)
        (self.grad_point,) = ax.plot([], [], "o", color="C1", markersize=8)
        ax.set_title("One pair's loss against its margin")
        ax.set_xlabel("margin Δ = r(x, y_w) − r(x, y_l)")
        ax.set_ylabel("loss / gradient magnitude")
        ax.legend(loc="upper right")
        self.fig.tight_layout()

    def png(self, values: dict[str, float]) -> bytes:
        self.loss_point.set_data([values["margin"]], [values["loss"]])
        self.grad_point.set_data([values["margin"]], [-values["grad_chosen"]])
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=FIGURE_DPI)
        return buffer.getvalue()


def explorer(r_chosen: float = 1.0, r_rejected: float = 0.0) -> Explorer:
    """The live loss explorer (see :class:`Explorer`); displays as widgets, HTML or text.

    Examples
    --------
    >>> explorer(0.0, 0.0).values()["loss"] == explorer(3.0, 3.0).values()["loss"]
    True
    """
    return Explorer(r_chosen, r_rejected)

