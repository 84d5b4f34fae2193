"""The "your turn" tasks of lessons 01–04, 07 and 08, and :func:`check`, which judges an answer.

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
>>> print(tasks.check("01-pair-loss", 1.3))
01-pair-loss: right to the 1 decimal you gave; give 2 decimals (answers within ±0.005 count).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
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


def _summed_loss(r_chosen: Any, r_rejected: Any) -> float:
    return len(as_numpy(r_chosen)) * bt_loss(as_numpy(r_chosen), as_numpy(r_rejected))


def _flipped_loss(r_chosen: Any, r_rejected: Any) -> float:
    return bt_loss(as_numpy(r_rejected), as_numpy(r_chosen))


def _negated_loss(r_chosen: Any, r_rejected: Any) -> float:
    return -bt_loss(as_numpy(r_chosen), as_numpy(r_rejected))


def _clamped_log_loss(r_chosen: Any, r_rejected: Any) -> float:
    """F.binary_cross_entropy(σ(Δ), 1): PyTorch clamps its log at −100, so a pair loss ≤ 100."""
    delta = as_numpy(r_chosen) - as_numpy(r_rejected)
    return float(np.mean(np.minimum(-log_sigmoid(delta), 100.0)))


def _trl_loss(r_c: Any, r_r: Any, m: Any, c: Any, *, margin_sign: float = -1.0,
              centre: str = "mean-sum", reduce: str = "mean") -> float:
    """TRL's reward loss (the defaults), or one of its plausible misreadings: ``margin_sign``
    +1 (margin added) or 0 (margin ignored), ``reduce="sum"`` (pair losses summed)."""
    r_c, r_r = as_numpy(r_c), as_numpy(r_r)
    logits = r_c - r_r + (0.0 if m is None else margin_sign * as_numpy(m))
    loss = float(getattr(np, reduce)(-log_sigmoid(logits)))
    if c is None:
        return loss
    square = {"mean-sum": np.mean((r_c + r_r) ** 2), "sum-sum": np.sum((r_c + r_r) ** 2),
              "mean-diff": np.mean((r_c - r_r) ** 2),
              "each": np.mean(r_c ** 2 + r_r ** 2)}[centre]
    return loss + c * float(square)


def _torch_probe(values: Any, dtype: str) -> Any:
    if values is None or isinstance(values, float):
        return values
    import torch  # lessons 01-02 use this module without torch

    return torch.tensor(values, dtype=getattr(torch, dtype))


class _LazyTorchProbes(Sequence):
    """Probes built from torch tensors when first needed (lessons 01–02 need no torch); a None
    or a float in ``spec`` is passed as it is."""

    def __init__(self, spec: Sequence[tuple[Any, ...]], dtype: str = "float64"):
        self._spec = spec
        self._dtype = dtype

    def __len__(self) -> int:
        return len(self._spec)

    def __getitem__(self, i: int) -> tuple[Any, ...]:  # type: ignore[override]
        return tuple(_torch_probe(a, self._dtype) for a in self._spec[i])


_TRL_PAIRS = ([1.5, -0.5, 0.25], [0.5, 0.5, 1.0])  # r_c, r_r of three pairs
_TRL_MARGINS = [0.5, 1.0, 2.0]


_SHIFT_PAIRS = ([1.5, -1.0, 0.3], [0.5, 1.0, 0.3])  # r_w, r_l of task 01-shifted-loss
_SHIFT_LOSS = float(bt_loss(*_SHIFT_PAIRS))
_GRAD_TWO_PAIRS = float(bt_loss_grad([1.0, 2.0], [3.0, 2.0])[0][0])  # ∂L/∂r_w of pair 1 of 2


def _naive_log_sigmoid(x: Any) -> Any:
    with np.errstate(all="ignore"):
        return np.log(1.0 / (1.0 + np.exp(-x)))


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
                (math.log10(3), "The margin is a natural logarithm (σ is built from e^(−Δ)): "
                                "which logarithm did you take?"),
                (1 / 3, "1/3 is e^(−Δ), the step before the answer: solve it for Δ."),
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
            "01-shifted-loss", answer=_SHIFT_LOSS,
            hint="Compute each pair's margin Δ = r_w − r_l after the shift, then the mean of "
                 "log(1 + e^(−Δ)) over the three pairs.",
            mistakes=[
                (3 * _SHIFT_LOSS, "That is the sum of the three pair losses; the dataset loss "
                                  "is their mean."),
                (float(bt_loss(_SHIFT_PAIRS[1], _SHIFT_PAIRS[0])),
                 "The margin is r_w − r_l, the chosen reward minus the rejected one: check its "
                 "sign in each pair."),
                (_SHIFT_LOSS / math.log(10), "The loss uses the natural logarithm."),
                (_SHIFT_LOSS + 10, "The loss of a pair is a function of its margin r_w − r_l: "
                                   "what did adding 10 to both rewards do to each margin?"),
                (_SHIFT_LOSS - 10, "The loss of a pair is a function of its margin r_w − r_l: "
                                   "what did adding 10 to both rewards do to each margin?"),
                (float(np.mean(sigmoid(np.subtract(*_SHIFT_PAIRS)))),
                 "That is the mean probability σ(Δ); the loss is the mean of −log σ(Δ)."),
            ],
        ),
        # ---- lesson 02 --------------------------------------------------------------------
        CodeTask(
            "02-stable-log-sigmoid", reference=log_sigmoid, rtol=1e-9,
            probes=[(np.array([-2.0, 0.0, 3.0]),), (np.array([-1000.0, -800.0]),),
                    (np.array([40.0, 60.0]),)],
            nonfinite_hint="Some e^(...) in your formula overflows for these inputs: use a form "
                           "in which no large positive number is exponentiated.",
            mistakes=[
                (_naive_log_sigmoid, "There 1 + e^(−x) rounds to exactly 1 and the tiny loss is "
                 "lost: np.log1p or np.logaddexp keep it."),
                (lambda x: -log_sigmoid(x), "That is −log σ(x), the loss of a pair; the task asks "
                 "for log σ(x)."),
            ],
        ),
        NumberTask(
            "02-grad-in-a-batch", answer=_GRAD_TWO_PAIRS,
            hint="∂L/∂r_w of a pair is −σ(−Δ) / B, with Δ = r_w − r_l of that pair and B the "
                 "number of pairs in the batch.",
            mistakes=[
                (2 * _GRAD_TWO_PAIRS, "The loss is the mean over the batch: each pair's gradient "
                 "is divided by the number of pairs B."),
                (-_GRAD_TWO_PAIRS, "Would raising r_w lower or raise the loss? The sign of the "
                 "gradient says so."),
                (float(bt_loss_grad([3.0, 2.0], [1.0, 2.0])[0][0]),
                 "Check the sign of Δ = r_w − r_l for this pair."),
                (2 * float(bt_loss_grad([3.0, 2.0], [1.0, 2.0])[0][0]),
                 "Check the sign of Δ = r_w − r_l for this pair, and divide by the number of "
                 "pairs B."),
                (-float(bt_loss_grad([3.0, 2.0], [1.0, 2.0])[0][0]),
                 "Two signs are flipped: that of Δ = r_w − r_l for this pair, and that of the "
                 "gradient. Would raising r_w lower or raise the loss?"),
                (_GRAD_TWO_PAIRS / 2, "The loss is the mean over the B pairs of the batch, not "
                 "over its 4 rewards: divide by the number of pairs."),
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
                (float(bt_loss([1.0, 0.0, 0.0], [3.0, 3.0, 1.0])),
                 "Each pair's margin is the better response's reward minus the worse one's: "
                 "check its sign."),
            ],
        ),
        # ---- lesson 03 --------------------------------------------------------------------
        CodeTask(
            "03-torch-loss", reference=_torch_mean_loss, rtol=1e-9,
            probes=_LazyTorchProbes([([2.0, 0.0], [0.0, 1.0]),
                                     ([-900.0, 5.0, 0.5], [100.0, 4.0, 0.5])]),
            nonfinite_hint="The loss of a pair ranked wrong by 1000 is about 1000, finite: "
                           "exp(1000) overflows to inf, and the log of a sigmoid that rounded "
                           "to 0 gives inf; F.logsigmoid computes it without either.",
            mistakes=[
                (_negated_loss, "That is the mean log-likelihood log σ(Δ), which is ≤ 0; the "
                 "loss to minimise is its negative."),
                (_clamped_log_loss, "A pair ranked wrong by 1000 should cost about 1000, but a "
                 "sigmoid that rounded to 0 has log −inf, which binary_cross_entropy clamps at "
                 "−100: work from the logit Δ, not from σ(Δ)."),
                (_flipped_loss, "That is the loss of the pairs the other way round: the margin is "
                 "r_chosen − r_rejected."),
                (_summed_loss, "That is the sum of the pair losses; the loss of a batch is their "
                 "mean."),
            ],
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
                (float(sigmoid(1.0)), "That is σ of the mean margin. The Bayes accuracy is "
                 "the mean of σ(|Δ*|) over the pairs, and σ is not a straight line."),
            ],
        ),
        NumberTask(
            "04-constant-model", answer=0.5 * (1 - 0.5) + 0.5 * (1 - float(sigmoid(2.0))),
            tolerance=5e-4,
            hint="Which of its two values, σ(|Δ*|) or 1 − σ(|Δ*|), does the expected accuracy give "
                 "a pair that the model scores as a tie? Work it out for each kind of pair.",
            mistakes=[
                (0.0, "That is its accuracy on sampled labels, which counts a tie as 0. The "
                      "expected accuracy gives every pair one of two values: which one does a "
                      "pair tied by the model get?"),
                (0.5 * (1 - float(sigmoid(2.0))), "On a tie of r* (Δ* = 0), what is "
                 "1 − σ(|Δ*|)? Either order is right there half of the time."),
                (0.5, "A coin would get 1/2 on every pair, but this model does not flip coins. "
                      "How does the expected accuracy count a pair the model scores as a tie?"),
                (0.5 * 0.5 + 0.5 * float(sigmoid(2.0)), "That is the Bayes accuracy of the "
                 "previous task, r*'s order. Which value does a pair the model ties get?"),
                (0.5 + (1 - float(sigmoid(2.0))), "Half of the pairs are of each kind: take "
                 "the mean over the pairs, not the sum of the two kinds' values."),
                (1 - float(sigmoid(2.0)), "That is the value of a pair with |Δ*| = 2; half of the "
                 "pairs are ties of r*, and they count too."),
                (0.25, "That is the ties' part; the pairs with |Δ*| = 2 count too."),
            ],
        ),
        ChoiceTask(
            "04-above-the-ceiling", answer="c",
            hints={
                "a": "r*'s order is the best on average over the labels' noise. Must every draw "
                     "of 64 labels follow that average?",
                "b": "Not one of these labels was in training, so the model has fitted none of "
                     "their noise. Look for a reason that holds for labels it never saw.",
                "d": "A batch's ceiling is an exact mean over its own 64 pairs, computed from r*: "
                     "nothing in it is drawn at random. Which part of the batch's accuracy is?",
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
                (-10.0, "The denominator Z(x) changes, but is it alone? Follow the numerator of "
                        "π*(answer 0 | prompt 0) too."),
                (2.5, "β divides r in the exponent of π*, it does not multiply it; and what "
                      "happens to Z(x)?"),
                (math.exp(10.0), "That is the factor exp(5/β) by which the numerator grows, not "
                                 "a change of log π*; and what happens to Z(x)?"),
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
                (-math.log(2), "A loss is −log σ(·), and σ < 1: check the sign."),
                (0.1 * math.log(2), "β scales the logit inside σ, not the loss: what is β times "
                                    "a logit of 0?"),
                (math.log10(2), "The loss uses the natural logarithm."),
            ],
        ),
        ChoiceTask(
            "07-largest-kl", answer="a",
            hints={
                "b": "Look at the two ends of the range before the middle. Write a pair's loss "
                     "as −log σ(β·m), m its margin of log-ratios log π_θ/π_ref: what does β "
                     "change about how far m has to grow before the loss stops pulling?",
                "c": "A larger β does give a larger gradient at the start. But in −log σ(β·m), m "
                     "the margin of log-ratios log π_θ/π_ref, the pull fades once β·m is a few "
                     "units: is reaching that point cheap or expensive in log-probability moved "
                     "at β = 1.0, compared with the smaller β?",
            },
        ),
        # ---- lesson 08 --------------------------------------------------------------------
        CodeTask(
            "08-trl-reward-loss", reference=_trl_loss,
            probes=_LazyTorchProbes([(*_TRL_PAIRS, None, None), (*_TRL_PAIRS, _TRL_MARGINS, None),
                                     (*_TRL_PAIRS, None, 0.01), (*_TRL_PAIRS, _TRL_MARGINS, 0.01)],
                                    dtype="float32"),
            mistakes=[
                (partial(_trl_loss, margin_sign=1.0), "The margin is a gap the chosen reward must "
                 "clear: it is subtracted from r_c − r_r, not added."),
                (partial(_trl_loss, centre="mean-diff"), "Centering pulls the level of the "
                 "rewards to 0: it squares each pair's sum r_c + r_r, not its difference."),
                (partial(_trl_loss, centre="sum-sum"), "The centering term is c times the MEAN "
                 "over the pairs of (r_c + r_r)², not the sum."),
                (partial(_trl_loss, centre="each"), "Centering squares each pair's sum "
                 "r_c + r_r, not each reward."),
                (partial(_trl_loss, reduce="sum"), "The loss of a batch is the MEAN of the pair "
                 "losses −log σ(·), not their sum."),
                (partial(_trl_loss, margin_sign=0.0), "Your function gives the same value with "
                 "and without margins: when m is not None, the chosen reward must clear it."),
            ],
        ),
        NumberTask(
            "08-pad-is-eos", answer=17, tolerance=0.5,
            hint="The head reads the rightmost token that is not the pad token. With pad = eos, "
                 "which tokens at the end of the row count as padding?",
            mistakes=[
                (18, "Position 18 holds the final <eos>, and <eos> is the pad token in this "
                     "setting: does the head count it as padding? (Count from 0, as printed.)"),
                (21, "That is the last position of the row, but it holds padding."),
            ],
        ),
        NumberTask(
            "08-gradient-inside-prompt", answer=0.0, tolerance=1e-6,
            hint="The weights reach the loss only through the margins r_c − r_r: how does a "
                 "margin change when a weight changes, if r_c = r_r whatever the weights?",
            mistakes=[
                (-0.5, "−1/2 is dℓ/dΔ of one pair at Δ = 0. By the chain rule the gradient with "
                       "respect to a weight is dℓ/dΔ times dΔ/dweight: what is the second "
                       "factor when r_c = r_r whatever the weights?"),
                (0.5, "±1/2 is dℓ/dΔ of one pair at Δ = 0 (up to sign). By the chain rule the "
                      "gradient with respect to a weight is dℓ/dΔ times dΔ/dweight: what is "
                      "the second factor when r_c = r_r whatever the weights?"),
                (math.log(2), "That is the loss of a tie; the task asks for its gradient."),
            ],
        ),
        NumberTask(
            "08-pairs-per-step", answer=4 * 64, tolerance=0.5,
            hint="Is --batch-size a total or a per-process number? How many processes contribute "
                 "to one averaged gradient?",
            mistakes=[
                (64, "64 pairs is what one process sees. The gradients of all processes are "
                     "averaged into one step: how many pairs went into that average?"),
                (16, "--batch-size is not split across the processes: each process takes its "
                     "own --batch-size pairs a step."),
            ],
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
        function (:class:`CodeTask`); ``...``, None or a function whose body is still ``...``
        mean *not answered yet*.

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
    >>> check("04-constant-model", 0.3096).correct
    True
    >>> check("04-constant-model", 0.5).status
    'wrong'
    """
    return judge(TASKS, task_id, answer)


def task_by_id(task_id: str) -> Task:
    """The task with this id; ``ValueError`` listing the known ids otherwise."""
    return find_task(TASKS, task_id)
