"""The quiz without a kernel: each question as HTML (answers behind ``<details>``) and as text.

Committed notebooks, nbconvert pages and code hosts show these forms; the widgets
(:mod:`rmcourse.quiz.widgets`) hide them while they render, and the course site's script makes
them playable (each question carries ``data-question-id``). No ipywidgets here.
"""

from __future__ import annotations

import base64
import html

from rmcourse.quiz.content import Feedback, Question
from rmcourse.quiz.figures import log_figure_png

# Static (kernel-less) forms carry this class; a rendered widget hides them.
STATIC_CLASS = "rmcourse-static"
RIGHT_COLOUR = "#1a7f37"
WRONG_COLOUR = "#b42318"


HIDDEN_ANSWER = "(The answer is behind the HTML form's toggle, or run the cell and answer.)"


def question_text(question: Question) -> str:
    """One question as plain text, without its answer: a reader that falls back to text (a
    terminal, a text export of the notebook) sees the question before any answer.

    Examples
    --------
    >>> from rmcourse.quiz.content import question_by_id
    >>> print(question_text(question_by_id("q05")).splitlines()[-1])
    (The answer is behind the HTML form's toggle, or run the cell and answer.)
    """
    q = question
    lines = [f"[{q.id}] {q.title}", q.prompt]
    if q.log is not None:
        for panel in q.log["panels"]:
            for name, values in panel["series"].items():
                lines.append(f"  {name}: " + ", ".join(f"{v:g}" for v in values))
    if q.kind != "numeric":
        lines += [f"  ({o.key}) {o.text}" for o in q.options]
    lines.append(HIDDEN_ANSWER)
    return "\n".join(lines)


def question_html(question: Question) -> str:
    """One question as HTML: title, prompt, its log figure, options; the answer behind a toggle."""
    q = question
    parts = [
        f"<div class='rmcourse-question-static' data-question-id='{q.id}' "
        f"style='border-top: 1px solid #d0d7de; margin-top: 8px'>"
        f"{question_header_html(q, live=False)}"
    ]
    if q.log is not None:
        parts.append(img_tag(log_figure_png(q), f"training log of {q.id}"))
    if q.kind == "numeric":
        answer = f"<p><b>Answer:</b> {q.answer:.4f} (accepted within ± {q.tolerance:g})</p>"
        notes = "".join(
            f"<li>{html.escape(o.text)}: {html.escape(o.feedback)}</li>" for o in q.options
        )
        answer += f"<p>Values you may get and why:</p><ul>{notes}</ul>"
    else:
        items = "".join(f"<li>({o.key}) {html.escape(o.text)}</li>" for o in q.options)
        parts.append(f"<ul style='list-style:none'>{items}</ul>")
        keys = _answer_keys(q)
        notes = "".join(
            f"<li>({o.key}) {'✔' if o.key in keys else '✘'} {html.escape(o.feedback)}</li>"
            for o in q.options
        )
        answer = (
            f"<p><b>Answer:</b> {', '.join(f'({k})' for k in keys)}</p>"
            f"<ul style='list-style:none'>{notes}</ul>"
        )
    parts.append(
        f"<details><summary>Show the answer</summary>{answer}"
        f"<p>{html.escape(q.explanation)}</p></details></div>"
    )
    return "".join(parts)


def question_header_html(question: Question, live: bool) -> str:
    """Title and prompt; ``live`` adds how to answer with the widgets."""
    q = question
    hints = {
        "multi_choice": " <i>(select every true statement, then Check)</i>",
        "numeric": " <i>(type a number, then Enter or Check)</i>",
    }
    hint = hints.get(q.kind, "") if live else ""
    return (
        f"<h4 style='margin:4px 0'>{html.escape(q.title)}"
        f" <small style='color:#57606a'>[{q.id}]</small></h4>"
        f"<p style='margin:4px 0'>{html.escape(q.prompt)}{hint}</p>"
    )


def feedback_html(question: Question, result: Feedback) -> str:
    """The verdict on an answer, coloured; the explanation once it is right."""
    colour, mark = (RIGHT_COLOUR, "✔") if result.correct else (WRONG_COLOUR, "✘")
    body = "<br>".join(html.escape(line) for line in result.message.splitlines())
    text = f"<div style='color:{colour}'>{mark} {body}</div>"
    if result.correct:
        text += f"<div style='margin-top:4px'>{html.escape(question.explanation)}</div>"
    return text


def img_tag(png: bytes, alt: str) -> str:
    """An ``<img>`` with the PNG inline (a data URL), so the page needs no other file."""
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'/>"


def static_bundle(page: str, text: str) -> dict[str, str]:
    """The static output of a quiz element: its HTML (marked so widgets can hide it) and text."""
    return {"text/html": f"<div class='{STATIC_CLASS}'>{page}</div>", "text/plain": text}


def _answer_keys(question: Question) -> list[str]:
    return [question.answer] if isinstance(question.answer, str) else list(question.answer)
