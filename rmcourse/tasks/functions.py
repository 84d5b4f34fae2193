"""What function tasks are judged with: the named reference functions and typical mistakes a
task's data may name, and the probe inputs built from the data's JSON arrays.

A function task names its ``reference`` and each ``mistakes[i].function`` from :data:`FUNCTIONS`
(with optional keyword ``options``: ``{"function": "trl_reward_loss", "options": {"reduce":
"sum"}}``); its ``probes`` are lists of arguments, each a JSON array made a NumPy array or a torch
tensor of the task's ``inputs`` type (:class:`Probes`), a number or ``null`` passed as it is.

Examples
--------
>>> probes = Probes([[[1.0, -2.0]], [[0.0]]], inputs="numpy")
>>> len(probes), probes[0]
(2, (array([ 1., -2.]),))
>>> float(FUNCTIONS["mean_loss"](*Probes([[[2.0], [0.0]]], "numpy")[0]))  # -log σ(2)
0.1269280110429725
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rmcourse.np_loss import bt_loss, log_sigmoid
from rmcourse.tasks.kinds import as_numpy


def _naive_log_sigmoid(x: Any) -> Any:
    """log σ(x) as log(1 / (1 + e^(−x))): it overflows and rounds the tiny losses away."""
    with np.errstate(all="ignore"):
        return np.log(1.0 / (1.0 + np.exp(-x)))


def _pair_loss(x: Any) -> Any:
    """−log σ(x): the loss of a pair, where log σ(x) is asked."""
    return -log_sigmoid(x)


def _mean_loss(r_chosen: Any, r_rejected: Any) -> float:
    """The loss of a batch: the mean of −log σ(r_chosen − r_rejected)."""
    return bt_loss(as_numpy(r_chosen), as_numpy(r_rejected))


def _summed_loss(r_chosen: Any, r_rejected: Any) -> float:
    """The sum of the pair losses, where their mean is asked."""
    return len(as_numpy(r_chosen)) * bt_loss(as_numpy(r_chosen), as_numpy(r_rejected))


def _flipped_loss(r_chosen: Any, r_rejected: Any) -> float:
    """The loss of the pairs the other way round."""
    return bt_loss(as_numpy(r_rejected), as_numpy(r_chosen))


def _negated_loss(r_chosen: Any, r_rejected: Any) -> float:
    """The mean log-likelihood log σ(Δ), where its negative is asked."""
    return -bt_loss(as_numpy(r_chosen), as_numpy(r_rejected))


def _clamped_log_loss(r_chosen: Any, r_rejected: Any) -> float:
    """F.binary_cross_entropy(σ(Δ), 1): PyTorch clamps its log at −100, so a pair loss ≤ 100."""
    delta = as_numpy(r_chosen) - as_numpy(r_rejected)
    return float(np.mean(np.minimum(-log_sigmoid(delta), 100.0)))


def _trl_reward_loss(
    r_c: Any,
    r_r: Any,
    m: Any,
    c: Any,
    *,
    margin_sign: float = -1.0,
    centre: str = "mean-sum",
    reduce: str = "mean",
) -> float:
    """TRL's reward loss (the defaults), or one of its plausible misreadings: ``margin_sign``
    +1 (margin added) or 0 (margin ignored), ``centre`` the square of another quantity,
    ``reduce="sum"`` (pair losses summed)."""
    r_c, r_r = as_numpy(r_c), as_numpy(r_r)
    logits = r_c - r_r + (0.0 if m is None else margin_sign * as_numpy(m))
    loss = float(getattr(np, reduce)(-log_sigmoid(logits)))
    if c is None:
        return loss
    square = {
        "mean-sum": np.mean((r_c + r_r) ** 2),
        "sum-sum": np.sum((r_c + r_r) ** 2),
        "mean-diff": np.mean((r_c - r_r) ** 2),
        "each": np.mean(r_c**2 + r_r**2),
    }[centre]
    return loss + c * float(square)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "log_sigmoid": log_sigmoid,
    "naive_log_sigmoid": _naive_log_sigmoid,
    "pair_loss": _pair_loss,
    "mean_loss": _mean_loss,
    "summed_loss": _summed_loss,
    "flipped_loss": _flipped_loss,
    "negated_loss": _negated_loss,
    "clamped_log_loss": _clamped_log_loss,
    "trl_reward_loss": _trl_reward_loss,
}
"""The functions a task's data may name, as a reference or as a mistake."""

INPUTS = ("numpy", "torch.float64", "torch.float32")
"""The types a function task's probe arrays may be given as."""


class Probes(Sequence):
    """A function task's probe inputs, built from JSON arrays when first used (lessons 01-02 need
    no torch): each array becomes an array or tensor of type ``inputs``; a number or None stays
    as it is."""

    def __init__(self, spec: Sequence[Sequence[Any]], inputs: str = "numpy") -> None:
        if inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}, got {inputs!r}")
        self._spec = spec
        self._inputs = inputs

    def __len__(self) -> int:
        return len(self._spec)

    def __getitem__(self, i: int) -> tuple[Any, ...]:  # type: ignore[override]
        return tuple(self._argument(a) for a in self._spec[i])

    def _argument(self, value: Any) -> Any:
        if value is None or isinstance(value, int | float):
            return value
        if self._inputs == "numpy":
            return np.array(value, dtype=float)
        import torch  # only the function tasks of torch lessons get here

        return torch.tensor(value, dtype=getattr(torch, self._inputs.split(".")[1]))
