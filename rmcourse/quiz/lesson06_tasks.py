"""The "your turn" tasks of lesson 06 (best-of-n): the student answers first, a checker judges.

Same interface as the tasks of lessons 01–04: ``check(task_id, answer)`` returns a result that
prints ``"<id>: right."``, ``"<id>: not quite. <hint>"`` (a hint that does not give the answer away)
or ``"<id>: not answered yet. ..."`` when the answer is still ``...`` or None.

Examples
--------
>>> print(check("06-kl-best-of-16", ...))
06-kl-best-of-16: not answered yet. Replace ... with your answer and run the cell again.
>>> check("06-kl-best-of-16", 1.835).correct
True
>>> print(check("06-first-to-peak", "c"))
06-first-to-peak: not quite. Which proxy has the most room for errors that a search can find?
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_UNANSWERED = "not answered yet. Replace ... with your answer and run the cell again."


@dataclass(frozen=True)
class TaskResult:
    """The verdict on one answer: ``status`` is ``"unanswered"``, ``"right"`` or ``"wrong"``."""

    task_id: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == "right"

    def __str__(self) -> str:
        return f"{self.task_id}: {self.message}"

    __repr__ = __str__


@dataclass(frozen=True)
class NumberTask:
    """A number to predict or compute; ``mistakes`` maps a typical wrong value to its hint."""

    id: str
    answer: float
    hint: str
    mistakes: Sequence[tuple[float, str]] = ()
    tolerance: float = 5e-3

    def judge(self, answer: Any) -> tuple[bool, str]:
        if isinstance(answer, bool) or not isinstance(answer, int | float | np.number):
            raise TypeError(f"task {self.id!r} takes a number, got {type(answer).__name__}")
        if abs(float(answer) - self.answer) <= self.tolerance:
            return True, "right."
        for wrong, hint in self.mistakes:
            if abs(float(answer) - wrong) <= self.tolerance:
                return False, f"not quite. {hint}"
        return False, f"not quite. {self.hint}"


@dataclass(frozen=True)
class ChoiceTask:
    """Pick one option; ``hints`` holds the hint for each wrong option key."""

    id: str
    answer: str
    hints: Mapping[str, str]

    def judge(self, answer: Any) -> tuple[bool, str]:
        if not isinstance(answer, str):
            raise TypeError(f"task {self.id!r} takes an option key (a str), got {answer!r}")
        key = answer.strip().strip("()").lower()
        if key == self.answer:
            return True, "right."
        if key not in self.hints:
            keys = sorted([*self.hints, self.answer])
            raise ValueError(f"task {self.id!r} has no option {answer!r}; its options are {keys}")
        return False, f"not quite. {self.hints[key]}"


TASKS: dict[str, NumberTask | ChoiceTask] = {
    task.id: task
    for task in (
        NumberTask(
            "06-kl-best-of-16",
            answer=math.log(16) - 15 / 16,
            hint="Put n = 16 into KL = log n − (n − 1)/n, with the natural log (nats).",
            mistakes=(
                (math.log(16), "That is log n alone: the (n − 1)/n term is missing."),
                (math.log2(16) - 15 / 16, "That used log base 2; the KL here is in nats."),
                (math.log(16) + 15 / 16, "Check the sign of the (n − 1)/n term."),
            ),
        ),
        ChoiceTask(
            "06-first-to-peak",
            answer="a",
            hints={
                "b": "Which proxy has the most room for errors that a search can find?",
                "c": "Which proxy has the most room for errors that a search can find?",
                "d": "Look again at what the gold curve of a proxy does once n grows large.",
            },
        ),
        NumberTask(
            "06-filler-logit",
            answer=0.4,
            hint="Each filler word changes r* by its weight and len by one word; add both effects "
            "on the annotators' logit Δ* + b·Δlen.",
            mistakes=(
                (-0.4, "That is r*'s view alone; the annotators also add b per extra word."),
                (0.8, "That is the length bias alone; r* also charges each filler word."),
                (1.2, "Check the sign of r*'s filler weight."),
            ),
        ),
        ChoiceTask(
            "06-shared-bias",
            answer="c",
            hints={
                "a": "All members learned from the same biased labels: what does their mean like?",
                "b": "If every member rewards length, what does the least of them reward?",
                "d": "The members agree that longer is better: how far apart are they on that?",
            },
        ),
    )
}


def check(task_id: str, answer: Any) -> TaskResult:
    """Judge a student's answer to one task of lesson 06 (``...`` or None: not answered yet).

    Raises ``ValueError`` for an unknown task or option key, ``TypeError`` for an answer of the
    wrong kind.
    """
    if task_id not in TASKS:
        raise ValueError(f"no task with id {task_id!r}; known ids: {sorted(TASKS)}")
    if answer is None or answer is Ellipsis:
        return TaskResult(task_id, "unanswered", _UNANSWERED)
    correct, message = TASKS[task_id].judge(answer)
    return TaskResult(task_id, "right" if correct else "wrong", message)
