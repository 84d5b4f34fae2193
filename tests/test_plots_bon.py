"""Lesson 06's figures: best-of-n curves and reward against answer length, arrays in, Axes out."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rmcourse.plots import plot_bon_curves, plot_reward_by_length  # noqa: E402


def test_bon_curves_draw_one_line_per_curve_with_error_bars():
    x = np.sqrt([0.0, 0.19, 0.64])
    ax = plot_bon_curves(x, {"gold": (np.array([0.5, 1.0, 1.4]), np.array([0.1, 0.2, 0.3])),
                             "proxy": (np.array([0.5, 1.2, 1.9]), None)},
                         dashed=["proxy"], xlabel="√KL", title="t")  # fmt: skip
    gold, proxy = ax.containers
    assert gold.lines[0].get_ydata().tolist() == [0.5, 1.0, 1.4]
    assert gold.has_yerr and not proxy.has_yerr
    assert [gold.lines[0].get_linestyle(), proxy.lines[0].get_linestyle()] == ["-", "--"]
    assert (ax.get_xlabel(), ax.get_title()) == ("√KL", "t")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["gold", "proxy"]


@pytest.mark.parametrize(
    ("x", "curves", "dashed", "message"),
    [(np.zeros(3), {"a": (np.zeros(2), None)}, (), "shape of x"),
     (np.zeros(3), {"a": (np.zeros(3), np.zeros(2))}, (), "shape of x"),
     (np.zeros((3, 1)), {"a": (np.zeros(3), None)}, (), "1-d"),
     (np.zeros(3), {"a": (np.zeros(3), None)}, ("b",), "not drawn")],
)  # fmt: skip
def test_bon_curves_reject_bad_input(x, curves, dashed, message):
    with pytest.raises(ValueError, match=message):
        plot_bon_curves(x, curves, dashed=dashed)


def test_bon_curves_keep_one_colour_per_curve_across_panels():
    """The same label gets the same colour whatever else a panel draws, and in whatever order."""
    colors = {"gold": "tab:blue", "proxy": "tab:blue", "r*": "tab:green", "small": "tab:red"}
    x = np.array([0.0, 1.0])
    left = plot_bon_curves(x, {"gold": ([0, 1], None), "proxy": ([0, 2], None),
                               "r*": ([0, 3], None)}, colors=colors)  # fmt: skip
    right = plot_bon_curves(x, {"small": ([0, 1], None), "r*": ([0, 3], None)}, colors=colors)
    drawn = {}
    for ax in (left, right):
        for bars in ax.containers:
            drawn.setdefault(bars.get_label(), set()).add(bars.lines[0].get_color())
    assert drawn == {name: {colour} for name, colour in colors.items()}
    with pytest.raises(ValueError, match=r"no colour to the curves \['r\*'\]"):
        plot_bon_curves(x, {"r*": ([0, 3], None)}, colors={"gold": "C0"})


def test_reward_by_length_centres_each_series_and_averages_per_length():
    lengths = np.array([4, 4, 6, 6, 9])
    ax = plot_reward_by_length(lengths, {"r*": np.array([1.0, 3.0, 0.0, 0.0, 1.0]),
                                         "model": np.array([0.0, 0.0, 1.0, 1.0, 3.0])})  # fmt: skip
    star, model = ax.get_lines()
    assert star.get_xdata().tolist() == [4, 6, 9]
    np.testing.assert_allclose(star.get_ydata(), [1.0, -1.0, 0.0])
    np.testing.assert_allclose(model.get_ydata(), [-1.0, 0.0, 2.0])
    assert ax.get_xlabel() == "answer length (words)"


def test_reward_by_length_draws_each_series_in_its_given_colour():
    lengths = np.array([4, 6])
    colors = {"r*": "tab:green", "biased": "tab:red"}
    ax = plot_reward_by_length(lengths, {"biased": np.array([0.0, 1.0]),
                                         "r*": np.array([1.0, 0.0])}, colors=colors)  # fmt: skip
    assert {line.get_label(): line.get_color() for line in ax.get_lines()} == colors
    with pytest.raises(ValueError, match=r"no colour to the series \['r\*'\]"):
        plot_reward_by_length(lengths, {"r*": np.zeros(2)}, colors={"biased": "C0"})


def test_reward_by_length_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        plot_reward_by_length(np.array([1, 2]), {"r": np.zeros(3)})
    with pytest.raises(ValueError, match="non-empty"):
        plot_reward_by_length(np.array([]), {})
