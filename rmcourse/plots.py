"""Figures of the course, drawn from plain numbers (arrays, dicts of lists).

This module knows no training code: every function takes arrays or a history dict and returns
the matplotlib ``Axes`` it drew on, so a notebook, the quiz or a test can call it with numbers
typed by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes


def _new_axes(ax: Axes | None, figsize: tuple[float, float] = (5.0, 3.5)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _label(ax: Axes, title: str, xlabel: str, ylabel: str, legend: bool = True) -> Axes:
    """Title and axis labels (every figure has them), and the legend of the labelled lines."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend:
        ax.legend()
    return ax


def _paired(
    a: np.ndarray, b: np.ndarray, name_a: str, name_b: str
) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``b`` as float arrays of one shape; ValueError naming both shapes otherwise."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"{name_a} {a.shape} and {name_b} {b.shape} differ")
    return a, b


def _nonempty_1d(values: np.ndarray, name: str, dtype: type | None = None) -> np.ndarray:
    """``values`` as an array (of ``dtype`` when given); ValueError unless 1-d and not empty."""
    arr = np.asarray(values, dtype=dtype)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array, got shape {arr.shape}")
    return arr


def _styles(
    labels: Iterable[str], colors: Mapping[str, str] | None, what: str
) -> dict[str, dict[str, str]]:
    """Each label's colour from ``colors``, which must give every label one (ValueError naming
    the ``what`` it leaves out); without ``colors``, none (each line takes the axes' next one)."""
    if colors is None:
        return {label: {} for label in labels}
    uncoloured = sorted(set(labels) - set(colors))
    if uncoloured:
        raise ValueError(f"colors gives no colour to the {what} {uncoloured}")
    return {label: {"color": colors[label]} for label in labels}


def plot_learning_curves(
    history: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    metrics: Sequence[str] | None = None,
    title: str = "Learning curves",
    ylabel: str = "value",
) -> Axes:
    """Draw one line per metric of ``history`` against its ``"step"`` list.

    Signature: ``plot_learning_curves(history, ax=None, metrics=None, title="Learning curves",
    ylabel="value") -> matplotlib.axes.Axes``.

    Parameters
    ----------
    history : mapping of str to sequence of float
        ``{"step": [...], "loss": [...], "accuracy": [...], ...}``: a ``"step"`` list and one
        list of floats per metric, each as long as ``"step"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when omitted.
    metrics : sequence of str, optional
        Which metrics to draw, in order; default: every key except ``"step"``.
    title, ylabel : str
        Title and y-axis label. The x-axis is labelled "optimiser step".

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on, one line per metric, labelled with the metric's name.

    Raises
    ------
    ValueError
        If ``"step"`` is missing, a metric is missing, or a list's length differs from ``"step"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_learning_curves({"step": [0, 1, 2], "loss": [0.69, 0.5, 0.4]})
    >>> [line.get_label() for line in ax.get_lines()], ax.get_xlabel()
    (['loss'], 'optimiser step')
    """
    if "step" not in history:
        raise ValueError(f"history needs a 'step' list; it has keys {sorted(history)}")
    steps = np.asarray(history["step"], dtype=float)
    names = [k for k in history if k != "step"] if metrics is None else list(metrics)
    if not names:
        raise ValueError("history has no metric besides 'step' to draw")
    ax = _new_axes(ax)
    for name in names:
        if name not in history:
            raise ValueError(f"metric {name!r} not in history (keys: {sorted(history)})")
        values = np.asarray(history[name], dtype=float)
        if values.shape != steps.shape:
            raise ValueError(
                f"metric {name!r} has {values.size} values but 'step' has {steps.size}"
            )
        ax.plot(steps, values, label=name)
    return _label(ax, title, "optimiser step", ylabel)


def plot_reward_scatter(
    true_reward: np.ndarray,
    learned_reward: np.ndarray,
    ax: Axes | None = None,
    title: str = "Learned vs true reward",
) -> Axes:
    """Scatter learned rewards against the hidden true rewards of the same responses.

    A reward model is only identified up to an additive constant (the loss sees differences), so
    look for a monotone trend, not the diagonal.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_reward_scatter(np.array([0.0, 1.0, 2.0]), np.array([0.1, 0.9, 2.5]))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('true reward r*(x, y)', 'learned reward r(x, y)')
    """
    true_reward, learned_reward = _paired(
        true_reward, learned_reward, "true_reward", "learned_reward"
    )
    ax = _new_axes(ax)
    ax.scatter(true_reward, learned_reward, s=6, alpha=0.4)
    return _label(ax, title, "true reward r*(x, y)", "learned reward r(x, y)", legend=False)


def plot_calibration(
    predicted: np.ndarray,
    observed: np.ndarray,
    counts: np.ndarray | None = None,
    ax: Axes | None = None,
    title: str = "Calibration",
) -> Axes:
    """Observed preference frequency against predicted σ(Δ), per bin, with the diagonal.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> counts = np.array([40, 25, 35])  # pairs per bin, written beside its point
    >>> ax = plot_calibration(np.array([0.2, 0.5, 0.8]), np.array([0.25, 0.5, 0.7]), counts)
    >>> len(ax.get_lines()), [text.get_text() for text in ax.texts]
    (2, ['40', '25', '35'])
    """
    predicted, observed = _paired(predicted, observed, "predicted", "observed")
    ax = _new_axes(ax)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    ax.plot(predicted, observed, marker="o", label="model")
    if counts is not None:
        for p, o, n in zip(predicted, observed, np.asarray(counts), strict=True):
            ax.annotate(
                f"{int(n)}", (p, o), textcoords="offset points", xytext=(3, -10), fontsize=7
            )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    return _label(ax, title, "predicted P(first answer chosen) = σ(r₁ − r₂)", "observed frequency")


def plot_accuracy_by_bucket(
    bucket_edges: np.ndarray,
    accuracies: Mapping[str, np.ndarray],
    ceiling: np.ndarray | None = None,
    ax: Axes | None = None,
    title: str = "Accuracy by true margin |Δ*|",
) -> Axes:
    """Grouped bars: each model's accuracy in each bucket of true margin, optional ceiling line.

    ``bucket_edges`` has one more entry than each accuracy array.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_accuracy_by_bucket(np.array([0.0, 1.0, 2.0]), {"model": np.array([0.6, 0.9])})
    >>> len(ax.patches)
    2
    """
    edges = np.asarray(bucket_edges, dtype=float)
    n_buckets = edges.size - 1
    for name, acc in accuracies.items():
        if np.asarray(acc).shape != (n_buckets,):
            raise ValueError(
                f"accuracies[{name!r}] has shape {np.asarray(acc).shape}, expected ({n_buckets},)"
            )
    ax = _new_axes(ax)
    x = np.arange(n_buckets)
    width = 0.8 / max(len(accuracies), 1)
    for i, (name, acc) in enumerate(accuracies.items()):
        ax.bar(x + (i - (len(accuracies) - 1) / 2) * width, acc, width=width, label=name)
    if ceiling is not None:
        ax.plot(
            x,
            ceiling,
            color="black",
            marker="_",
            linestyle="none",
            markersize=20,
            label="Bayes ceiling",
        )
    ax.set_xticks(x, [f"{lo:.1f}–{hi:.1f}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)])
    ax.set_ylim(0, 1)
    return _label(ax, title, "true margin |r*(x, y_1) − r*(x, y_2)|", "accuracy")


def plot_bon_curves(
    x: np.ndarray,
    curves: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
    ax: Axes | None = None,
    dashed: Sequence[str] = (),
    colors: Mapping[str, str] | None = None,
    title: str = "Best-of-n",
    xlabel: str = "KL(π_bon ‖ π_ref) = log n − (n − 1)/n  (nats)",
    ylabel: str = "reward of the answer kept",
) -> Axes:
    """One line per curve against ``x`` (KL or √KL of best-of-n), with error bars when given.

    ``curves`` maps a label to ``(mean, err)``, each as long as ``x`` (``err`` may be None);
    labels in ``dashed`` are drawn dashed (e.g. proxy rewards beside gold ones). ``colors`` maps
    every label to a matplotlib colour, so that one curve keeps its colour across panels and
    figures; without it each curve takes the next colour of the axes' cycle.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_bon_curves(np.array([0.0, 0.2, 0.6]),
    ...                      {"gold": (np.array([0.5, 1.0, 1.4]), np.array([0.1, 0.1, 0.1])),
    ...                       "proxy": (np.array([0.5, 1.2, 1.9]), None)}, dashed=["proxy"])
    >>> [bars.lines[0].get_linestyle() for bars in ax.containers], ax.get_ylabel()
    (['-', '--'], 'reward of the answer kept')
    >>> ax = plot_bon_curves(np.array([0.0, 1.0]), {"a": ([0.0, 1.0], None)}, colors={"a": "C3"})
    >>> ax.containers[0].lines[0].get_color()
    'C3'
    """
    x = _nonempty_1d(x, "x", dtype=float)
    unknown = set(dashed) - set(curves)
    if unknown:
        raise ValueError(f"dashed names curves that are not drawn: {sorted(unknown)}")
    styles = _styles(curves, colors, "curves")
    ax = _new_axes(ax)
    for label, (mean, err) in curves.items():
        mean = np.asarray(mean, dtype=float)
        if mean.shape != x.shape or (err is not None and np.shape(err) != x.shape):
            raise ValueError(f"curve {label!r} must have the shape of x, {x.shape}")
        ax.errorbar(x, mean, yerr=err, marker="o", markersize=3, capsize=2, label=label,
                    linestyle="--" if label in dashed else "-", **styles[label])  # fmt: skip
    return _label(ax, title, xlabel, ylabel)


def plot_reward_by_length(
    lengths: np.ndarray,
    rewards: Mapping[str, np.ndarray],
    ax: Axes | None = None,
    colors: Mapping[str, str] | None = None,
    title: str = "Reward against answer length",
) -> Axes:
    """Mean reward per answer length (words), one line per scorer, each centred at mean 0.

    Rewards of a Bradley-Terry model are identified only up to a constant, so each series is
    shifted to mean 0 over all answers before averaging per length; the slopes compare.
    ``colors`` maps every label to a matplotlib colour (as in :func:`plot_bon_curves`, so that a
    scorer keeps its colour across figures); without it each line takes the axes' next colour.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_reward_by_length(np.array([4, 4, 6, 6]), {"r*": np.array([1.0, 3.0, 0.0, 0.0])})
    >>> ax.get_lines()[0].get_ydata().tolist()
    [1.0, -1.0]
    """
    lengths = _nonempty_1d(lengths, "lengths")
    styles = _styles(rewards, colors, "series")
    ax = _new_axes(ax)
    values = np.unique(lengths)
    for label, reward in rewards.items():
        reward = np.asarray(reward, dtype=float)
        if reward.shape != lengths.shape:
            raise ValueError(f"rewards[{label!r}] has shape {reward.shape}, not {lengths.shape}")
        centred = reward - reward.mean()
        ax.plot(values, [centred[lengths == v].mean() for v in values], marker="o", label=label,
                **styles[label])  # fmt: skip
    return _label(ax, title, "answer length (words)", "mean reward − its overall mean")
