"""Quiz content: load the questions from package data, validate them, select them.

The questions live in ``questions.json`` beside this module and follow ``questions.schema.json``.
Numbers are data, not prose: a ``least_loss`` option carries its ``rewards``, a ``calculate_loss``
question its ``pairs``, other questions named ``groups`` of pairs or a training ``log``. The
loader computes every loss from those numbers with :mod:`rmcourse.np_loss` and fills it into the
text (``str.format`` fields such as ``{loss[A]:.3f}``), and it rejects content whose answer key
disagrees with its numbers, so text, numbers and answers cannot drift apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from string import Formatter
from typing import Any

import jsonschema
import numpy as np

from rmcourse.np_loss import bt_loss, bt_loss_grad, log_sigmoid

# A stored numeric answer is written to 4 decimals: it must be its pairs' mean loss, rounded.
ANSWER_DECIMALS = 4


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
    >>> q = next(q for q in questions if q.id == "calculate-single-pair")
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
    ['calculate-single-pair', 'calculate-dataset']
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
    if not isinstance(content, Mapping):
        raise TypeError(f"quiz content must be a mapping, got {type(content).__name__}")
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(content), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    path = list(error.absolute_path)
    where = "quiz content"
    if len(path) >= 2 and path[0] == "questions":
        raw = content["questions"][path[1]]
        qid = raw.get("id", f"#{path[1]}") if isinstance(raw, Mapping) else f"#{path[1]}"
        where = f"question {qid!r}"
        path = path[2:]
    location = "/".join(str(p) for p in path) or "(top level)"
    raise ValueError(f"{where}: {location}: {error.message}")


def _build_question(raw: Mapping[str, Any], title: str) -> Question:
    qid = raw["id"]
    namespace = _namespace(raw)
    fill = _Filler(qid, namespace)
    pairs = tuple((float(w), float(lo)) for w, lo in raw.get("pairs", ()))
    options = tuple(_build_option(raw, opt, fill) for opt in raw["options"])
    keys = [o.key for o in options]
    if len(set(keys)) != len(keys):
        raise ValueError(f"question {qid!r} repeats an option key: {keys}")
    answer = raw["answer"]
    if raw["kind"] == "numeric":
        _check_numeric_content(qid, float(answer), float(raw["tolerance"]), options, namespace)
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
        _check_least_loss(qid, options, answer)
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


def _build_option(raw: Mapping[str, Any], opt: Mapping[str, Any], fill: _Filler) -> Option:
    where = f"option {opt['key']!r}"
    if "rewards" in opt:
        r_w, r_l = (float(v) for v in opt["rewards"])
        g_w, _ = bt_loss_grad([r_w], [r_l])
        local = {"margin": r_w - r_l, "loss": bt_loss([r_w], [r_l]), "grad": float(g_w[0])}
        option_fill = fill.with_values(local)
        text = option_fill(opt.get("text", f"r(x, y_w) = {r_w:g}, r(x, y_l) = {r_l:g}"), where)
        numbers = (
            f"Δ = {r_w:g} − {_signed(r_l)} = {local['margin']:g}, "
            f"so this pair's loss is −log σ({local['margin']:g}) = {local['loss']:.4f}. "
        )
        return Option(opt["key"], text, numbers + option_fill(opt["feedback"], where),
                      rewards=(r_w, r_l))
    if "formula" in opt:
        value = _formula_value(raw, opt["formula"])
        text = f"{value:.4f} ({opt['formula'].replace('_', ' ')})"
        return Option(opt["key"], text, fill(opt["feedback"], where), value=value)
    return Option(opt["key"], fill(opt["text"], where), fill(opt["feedback"], where))


def _signed(x: float) -> str:
    """``x`` for a subtraction: negative numbers in parentheses."""
    return f"({x:g})" if x < 0 else f"{x:g}"


def _formula_value(raw: Mapping[str, Any], formula: str) -> float:
    """The number a numeric option stands for: the answer or one typical mistake."""
    r_w = np.array([p[0] for p in raw["pairs"]], dtype=float)
    r_l = np.array([p[1] for p in raw["pairs"]], dtype=float)
    mean_loss = bt_loss(r_w, r_l)
    values = {
        "mean_loss": mean_loss,
        "swapped": bt_loss(r_l, r_w),
        "log10": mean_loss / math.log(10),
        "probability": float(np.mean(np.exp(log_sigmoid(r_w - r_l)))),
        "sum": mean_loss * len(r_w),
    }
    return float(values[formula])


def _check_numeric_content(
    qid: str, answer: float, tol: float, options: Sequence[Option], namespace: Mapping[str, Any]
) -> None:
    computed = namespace["loss"]
    if abs(answer - round(computed, ANSWER_DECIMALS)) > 1e-12:
        raise ValueError(
            f"question {qid!r}: stored answer {answer} disagrees with the mean loss of its pairs, "
            f"{computed:.6f} ({computed:.{ANSWER_DECIMALS}f} to {ANSWER_DECIMALS} decimals)"
        )
    if not any(o.value is not None and abs(o.value - computed) <= 1e-12 for o in options):
        raise ValueError(f"question {qid!r} needs an option with formula 'mean_loss'")
    values = sorted(o.value for o in options if o.value is not None)
    for low, high in zip(values, values[1:], strict=False):
        if high - low <= 2 * tol:
            raise ValueError(
                f"question {qid!r}: option values {low:.4f} and {high:.4f} are within twice the "
                f"tolerance {tol:g} of each other, so a typed value could match both"
            )


def _check_least_loss(qid: str, options: Sequence[Option], answer: object) -> None:
    margins = {o.key: o.rewards[0] - o.rewards[1] for o in options if o.rewards is not None}
    best = max(margins.values())
    winners = [k for k, m in margins.items() if m == best]
    if len(winners) > 1:
        raise ValueError(f"question {qid!r}: options {winners} tie for the largest margin {best:g}")
    if answer != winners[0]:
        raise ValueError(
            f"question {qid!r}: answer {answer!r} is not the option with the largest margin "
            f"(and so the least loss): {winners[0]!r}, margin {best:g}"
        )


def _namespace(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers a question's texts may name, all computed with rmcourse.np_loss."""
    namespace: dict[str, Any] = {"ln2": math.log(2)}
    if "pairs" in raw:
        pairs = np.asarray(raw["pairs"], dtype=float)  # (N, 2)
        namespace.update(
            loss=bt_loss(pairs[:, 0], pairs[:, 1]),
            acc=float(np.mean(pairs[:, 0] > pairs[:, 1])),
            n_pairs=len(pairs),
            pairs_text=", ".join(f"({w:g}, {lo:g})" for w, lo in pairs),
            margins_text=", ".join(f"{w - lo:g}" for w, lo in pairs),
            pair_losses_text=", ".join(f"{bt_loss([w], [lo]):.4f}" for w, lo in pairs),
        )
    if "groups" in raw:
        loss, acc, prob, grad, margins = {}, {}, {}, {}, {}
        for name, group in raw["groups"].items():
            pairs = np.asarray(group["pairs"], dtype=float)  # (N, 2)
            margin = group.get("margin", 0.0)
            loss[name] = bt_loss(pairs[:, 0], pairs[:, 1], margin=margin)
            acc[name] = float(np.mean(pairs[:, 0] > pairs[:, 1]))
            prob[name] = math.exp(-loss[name])
            margins[name] = ", ".join(f"{w - lo:+g}" if w != lo else "0" for w, lo in pairs)
            if len(pairs) == 1:
                grad[name] = float(bt_loss_grad(pairs[:, 0], pairs[:, 1], margin=margin)[0][0])
        namespace.update(loss=loss, acc=acc, prob=prob, grad=grad, margins=margins)
    if "log" in raw:
        final = {}
        for panel in raw["log"]["panels"]:
            final.update({name: values[-1] for name, values in panel["series"].items()})
        namespace["final"] = final
    return namespace


class _Filler:
    """Fills ``{...}`` fields of one question's texts; errors name the question and the field."""

    def __init__(self, qid: str, namespace: Mapping[str, Any]) -> None:
        self.qid = qid
        self.namespace = dict(namespace)

    def with_values(self, values: Mapping[str, Any]) -> _Filler:
        return _Filler(self.qid, {**self.namespace, **values})

    def __call__(self, text: str, where: str) -> str:
        try:
            return Formatter().vformat(text, (), self.namespace)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ValueError(
                f"question {self.qid!r}, {where}: cannot fill {text!r}: "
                f"{type(exc).__name__} {exc} (defined: {sorted(self.namespace)})"
            ) from None


SCENARIOS: tuple[str, ...] = tuple(_read_json("questions.json")["scenarios"])
"""The package's scenario names, in order; their titles are in ``questions.json``."""
