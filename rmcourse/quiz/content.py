"""Quiz content: load the questions from package data, validate them, select them.

The questions live in ``questions.json`` beside this module and follow ``questions.schema.json``.
Numbers are data, not prose: a ``least_loss`` option carries its ``rewards``, a ``calculate_loss``
question its ``pairs``, other questions named ``groups`` of pairs or a training ``log``. The
loader fills every loss computed from those numbers into the text (``str.format`` fields such as
``{loss[A]:.3f}``) and rejects content whose answer key disagrees with its numbers
(:mod:`rmcourse.quiz.numbers`), so text, numbers and answers cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from rmcourse.quiz.numbers import (
    Filler,
    check_least_loss,
    check_numeric_content,
    formula_value,
    namespace_of,
    pair_numbers,
)
from rmcourse.validate import against_schema


@dataclass(frozen=True)
class Option:
    """One answer option, with the feedback shown when it is chosen.

    ``rewards`` is the ``(r(x, y_w), r(x, y_l))`` pair of a ``least_loss`` option; ``value`` is
    the number a numeric question's option stands for (the answer, or a typical mistake).
    """

    key: str
    text: str
    feedback: str
    rewards: tuple[float, float] | None = None
    value: float | None = None


@dataclass(frozen=True)
class Question:
    """One quiz question with its options, answer key and explanation, text already filled in."""

    id: str
    scenario: str
    title: str  # the scenario's title, from the content's "scenarios"
    kind: str
    prompt: str
    options: tuple[Option, ...]
    answer: str | tuple[str, ...] | float
    explanation: str
    tolerance: float | None = None
    pairs: tuple[tuple[float, float], ...] = ()
    log: Mapping[str, Any] | None = field(default=None, compare=False)
    lesson: str | None = None  # "06": shown in that lesson; None: lesson 05's quiz

    def option(self, key: str) -> Option:
        """The option with this ``key``; ``ValueError`` naming the valid keys otherwise."""
        for opt in self.options:
            if opt.key == key:
                return opt
        keys = [opt.key for opt in self.options]
        raise ValueError(f"question {self.id!r} has no option {key!r}; its options are {keys}")


@dataclass(frozen=True)
class Feedback:
    """The result of checking one answer: right or wrong, and why."""

    correct: bool
    message: str


def load_questions(content: Mapping[str, Any] | None = None) -> list[Question]:
    """Load, validate and fill in the quiz questions.

    Parameters
    ----------
    content : mapping, optional
        Quiz content in the ``questions.json`` format; default: the package's own questions.

    Returns
    -------
    list of Question
        In file order, every ``{...}`` field filled in from the question's numbers.

    Raises
    ------
    ValueError
        Naming the question id, when the content breaks the schema (unknown scenario, missing
        feedback, ...), ids repeat, an answer is not among the options, a numeric answer
        disagrees with the loss of its pairs, a ``least_loss`` answer is not the option with the
        largest margin, or a text refers to a number the question does not define.

    Examples
    --------
    >>> questions = load_questions()
    >>> q = next(q for q in questions if q.id == "q05")
    >>> q.kind, q.pairs, f"{q.answer:.4f}"
    ('numeric', ((2.0, 0.5),), '0.2014')
    >>> sorted({q.scenario for q in questions}) == sorted(SCENARIOS)
    True
    """
    if content is None:
        return list(_package_questions())
    _validate_schema(content)
    questions = []
    seen: set[str] = set()
    for raw in content["questions"]:
        if raw["id"] in seen:
            raise ValueError(f"question id {raw['id']!r} is used twice; ids must be unique")
        seen.add(raw["id"])
        if raw["scenario"] not in content["scenarios"]:
            raise ValueError(
                f"question {raw['id']!r}: scenario {raw['scenario']!r} is not one of the "
                f"content's scenarios {list(content['scenarios'])}"
            )
        questions.append(_build_question(raw, content["scenarios"][raw["scenario"]]))
    return questions


def question_by_id(question_id: str) -> Question:
    """The package question with this id; ``ValueError`` listing the known ids otherwise."""
    for question in _package_questions():
        if question.id == question_id:
            return question
    known = [q.id for q in _package_questions()]
    raise ValueError(f"no quiz question with id {question_id!r}; known ids: {known}")


def select_questions(what: str | Question | None = None) -> list[Question]:
    """The package's questions for ``what``: ``None`` for lesson 05's quiz (every question that
    belongs to no other lesson), a scenario name, a question id, or a :class:`Question` itself.

    Examples
    --------
    >>> [q.id for q in select_questions("calculate_loss")]
    ['q05', 'q06']
    """
    questions = load_questions()
    if what is None:
        return [q for q in questions if q.lesson is None]
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


@lru_cache(maxsize=1)
def _package_questions() -> tuple[Question, ...]:
    return tuple(load_questions(_read_json("questions.json")))


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return _read_json("questions.schema.json")


def _read_json(name: str) -> dict[str, Any]:
    text = resources.files("rmcourse.quiz").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


def _validate_schema(content: Mapping[str, Any]) -> None:
    against_schema(content, _schema(), "quiz content", "questions", "question")


def _build_question(raw: Mapping[str, Any], title: str) -> Question:
    qid = raw["id"]
    namespace = namespace_of(raw)
    fill = Filler(qid, namespace)
    pairs = tuple((float(w), float(lo)) for w, lo in raw.get("pairs", ()))
    options = tuple(_build_option(raw, opt, fill) for opt in raw["options"])
    keys = [o.key for o in options]
    if len(set(keys)) != len(keys):
        raise ValueError(f"question {qid!r} repeats an option key: {keys}")
    answer = raw["answer"]
    if raw["kind"] == "numeric":
        check_numeric_content(qid, float(answer), float(raw["tolerance"]), options, namespace)
        answer = namespace["loss"]  # the stored 4-decimal answer, unrounded
    else:
        wanted = [answer] if isinstance(answer, str) else list(answer)
        for key in wanted:
            if key not in keys:
                raise ValueError(
                    f"question {qid!r}: answer {key!r} is not among its options {keys}"
                )
        if raw["kind"] == "multi_choice":
            answer = tuple(answer)
    if raw["scenario"] == "least_loss":
        check_least_loss(qid, options, answer)
    return Question(
        id=qid,
        scenario=raw["scenario"],
        title=title,
        kind=raw["kind"],
        prompt=fill(raw["prompt"], "prompt"),
        options=options,
        answer=answer,
        explanation=fill(raw["explanation"], "explanation"),
        tolerance=float(raw["tolerance"]) if "tolerance" in raw else None,
        pairs=pairs,
        log=raw.get("log"),
        lesson=raw.get("lesson"),
    )


def _build_option(raw: Mapping[str, Any], opt: Mapping[str, Any], fill: Filler) -> Option:
    where = f"option {opt['key']!r}"
    if "rewards" in opt:
        r_w, r_l = (float(v) for v in opt["rewards"])
        local, numbers = pair_numbers(r_w, r_l)
        option_fill = fill.with_values(local)
        text = option_fill(opt.get("text", f"r(x, y_w) = {r_w:g}, r(x, y_l) = {r_l:g}"), where)
        return Option(
            opt["key"], text, numbers + option_fill(opt["feedback"], where), rewards=(r_w, r_l)
        )
    if "formula" in opt:
        value = formula_value(raw, opt["formula"])
        text = f"{value:.4f} ({opt['formula'].replace('_', ' ')})"
        return Option(opt["key"], text, fill(opt["feedback"], where), value=value)
    return Option(opt["key"], fill(opt["text"], where), fill(opt["feedback"], where))


SCENARIOS: tuple[str, ...] = tuple(_read_json("questions.json")["scenarios"])
"""The package's scenario names, in order; their titles are in ``questions.json``."""
