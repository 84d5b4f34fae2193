"""The quiz's figures as PNG bytes: a question's training log, and the explorer's loss curve."""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

import numpy as np

from rmcourse.np_loss import log_sigmoid
from rmcourse.quiz.content import Question

FIGURE_DPI = 80


def log_figure_png(question: Question) -> bytes:
    """The question's training log drawn as a PNG, one panel per entry of ``log["panels"]``."""
    if question.log is None:
        raise ValueError(f"question {question.id!r} has no training log to draw")
    return _log_png(question)


@lru_cache(maxsize=32)
def _log_png(question: Question) -> bytes:
    import matplotlib.pyplot as plt

    from rmcourse.plots import plot_learning_curves

    panels = question.log["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.0), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        history = {"step": question.log["step"], **panel["series"]}
        plot_learning_curves(history, ax=ax, title=panel["ylabel"], ylabel=panel["ylabel"])
        if "ylim" in panel:
            ax.set_ylim(*panel["ylim"])
    fig.suptitle(f"Training log ({question.id})")
    fig.tight_layout()
    png = _png(fig)
    plt.close(fig)
    return png


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI)
    return buffer.getvalue()


class LossCurveFigure:
    """One pair's loss and |gradient| against the margin, with a movable point; redrawn cheaply.

    Examples
    --------
    >>> figure = LossCurveFigure(span=6.0)
    >>> figure.png({"margin": 0.0, "loss": 0.693, "grad_chosen": -0.5})[:4]
    b'\\x89PNG'
    """

    def __init__(self, span: float) -> None:
        import matplotlib.pyplot as plt

        self.fig, ax = plt.subplots(figsize=(5.6, 3.0))
        plt.close(self.fig)  # drawn on demand, never shown by pyplot
        grid = np.linspace(-span, span, 401)
        ax.plot(grid, -log_sigmoid(grid), label="loss −log σ(Δ)")
        ax.plot(grid, np.exp(log_sigmoid(-grid)), label="|∂L/∂r(x, y_w)| = σ(−Δ)")
        (self.loss_point,) = ax.plot([], [], "o", color="C0", markersize=8)
        (self.grad_point,) = ax.plot([], [], "o", color="C1", markersize=8)
        ax.set_title("One pair's loss against its margin")
        ax.set_xlabel("margin Δ = r(x, y_w) − r(x, y_l)")
        ax.set_ylabel("loss / gradient magnitude")
        ax.legend(loc="upper right")
        self.fig.tight_layout()

    def png(self, values: dict[str, float]) -> bytes:
        """The figure with its points at ``values`` (``margin``, ``loss``, ``grad_chosen``)."""
        self.loss_point.set_data([values["margin"]], [values["loss"]])
        self.grad_point.set_data([values["margin"]], [-values["grad_chosen"]])
        return _png(self.fig)
