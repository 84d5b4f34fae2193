"""The quiz as data for the site: every question with the verdicts of its answers.

The site's script (``static/rmcourse-quiz.js``) holds no answer logic. For option questions the
build asks :func:`rmcourse.quiz.answers.check_question` for the verdict and message of every
possible answer (every option; every subset of options for ``multi_choice``) and writes them down;
the script looks the chosen answer up. A numeric question carries its target, tolerance and the
values of its typical mistakes, and the script only compares the typed number with them. A
diagnosis question keeps its training log; the page shows the figure that the lesson drew of it
when it was executed (in the question's static form).

Written under ``_static/quiz/``: ``questions.json`` (the data) and ``questions.js`` (the same data
as a script, because browsers refuse to ``fetch`` a file from a ``file://`` page).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rmcourse.quiz.answers import check_question
from rmcourse.quiz.content import Question

QUIZ_DIR = "quiz"  # under the site's _static/
DATA_GLOBAL = "rmcourseQuiz"  # questions.js sets window.rmcourseQuiz
MAX_MULTI_OPTIONS = 8  # 2**8 answer sets, each checked once at build time


def question_data(question: Question) -> dict[str, Any]:
    """One question as the site's script reads it.

    Examples
    --------
    >>> from rmcourse.quiz.content import question_by_id
    >>> data = question_data(question_by_id("q01"))
    >>> data["kind"], [o["key"] for o in data["options"]], data["responses"]["a"]["correct"]
    ('choice', ['a', 'b', 'c', 'd'], True)
    >>> numeric = question_data(question_by_id("q05"))
    >>> round(numeric["answer"], 4), numeric["tolerance"], "responses" in numeric
    (0.2014, 0.002, False)
    """
    q = question
    data: dict[str, Any] = {
        "id": q.id,
        "lesson": q.lesson,
        "scenario": q.scenario,
        "title": q.title,
        "kind": q.kind,
        "prompt": q.prompt,
        "explanation": q.explanation,
        "log": q.log,
        "options": [{"key": o.key, "text": o.text} for o in q.options],
    }
    if q.kind == "numeric":
        right = next(
            o
            for o in q.options
            if o.value is not None and abs(o.value - float(q.answer)) <= q.tolerance
        )
        data.update(
            answer=float(q.answer),
            tolerance=float(q.tolerance),
            right_feedback=right.feedback,
            mistakes=[
                {"value": o.value, "feedback": o.feedback}
                for o in q.options
                if o.value is not None and o is not right
            ],
        )
        return data
    data["responses"] = {",".join(keys): _verdict(q, keys) for keys in _answers(q)}
    return data


def _answers(question: Question) -> list[list[str]]:
    keys = [o.key for o in question.options]
    if question.kind == "choice":
        return [[k] for k in keys]
    if len(keys) > MAX_MULTI_OPTIONS:
        raise ValueError(
            f"question {question.id!r} has {len(keys)} options; the site checks every answer set "
            f"at build time and takes at most {MAX_MULTI_OPTIONS}"
        )
    return [list(c) for n in range(len(keys) + 1) for c in itertools.combinations(keys, n)]


def _verdict(question: Question, keys: list[str]) -> dict[str, Any]:
    answer: str | list[str] = keys[0] if question.kind == "choice" else keys
    feedback = check_question(question, answer)
    return {"correct": feedback.correct, "message": feedback.message}


def export_quiz(questions: Sequence[Question], static_dir: Path) -> dict[str, Any]:
    """Write the questions under ``static_dir/quiz``; return the data of ``questions.json``."""
    out = Path(static_dir) / QUIZ_DIR
    out.mkdir(parents=True, exist_ok=True)
    data = {"questions": [question_data(q) for q in questions]}
    text = json.dumps(data, ensure_ascii=False, indent=1)
    (out / "questions.json").write_text(text + "\n", encoding="utf-8")
    (out / "questions.js").write_text(f"window.{DATA_GLOBAL} = {text};\n", encoding="utf-8")
    return data
