"""The "your turn" tasks of lessons 01–04 and 07, and :func:`check`, which judges an answer.

A lesson's ``your-turn`` cell calls ``tasks.check("NN-name", my_answer)``; the kinds of task and
how each judges are in :mod:`rmcourse.quiz.task_kinds`.

Examples
--------
>>> from rmcourse.quiz import tasks
>>> print(tasks.check("01-pair-loss", ...))
01-pair-loss: not answered yet. Replace ... with your answer and run the cell again.
>>> tasks.check("01-pair-loss", 1.3133).correct
True
>>> tasks.check("01-pair-loss", 0.3133).status  # the loss of the pair the other way round
'wrong'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rmcourse.np_loss import bt_loss, bt_loss_grad, log_sigmoid, ranking_loss, sigmoid
from rmcourse.quiz.task_kinds import (
    ChoiceTask,
    CodeTask,
    NumberTask,
    Task,
    TaskResult,
    as_numpy,
    find_task,
    judge,
)

# ---- the references the code tasks compare against -------------------------------------------

def _torch_mean_loss(r_chosen: Any, r_rejected: Any) -> float:
    return bt_loss(as_numpy(r_chosen), as_numpy(r_rejected))


def _torch_probe(values: Sequence[float]) -> Any:
    import torch  # lessons 01-02 use this module without torch

    return torch.tensor(values, dtype=torch.float64)


class _LazyTorchProbes(Sequence):
    """Probes built from torch tensors when first needed (lessons 01–02 need no torch)."""

    def __init__(self, spec: Sequence[tuple[tuple[Sequence[float], ...], str]]):
        self._spec = spec

    def __len__(self) -> int:
        return len(self._spec)

    def __getitem__(self, i: int) -> tuple[tuple[Any, ...], str]:  # type: ignore[override]
        args, hint = self._spec[i]
        return tuple(_torch_probe(a) for a in args), hint


_FLIPPED = "The loss falls as r_w − r_l grows: check which reward is subtracted from which."

TASKS: dict[str, Task] = {
    task.id: task
    for task in [
        # ---- lesson 01 --------------------------------------------------------------------
        NumberTask(
            "01-pair-loss", answer=float(bt_loss([0.2], [1.2])),
            hint="Compute the margin Δ = r_w − r_l first, then −log σ(Δ) = log(1 + e^(−Δ)).",
            mistakes=[
                (float(bt_loss([1.2], [0.2])), "Which response has the higher reward here? "
                 "The sign of the margin Δ = r_w − r_l follows from that."),
                (float(bt_loss([0.2], [1.2])) / math.log(10),
                 "The loss uses the natural logarithm."),
                (float(sigmoid(-1.0)),
                 "That is a probability, σ(Δ); the loss is its negative logarithm."),
            ],
        ),
        NumberTask(
            "01-three-to-one", answer=math.log(3),
            hint="Write σ(Δ) = 3/4 as an equation for e^(−Δ) and solve it (section 2, 'What the "
                 "probability means', has the identity you need).",
            mistakes=[
                (0.75, "That is the probability P itself; the task asks for the margin Δ."),
                (-math.log(3), "σ(Δ) > 1/2 needs a positive margin."),
                (3.0, "3 is P / (1 − P), the odds; the margin is not the odds themselves."),
            ],
        ),
        ChoiceTask(
            "01-what-sigma-means", answer="b",
            hints={
                "a": "Two noisy labels agree when both follow the majority or both go against it; "
                     "that is not the same number as the share who pick y_w.",
                "c": "σ(Δ) depends on both rewards, through their difference only.",
                "d": "The loss is −log σ(Δ); σ(Δ) itself is a probability of an outcome.",
            },
        ),
        NumberTask(
            "01-shifted-loss",
            answer=float(bt_loss([2.0, 0.5, 1.0, -0.5], [-1.0, 0.0, 1.0, 1.5])),
            hint="Which quantity does the loss of a pair depend on, and did the shift change it?",
        ),
        # ---- lesson 02 --------------------------------------------------------------------
        CodeTask(
            "02-stable-log-sigmoid", reference=log_sigmoid, rtol=1e-9,
            probes=[
                ((np.array([-2.0, 0.0, 3.0]),), "Start from log σ(x) = −log(1 + e^(−x))."),
                ((np.array([-1000.0, -800.0]),), "At x = −1000, e^(−x) = e^1000 overflows: use a "
                 "form in which no positive number is exponentiated (np.logaddexp factors it "
                 "out)."),
                ((np.array([40.0, 60.0]),), "At x = 40, 1 + e^(−40) rounds to exactly 1 and the "
                 "tiny loss is lost: log1p or logaddexp keep it."),
            ],
        ),
        NumberTask(
            "02-grad-single-pair", answer=float(bt_loss_grad([1.0], [3.0])[0][0]),
            hint="∂L/∂r_w = −σ(−Δ) / B with Δ = r_w − r_l; compute Δ first.",
            mistakes=[
                (-float(bt_loss_grad([1.0], [3.0])[0][0]),
                 "Would raising r_w lower or raise the loss? The sign of the gradient says so."),
                (float(bt_loss_grad([3.0], [1.0])[0][0]),
                 "Check the sign of Δ = r_w − r_l for this pair."),
            ],
        ),
        NumberTask(
            "02-ranking-loss", answer=float(ranking_loss(np.array([[3.0, 1.0, 0.0]]))),
            hint="List every pair (i, j) with i ranked above j, then average their pair losses.",
            mistakes=[
                (3 * float(ranking_loss(np.array([[3.0, 1.0, 0.0]]))),
                 "The K-wise loss is a mean over the C(K, 2) pairs, not a sum."),
                (float(bt_loss([3.0, 1.0], [1.0, 0.0])),
                 "A ranking of 3 implies more pairs than the neighbouring ones."),
            ],
        ),
        # ---- lesson 03 --------------------------------------------------------------------
        CodeTask(
            "03-torch-loss", reference=_torch_mean_loss, rtol=1e-9,
            probes=_LazyTorchProbes([
                (([2.0, 0.0], [0.0, 1.0]), "Use -F.logsigmoid of the reward differences, averaged "
                 "over the pairs (check the sign, and mean rather than sum)."),
                (([-900.0, 5.0, 0.5], [100.0, 4.0, 0.5]), "The loss must stay finite for a pair "
                 "ranked wrong by 1000: torch.log(torch.sigmoid(...)) is not."),
            ]),
        ),
        NumberTask(
            "03-margin-equal-rewards", answer=math.log1p(math.exp(1.5)),
            hint="With a margin the loss is −log σ(z) with z = Δ − m; what is z here?",
            mistakes=[
                (math.log(2), "Without a margin that would be right; the margin shifts the curve."),
                (math.log1p(math.exp(-1.5)), "The margin is subtracted from Δ: is z positive or "
                 "negative here?"),
                (1.5, "For a pair ranked far wrong the loss is close to |z|, but at z = −1.5 the "
                 "log(1 + e^(−z)) still differs from −z."),
            ],
        ),
        NumberTask(
            "03-centering-penalty", answer=0.25,
            hint="The penalty is c times the mean over the pairs of (r_w + r_l)².",
            mistakes=[
                (0.5, "Mean over the pairs, not the sum."),
                (2.5, "Multiply by the coefficient c."),
                (1.25, "The penalty is on the sum r_w + r_l of each pair, not on the difference "
                       "r_w − r_l."),
                (0.15, "Square each pair's sum before averaging."),
                (0.75, "Square the pair's sum r_w + r_l, not each reward."),
                (0.375, "Square the pair's sum r_w + r_l, not each reward."),
            ],
        ),
        ChoiceTask(
            "03-bfloat16-rewards", answer="c",
            hints={
                "a": "bfloat16 keeps float32's range; what it lacks is precision near 1000.",
                "b": "bfloat16 has float32's range but only 8 significant bits (the table of "
                     "formats at the start of section 2): how far apart are neighbouring bfloat16 "
                     "numbers near 1000, compared with a difference of 0.2?",
                "d": "The loss is computed in float32 after the rewards were stored: can it "
                     "recover digits that were already rounded away?",
            },
        ),
        # ---- lesson 04 --------------------------------------------------------------------
        NumberTask(
            "04-bayes-of-margins", answer=0.5 * 0.5 + 0.5 * float(sigmoid(2.0)),
            hint="The Bayes accuracy is the mean over pairs of σ(|Δ*|): what is it for a pair "
                 "with |Δ*| = 0, and for one with |Δ*| = 2?",
            mistakes=[
                (float(sigmoid(2.0)), "Half of the pairs are exact ties: r* itself gets those "
                 "right only as often as a coin does."),
                (0.5 * float(sigmoid(2.0)), "You counted the ties as 0, as accuracy does for a "
                 "model that outputs a tie. The Bayes accuracy asks for the best order a model "
                 "could pick: how often is either order right on a pair with Δ* = 0?"),
            ],
        ),
        NumberTask(
            "04-constant-model", answer=0.0, tolerance=1e-9,
            hint="How does the accuracy of rmcourse count a pair whose two rewards are equal?",
            mistakes=[(0.5, "A coin would be right half of the time, but this model does not flip "
                            "coins. What does rmcourse's accuracy do with a pair whose two rewards "
                            "are equal?")],
        ),
        ChoiceTask(
            "04-above-the-ceiling", answer="c",
            hints={
                "a": "No model beats r* on average. But is an accuracy on 4,000 sampled labels an "
                     "average over the label noise?",
                "b": "The model never saw the test labels, so it cannot have learnt their noise.",
                "d": "The Bayes accuracy is an exact mean over the test pairs: no labels are "
                     "sampled to compute it.",
            },
        ),
        # ---- lesson 07 --------------------------------------------------------------------
        NumberTask(
            "07-shifted-reward", answer=0.0, tolerance=1e-6,
            hint="Step 1: the shift multiplies the numerator of π* by exp(5/β). Look at what it "
                 "does to Z(x) as well.",
            mistakes=[
                (5.0, "5 is how much r changed; π* is r's exponential divided by Z(x)."),
                (10.0, "5/β is how much the exponent r/β changed, for the numerator of π*; what "
                       "happens to the denominator Z(x)?"),
            ],
        ),
        NumberTask(
            "07-first-dpo-loss", answer=math.log(2), tolerance=5e-4,
            hint="At step 1 both log-ratios log π_θ/π_ref of every pair are 0: what is the "
                 "logit of the loss, and −log σ of it?",
            mistakes=[
                (0.0, "A loss of 0 needs every chosen answer infinitely far ahead; at step 1 no "
                      "answer is ahead of any other."),
                (0.5, "That is σ(0), a probability; the loss is its negative logarithm."),
            ],
        ),
        ChoiceTask(
            "07-largest-kl", answer="a",
            hints={
                "b": "β multiplies the KL term of the objective. If KL costs more, does the "
                     "optimum π* ∝ π_ref exp(r/β) sit closer to π_ref or farther from it?",
                "c": "A large β makes KL expensive: π* ∝ π_ref exp(r/β) tends to π_ref as β "
                     "grows.",
            },
        ),
    ]
}


def check(task_id: str, answer: Any) -> TaskResult:
    """Judge a student's answer to one task.

    Parameters
    ----------
    task_id : str
        The task's id, e.g. ``"01-pair-loss"`` (lesson number, then a name).
    answer : number, str, function, ``...`` or None
        A number (:class:`NumberTask`), an option key such as ``"b"`` (:class:`ChoiceTask`) or a
        function (:class:`CodeTask`); ``...``, None or a function that still returns ``...``
        (or nothing) mean *not answered yet*.

    Returns
    -------
    TaskResult
        Printed in a notebook as ``"<id>: right."``, ``"<id>: not quite. <hint>"`` or
        ``"<id>: not answered yet. ..."``.

    Raises
    ------
    ValueError
        For an unknown ``task_id`` or option key.
    TypeError
        For an answer of the wrong kind (a string where a number is asked for, ...).

    Examples
    --------
    >>> check("04-constant-model", 0.0).correct
    True
    >>> check("04-constant-model", 0.5).status
    'wrong'
    """
    return judge(TASKS, task_id, answer)


def task_by_id(task_id: str) -> Task:
    """The task with this id; ``ValueError`` listing the known ids otherwise."""
    return find_task(TASKS, task_id)
