"""How good is a reward model, measured against the true reward r*: NumPy in, numbers out.

Preference labels of the colour world come from the Bradley-Terry model: a pair whose true
margin is Δ* = r*(x, y_w) − r*(x, y_l) carries r*'s order with probability σ(|Δ*|). Every metric
here compares a learned margin Δ (or learned rewards) with Δ* (or r*):

- :func:`bayes_accuracy` — the ceiling, mean σ(|Δ*|): no model's expected label accuracy is higher;
- :func:`expected_accuracy` — the label accuracy a model's ordering of the pairs earns, without
  sampling noise;
- :func:`spearman` — rank correlation of learned and true rewards;
- :func:`accuracy_by_margin` — the same accuracies per bucket of |Δ*|;
- :func:`calibration_curve` — predicted P(first preferred) = σ(Δ) against observed frequency.

No torch here: the metrics take any arrays, from a reward model or by hand.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from rmcourse.np_loss import sigmoid
from rmcourse.validate import positive_int


def _margins(true_delta: ArrayLike, learned_delta: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    true_delta = np.asarray(true_delta, dtype=float)
    learned_delta = np.asarray(learned_delta, dtype=float)
    if true_delta.shape != learned_delta.shape or true_delta.size == 0:
        raise ValueError(
            f"true_delta {true_delta.shape} and learned_delta {learned_delta.shape} must have "
            "one non-empty shape"
        )
    return true_delta, learned_delta


def bayes_accuracy(true_delta: ArrayLike) -> float:
    """The best expected label accuracy of any reward model: mean σ(|Δ*|) over pairs.

    Ordering each pair by r* is right with probability σ(|Δ*|) under Bradley-Terry labels, and
    no ordering does better: r*'s order is the Bayes classifier of each pair's label.

    Parameters
    ----------
    true_delta : array_like
        True margins Δ* = r*(x, y_w) − r*(x, y_l), one per pair.

    Examples
    --------
    >>> round(bayes_accuracy(np.array([0.0, 2.0, -2.0])), 6)
    0.753865
    """
    true_delta = np.asarray(true_delta, dtype=float)
    if true_delta.size == 0:
        raise ValueError("bayes_accuracy needs at least one pair, got an empty true_delta")
    return float(np.mean(sigmoid(np.abs(true_delta))))


def expected_accuracy(true_delta: ArrayLike, learned_delta: ArrayLike) -> float:
    """Label accuracy expected without sampling noise, given Bradley-Terry labels from r*.

    A pair with true margin Δ* is labelled in r*'s order with probability σ(|Δ*|). A model that
    orders it as r* does (``learned_delta * true_delta > 0``) is right with that probability,
    otherwise with 1 − σ(|Δ*|); the mean over pairs is returned. With ``learned_delta =
    true_delta`` this is :func:`bayes_accuracy`.

    Examples
    --------
    >>> round(expected_accuracy(np.array([2.0, -1.0, 0.0]), np.array([0.5, 0.3, 1.0])), 6)
    0.549913
    """
    true_delta, learned_delta = _margins(true_delta, learned_delta)
    right = sigmoid(np.abs(true_delta))
    return float(np.mean(np.where(learned_delta * true_delta > 0, right, 1.0 - right)))


def spearman(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman's rank correlation: Pearson's correlation of the ranks (ties share their mean).

    Examples
    --------
    >>> spearman(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 4.0, 9.0, 16.0]))
    1.0
    >>> round(spearman(np.array([1.0, 2.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0, 0.0])), 6)
    -0.948683
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(
            f"spearman needs two 1-d arrays of one length >= 2, got {a.shape}, {b.shape}"
        )
    if np.all(a == a[0]) or np.all(b == b[0]):
        raise ValueError("spearman is undefined when one array is constant")
    return float(stats.spearmanr(a, b).statistic)


def accuracy_by_margin(
    true_delta: ArrayLike, learned_delta: ArrayLike, edges: ArrayLike
) -> dict[str, np.ndarray]:
    """Per bucket of |Δ*| (``edges[i] <= |Δ*| < edges[i+1]``): how often the model orders pairs
    as r* does (``"agreement"``), its expected label accuracy (``"expected"``), the Bayes
    ceiling (``"bayes"``) and the number of pairs (``"count"``; empty buckets give NaN rates).

    Examples
    --------
    >>> out = accuracy_by_margin(np.array([0.5, 0.7, 3.0]), np.array([1.0, -1.0, 2.0]),
    ...                          np.array([0.0, 1.0, 5.0]))
    >>> out["agreement"], out["count"]
    (array([0.5, 1. ]), array([2, 1]))
    """
    true_delta, learned_delta = _margins(true_delta, learned_delta)
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must be an increasing 1-d array of >= 2 values, got {edges}")
    size = np.abs(true_delta)
    agree = learned_delta * true_delta > 0
    right = sigmoid(size)
    out = {name: np.full(edges.size - 1, np.nan) for name in ("agreement", "expected", "bayes")}
    out["count"] = np.zeros(edges.size - 1, dtype=int)
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        inside = (size >= lo) & (size < hi)
        out["count"][i] = int(inside.sum())
        if inside.any():
            out["agreement"][i] = agree[inside].mean()
            out["expected"][i] = np.where(agree, right, 1 - right)[inside].mean()
            out["bayes"][i] = right[inside].mean()
    return out


def calibration_curve(learned_delta: ArrayLike, n_bins: int = 10) -> dict[str, np.ndarray]:
    """Predicted P(first preferred) = σ(Δ) against the observed frequency, in equal-width bins.

    Every pair is counted in both orders: (chosen, rejected) predicted σ(Δ), observed 1, and
    (rejected, chosen) predicted 1 − σ(Δ), observed 0; otherwise every observation would be 1.
    Returns ``"predicted"`` (mean prediction per non-empty bin), ``"observed"`` and ``"count"``.

    Examples
    --------
    >>> out = calibration_curve(np.array([0.0, 0.0]), n_bins=2)
    >>> out["predicted"], out["observed"], out["count"]
    (array([0.5]), array([0.5]), array([4]))
    """
    positive_int(n_bins, "n_bins")
    p = sigmoid(np.asarray(learned_delta, dtype=float))
    predicted = np.concatenate([p, 1.0 - p])
    observed = np.concatenate([np.ones_like(p), np.zeros_like(p)])
    bins = np.minimum((predicted * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    used = count > 0
    return {
        "predicted": (np.bincount(bins, predicted, n_bins)[used] / count[used]),
        "observed": (np.bincount(bins, observed, n_bins)[used] / count[used]),
        "count": count[used],
    }
