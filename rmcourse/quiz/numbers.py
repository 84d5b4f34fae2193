"""The numbers of quiz questions: computed from the question's data, filled into its texts,
checked against its answer key.

Every loss, margin, accuracy and gradient a question's texts name (``{loss[A]:.3f}``) is computed
from its ``pairs``, ``groups`` or training ``log`` with :mod:`rmcourse.np_loss`
(:func:`namespace_of`) and filled in by a :class:`Filler`; a numeric answer must be the mean loss of
its pairs and a ``least_loss`` answer the option with the largest margin, so text, numbers and
answers cannot drift apart.

Examples
--------
>>> ns = namespace_of({"pairs": [[2.0, 0.5]]})
>>> f"{ns['loss']:.4f}", ns["margins_text"]
('0.2014', '1.5')
>>> Filler("q1", ns)("the loss is {loss:.3f}", "prompt")
'the loss is 0.201'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from string import Formatter
from typing import TYPE_CHECKING, Any

import numpy as np

from rmcourse.np_loss import bt_loss, bt_loss_grad, log_sigmoid

if TYPE_CHECKING:
    from rmcourse.quiz.content import Option

ANSWER_DECIMALS = 4
"""A stored numeric answer is written to 4 decimals: it must be its pairs' mean loss, rounded."""


def pair_numbers(r_w: float, r_l: float) -> tuple[dict[str, float], str]:
    """The numbers a ``least_loss`` option's texts may name (``margin``, ``loss``, ``grad``), and
    the sentence that states them ahead of its feedback.

    Examples
    --------
    >>> pair_numbers(1.0, -0.5)[1]
    "Δ = 1 − (-0.5) = 1.5, so this pair's loss is −log σ(1.5) = 0.2014. "
    """
    g_w, _ = bt_loss_grad([r_w], [r_l])
    local = {"margin": r_w - r_l, "loss": bt_loss([r_w], [r_l]), "grad": float(g_w[0])}
    r_l_text = f"({r_l:g})" if r_l < 0 else f"{r_l:g}"  # negative numbers in parentheses
    sentence = (
        f"Δ = {r_w:g} − {r_l_text} = {local['margin']:g}, "
        f"so this pair's loss is −log σ({local['margin']:g}) = {local['loss']:.4f}. "
    )
    return local, sentence


def formula_value(raw: Mapping[str, Any], formula: str) -> float:
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


def check_numeric_content(
    qid: str, answer: float, tol: float, options: Sequence[Option], namespace: Mapping[str, Any]
) -> None:
    """Raise unless a numeric question's stored ``answer`` is the mean loss of its pairs (rounded
    to :data:`ANSWER_DECIMALS`), one option stands for it, and no two option values are within
    twice the tolerance of each other."""
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


def check_least_loss(qid: str, options: Sequence[Option], answer: object) -> None:
    """Raise unless ``answer`` is the one option with the largest margin (the least loss)."""
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


def namespace_of(raw: Mapping[str, Any]) -> dict[str, Any]:
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


class Filler:
    """Fills ``{...}`` fields of one question's texts; errors name the question and the field."""

    def __init__(self, qid: str, namespace: Mapping[str, Any]) -> None:
        self.qid = qid
        self.namespace = dict(namespace)

    def with_values(self, values: Mapping[str, Any]) -> Filler:
        """A filler that also knows ``values`` (an option's own numbers)."""
        return Filler(self.qid, {**self.namespace, **values})

    def __call__(self, text: str, where: str) -> str:
        try:
            return Formatter().vformat(text, (), self.namespace)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ValueError(
                f"question {self.qid!r}, {where}: cannot fill {text!r}: "
                f"{type(exc).__name__} {exc} (defined: {sorted(self.namespace)})"
            ) from None
