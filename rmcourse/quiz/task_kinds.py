"""The three kinds of "your turn" task and how each judges a student's answer.

A lesson's ``your-turn`` cell holds ``my_answer = ...`` and ``tasks.check("NN-name", my_answer)``.
Left as ``...`` (or ``None``) the answer is *not answered yet*, which is not an error, so the
committed lesson runs clean. A right answer is confirmed; a wrong one gets a hint that points at
the mistake without giving the answer (the lesson has the answer behind a ``<details>`` reveal).

:class:`NumberTask` (predict or compute a number), :class:`ChoiceTask` (pick an explanation) and
:class:`CodeTask` (write a function; it is run on probe inputs). The tasks themselves are data:
:mod:`rmcourse.quiz.tasks` (lessons 01-04 and 07) and :mod:`rmcourse.quiz.lesson06_tasks`.

Examples
--------
>>> table = {"t": NumberTask("t", answer=2.0, hint="Add 1 and 1.", mistakes=[(11.0, "Binary?")])}
>>> print(judge(table, "t", ...))
t: not answered yet. Replace ... with your answer and run the cell again.
>>> print(judge(table, "t", 11))
t: not quite. Binary?
>>> judge(table, "t", 2.001).status
'right'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
        if isinstance(answer, bool) or not isinstance(answer, int | float | np.number | np.ndarray):
            raise TypeError(f"task {self.id!r} takes a number, got {type(answer).__name__}")
        value = float(np.asarray(answer, dtype=float).reshape(()))
        if abs(value - self.answer) <= self.tolerance:
            return True, "right."
        for wrong, hint in self.mistakes:
            if abs(value - wrong) <= self.tolerance:
                return False, f"not quite. {hint}"
        return False, f"not quite. {self.hint}"


@dataclass(frozen=True)
class ChoiceTask:
    """Pick one option; ``hints`` holds the hint for each wrong option key."""

    id: str
    answer: str
    hints: Mapping[str, str]
    right: str = "right."

    def judge(self, answer: Any) -> tuple[bool, str]:
        if not isinstance(answer, str):
            raise TypeError(f"task {self.id!r} takes an option key (a str), got {answer!r}")
        key = answer.strip().strip("()").lower()
        if key == self.answer:
            return True, self.right
        if key not in self.hints:
            keys = sorted([*self.hints, self.answer])
            raise ValueError(f"task {self.id!r} has no option {answer!r}; its options are {keys}")
        return False, f"not quite. {self.hints[key]}"


@dataclass(frozen=True)
class CodeTask:
    """Write a function. ``reference`` is the right function; each probe is ``(args, hint)``:
    the student's function must agree with the reference on ``args``, or the hint is shown."""

    id: str
    reference: Callable[..., Any]
    probes: Sequence[tuple[tuple[Any, ...], str]] = field(default_factory=tuple)
    rtol: float = 1e-9

    def judge(self, answer: Any) -> tuple[bool | None, str]:
        if not callable(answer):
            raise TypeError(f"task {self.id!r} takes a function, got {type(answer).__name__}")
        for args, hint in self.probes:
            try:
                with np.errstate(all="ignore"):
                    got = np.asarray(as_numpy(answer(*args)))
            except Exception as err:  # noqa: BLE001 - a student's function may fail any way
                if "truth value of an array" in str(err) or "Boolean value of Tensor" in str(err):
                    hint = _ELEMENTWISE
                return False, f"not quite: it raised {type(err).__name__}: {err}. {hint}"
            if got.dtype == object:  # the body is still `...` (or returns None)
                return None, UNANSWERED
            want = np.asarray(as_numpy(self.reference(*args)), dtype=float)
            if got.shape != want.shape or not np.allclose(got.astype(float), want, rtol=self.rtol,
                                                           atol=0.0):
                return False, f"not quite. {hint}"
        return True, "right."


def as_numpy(value: Any) -> Any:
    """A torch tensor as a float64 NumPy array (without importing torch); anything else as is."""
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        return value.detach().cpu().double().numpy()
    return value


_ELEMENTWISE = ("The input is an array: use element-wise operations (np.where, np.minimum, "
                "torch.where), not if/else on the whole array.")
UNANSWERED = "not answered yet. Replace ... with your answer and run the cell again."


Task = NumberTask | ChoiceTask | CodeTask
"""Any kind of task."""


def find_task(table: Mapping[str, Task], task_id: str) -> Task:
    """The task with this id in ``table``; ``ValueError`` listing the known ids otherwise."""
    if task_id not in table:
        raise ValueError(f"no task with id {task_id!r}; known ids: {sorted(table)}")
    return table[task_id]


def judge(table: Mapping[str, Task], task_id: str, answer: Any) -> TaskResult:
    """The verdict on ``answer`` to the task ``task_id`` of ``table`` (see ``tasks.check``)."""
    task = find_task(table, task_id)
    if answer is None or answer is Ellipsis:
        return TaskResult(task_id, "unanswered", UNANSWERED)
    correct, message = task.judge(answer)
    status = "unanswered" if correct is None else "right" if correct else "wrong"
    return TaskResult(task_id, status, message)
