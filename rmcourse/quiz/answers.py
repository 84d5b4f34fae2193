"""Checking an answer to a quiz question: right or wrong, with the feedback the content gives."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rmcourse.quiz.content import Feedback, Question, question_by_id


def check(question_id: str, answer: str | Sequence[str] | float) -> Feedback:
    """Check an answer to one of the package's questions.

    Parameters
    ----------
    question_id : str
        The question's ``id``.
    answer : str, sequence of str, or float
        An option key (``choice``), a collection of option keys (``multi_choice``), or a number
        or numeric string (``numeric``).

    Returns
    -------
    Feedback
        ``correct`` and a message: the chosen options' feedback; for a number, how far off it is.

    Examples
    --------
    >>> check("q01", "c").correct
    False
    >>> print(check("q05", 0.2).message)
    Correct: 0.2 is 0.0014 from 0.2014, within the tolerance 0.002. That is −log σ(Δ), natural log.
    """
    return check_question(question_by_id(question_id), answer)


def check_question(question: Question, answer: str | Sequence[str] | float) -> Feedback:
    """Check ``answer`` against ``question`` (see :func:`check`)."""
    if question.kind == "numeric":
        return _check_numeric(question, answer)
    if question.kind == "choice":
        if not isinstance(answer, str):
            raise TypeError(f"question {question.id!r} takes one option key (str), got {answer!r}")
        option = question.option(answer)
        verdict = "Correct." if answer == question.answer else "Not quite."
        return Feedback(answer == question.answer, f"{verdict} {option.feedback}")
    if isinstance(answer, str) or not isinstance(answer, Sequence | set | frozenset):
        raise TypeError(
            f"question {question.id!r} takes a collection of option keys, got {answer!r}"
        )
    for key in answer:
        question.option(key)  # raises ValueError for an unknown key
    chosen = [o.key for o in question.options if o.key in set(answer)]
    expected = set(question.answer)
    correct = set(chosen) == expected
    if correct:
        head = "Correct: exactly the true statements."
    else:
        missed = len(expected - set(chosen))
        wrong = len(set(chosen) - expected)
        head = f"Not quite: {wrong} selected statement(s) are false, {missed} true one(s) missed."
    lines = [head] + [f"({key}) {question.option(key).feedback}" for key in chosen]
    return Feedback(correct, "\n".join(lines))


def _check_numeric(question: Question, answer: str | Sequence[str] | float) -> Feedback:
    if isinstance(answer, bool) or not isinstance(answer, str | int | float | np.floating):
        raise TypeError(f"question {question.id!r} takes a number, got {answer!r}")
    try:
        value = float(answer)
    except ValueError:
        raise ValueError(
            f"question {question.id!r} takes a number, {answer!r} is not one"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"question {question.id!r} takes a finite number, got {answer!r}")
    target = float(question.answer)  # type: ignore[arg-type]
    tol = float(question.tolerance)  # type: ignore[arg-type]
    off = abs(value - target)
    if off <= tol:
        right = next(
            o for o in question.options if o.value is not None and abs(o.value - target) <= tol
        )
        return Feedback(
            True,
            f"Correct: {value:g} is {off:.4f} from {target:.4f}, within the "
            f"tolerance {tol:g}. {right.feedback}",
        )
    side = "high" if value > target else "low"
    message = f"Not quite: {value:g} is {off:.4f} too {side}."
    for option in question.options:
        if option.value is not None and abs(value - option.value) <= tol:
            message += f" {option.feedback}"
            break
    return Feedback(False, message)
