"""The "your turn" tasks of lesson 06 (best-of-n): the student answers first, a checker judges.

The task kinds of :mod:`rmcourse.quiz.task_kinds`, for lesson 06:
``check(task_id, answer)`` returns a result that
prints ``"<id>: right."``, ``"<id>: not quite. <hint>"`` (a hint that does not give the answer away)
or ``"<id>: not answered yet. ..."`` when the answer is still ``...`` or None.

Examples
--------
>>> print(check("06-kl-best-of-16", ...))
06-kl-best-of-16: not answered yet. Replace ... with your answer and run the cell again.
>>> check("06-kl-best-of-16", 1.835).correct
True
>>> result = check("06-data-size", "a")
>>> result.correct, "from what height" in str(result)
(False, True)
"""

from __future__ import annotations

import math
from typing import Any

from rmcourse.quiz.task_kinds import ChoiceTask, NumberTask, TaskResult, judge

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
            # 2.77 − 0.94 = 1.83 (each term rounded first) is right too; every listed mistake
            # lies more than 0.9 away
            tolerance=0.01,
        ),
        ChoiceTask(
            "06-data-size",
            answer="b",
            hints={
                "a": "Past its peak a proxy's gold curve falls, but from what height? Compare how "
                "well each size of model ranks answers by r* (the Spearman column above).",
                "c": "Are the two far apart or close? Set the gap in how well the two sizes rank "
                "answers (the Spearman column above) against what a gold curve loses after its "
                "peak.",
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
            "06-ensemble",
            answer="d",
            hints={
                "a": "All members learned from the same biased labels: what does their mean like?",
                "b": "If every member rewards length, what does the least of them reward?",
                "c": "The members agree that longer is better: how far apart are they on that, "
                "and what does a penalty on their disagreement then cost a long answer?",
            },
        ),
    )
}


def check(task_id: str, answer: Any) -> TaskResult:
    """Judge a student's answer to one task of lesson 06 (``...`` or None: not answered yet).

    An unknown option key or an answer of the wrong kind is ``"invalid"``, with one line saying
    what to give; an unknown task id raises ``ValueError``.
    """
    return judge(TASKS, task_id, answer)
