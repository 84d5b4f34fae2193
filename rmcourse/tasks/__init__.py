"""The "your turn" tasks of the lessons: content as data, one :func:`check` for every lesson.

A lesson's ``your-turn`` cell does ``from rmcourse import tasks`` and
``tasks.check("NN-name", my_answer)``; the result prints as ``"<id>: right."``,
``"<id>: not quite. <hint>"``, ``"<id>: not answered yet. ..."`` or one line saying what form of
answer the task expects. One module a job:

- ``data/NN.json`` -- each lesson's tasks, following ``tasks.schema.json``;
- :mod:`~rmcourse.tasks.content` -- load and validate them, build the tasks;
- :mod:`~rmcourse.tasks.kinds` -- the three kinds of task (number, choice, function) and how each
  judges an answer;
- :mod:`~rmcourse.tasks.formulas` -- numbers written as formulas over the course's library;
- :mod:`~rmcourse.tasks.functions` -- the reference functions and mistakes function tasks name.

Examples
--------
>>> from rmcourse import tasks
>>> print(tasks.check("01-1", ...))
01-1: not answered yet. Replace ... with your answer and run the cell again.
>>> tasks.check("01-1", 1.3133).correct
True
>>> tasks.check("01-1", 0.3133).status  # the loss of the pair the other way round
'wrong'
>>> print(tasks.check("01-1", 1.3))
01-1: right to the 1 decimal you gave; give 2 decimals (answers within ±0.005 count).
>>> result = tasks.check("06-2", "a")
>>> result.correct, "from what height" in str(result)
(False, True)
"""

from __future__ import annotations

from typing import Any

from rmcourse.tasks.content import load_tasks, parse_lesson
from rmcourse.tasks.kinds import (
    ChoiceTask,
    CodeTask,
    NumberTask,
    Task,
    TaskResult,
    find_task,
    judge,
)


def check(task_id: str, answer: Any) -> TaskResult:
    """Judge a student's answer to one task of any lesson.

    Parameters
    ----------
    task_id : str
        The task's id, e.g. ``"01-1"`` (lesson number, then a name).
    answer : number, str, function, ``...`` or None
        A number (number task), an option key such as ``"b"`` (choice task) or a function
        (function task); ``...``, None or a function whose body is still ``...`` mean *not
        answered yet*.

    Returns
    -------
    TaskResult
        Printed in a notebook as ``"<id>: right."``, ``"<id>: not quite. <hint>"``,
        ``"<id>: not answered yet. ..."``, or, for an answer of the wrong form (a quoted number,
        an array, a number where an option letter is asked, ...), one line saying what the task
        expects (status ``"invalid"``).

    Raises
    ------
    ValueError
        For an unknown ``task_id``.

    Examples
    --------
    >>> check("04-2", 0.3096).correct
    True
    >>> check("04-2", 0.5).status
    'wrong'
    """
    return judge(load_tasks(), task_id, answer)


def task_by_id(task_id: str) -> Task:
    """The task with this id; ``ValueError`` listing the known ids otherwise.

    Examples
    --------
    >>> task_by_id("08-4").answer
    256.0
    """
    return find_task(load_tasks(), task_id)


__all__ = [
    "ChoiceTask",
    "CodeTask",
    "NumberTask",
    "Task",
    "TaskResult",
    "check",
    "judge",
    "load_tasks",
    "parse_lesson",
    "task_by_id",
]
