"""Figures drawn from plain numbers: what is drawn, labels, and bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rmcourse import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_learning_curves_draw_each_metric_against_step():
    history = {"step": [1, 2, 3], "loss": [0.7, 0.6, 0.5], "accuracy": [0.5, 0.6, 0.7]}
    ax = plots.plot_learning_curves(history, title="t", ylabel="y")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"loss", "accuracy"}
    np.testing.assert_array_equal(lines["loss"].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines["accuracy"].get_ydata(), [0.5, 0.6, 0.7])
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("t", "optimiser step", "y")


def test_learning_curves_on_given_axes_with_chosen_metrics():
    _, ax = plt.subplots()
    out = plots.plot_learning_curves({"step": [0, 1], "loss": [1, 0], "lr": [0, 1]}, ax=ax,
                                     metrics=["lr"])  # fmt: skip
    assert out is ax
    assert [line.get_label() for line in ax.get_lines()] == ["lr"]


@pytest.mark.parametrize(
    ("history", "kwargs", "message"),
    [({"loss": [1.0]}, {}, "needs a 'step' list"),
     ({"step": [0]}, {}, "no metric besides 'step'"),
     ({"step": [0, 1], "loss": [1.0]}, {}, "'loss' has 1 values but 'step' has 2"),
     ({"step": [0], "loss": [1.0]}, {"metrics": ["accuracy"]}, "'accuracy' not in history")],
)  # fmt: skip
def test_learning_curves_reject_bad_history(history, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.plot_learning_curves(history, **kwargs)


def test_other_figures_are_labelled_and_check_shapes():
    ax = plots.plot_reward_scatter(np.arange(3.0), np.arange(3.0) * 2)
    np.testing.assert_array_equal(ax.collections[0].get_offsets()[:, 1], [0, 2, 4])
    with pytest.raises(ValueError, match="differ"):
        plots.plot_reward_scatter(np.arange(3.0), np.arange(2.0))
    ax = plots.plot_calibration(np.array([0.3, 0.7]), np.array([0.2, 0.8]), np.array([5, 5]))
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    ax = plots.plot_accuracy_by_bucket(np.array([0.0, 1.0, 2.0]),
                                       {"a": np.array([0.6, 0.9]), "b": np.array([0.5, 0.5])},
                                       ceiling=np.array([0.7, 0.95]))  # fmt: skip
    assert [p.get_height() for p in ax.patches] == [0.6, 0.9, 0.5, 0.5]
    with pytest.raises(ValueError, match=r"expected \(2,\)"):
        plots.plot_accuracy_by_bucket(np.array([0.0, 1.0, 2.0]), {"a": np.array([0.6])})
