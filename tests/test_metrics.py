"""Metrics of a reward model against the true reward: hand cases, bad input, the Bayes ceiling."""

import math

import numpy as np
import pytest

from rmcourse import metrics


def sig(x):
    return 1 / (1 + np.exp(-x))


def test_spearman_is_pearsons_correlation_of_the_mid_ranks_by_hand():
    a, b = np.array([1.0, 2.0, 2.0, 3.0, 5.0]), np.array([20.0, 10.0, 40.0, 30.0, 90.0])
    # ranks 1, 2.5, 2.5, 4, 5 (the tie shares 2 and 3) and 2, 1, 4, 3, 5; both have mean 3, so
    # the deviations are (-2, -0.5, -0.5, 1, 2) and (-1, -2, 1, 0, 2): sums of products 6.5,
    # of squares 9.5 and 10
    got = metrics.spearman(a, b)
    assert type(got) is float
    assert got == pytest.approx(6.5 / math.sqrt(9.5 * 10.0), abs=1e-12)
    assert metrics.spearman(b, a) == pytest.approx(got, abs=1e-12)  # symmetric


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [(np.ones(4), np.arange(4.0), "constant"), (np.arange(3.0), np.arange(4.0), "one length"),
     (np.arange(1.0), np.arange(1.0), ">= 2")],
)  # fmt: skip
def test_spearman_refuses_what_it_cannot_rank(a, b, message):
    with pytest.raises(ValueError, match=message):
        metrics.spearman(a, b)


def test_bayes_accuracy_is_mean_sigma_of_the_true_margin():
    true = np.array([0.5, -2.0, 3.0, 0.0])
    assert metrics.bayes_accuracy(true) == pytest.approx(np.mean(sig(np.abs(true))))
    assert metrics.bayes_accuracy(np.zeros(3)) == 0.5  # coin flips: nobody beats chance
    with pytest.raises(ValueError, match="at least one pair"):
        metrics.bayes_accuracy(np.array([]))


def test_expected_accuracy_hand_case():
    # Δ* = 2 ordered right: σ(2); Δ* = -1 ordered wrong: 1 - σ(1); a learned tie counts as wrong
    got = metrics.expected_accuracy(np.array([2.0, -1.0, 1.0]), np.array([0.5, 0.3, 0.0]))
    assert got == pytest.approx((sig(2.0) + (1 - sig(1.0)) + (1 - sig(1.0))) / 3)
    true = np.array([0.5, -2.0, 3.0])
    assert metrics.expected_accuracy(true, 7 * true) == pytest.approx(metrics.bayes_accuracy(true))
    with pytest.raises(ValueError, match="one non-empty shape"):
        metrics.expected_accuracy(true, true[:2])


def test_accuracy_by_margin_hand_case():
    out = metrics.accuracy_by_margin(
        np.array([0.2, -0.4, 1.5, -3.0]),
        np.array([1.0, 1.0, 2.0, -1.0]),
        np.array([0.0, 1.0, 10.0]),
    )
    np.testing.assert_array_equal(out["count"], [2, 2])
    np.testing.assert_allclose(out["agreement"], [0.5, 1.0])
    np.testing.assert_allclose(out["bayes"], [(sig(0.2) + sig(0.4)) / 2, (sig(1.5) + sig(3.0)) / 2])
    np.testing.assert_allclose(out["expected"], [(sig(0.2) + 1 - sig(0.4)) / 2, out["bayes"][1]])
    with pytest.raises(ValueError, match="increasing"):
        metrics.accuracy_by_margin(np.ones(2), np.ones(2), np.array([1.0, 0.0]))


def test_calibration_curve_hand_case():
    out = metrics.calibration_curve(np.array([np.log(3.0), 0.0]), n_bins=4)
    np.testing.assert_allclose(out["predicted"], [0.25, 0.5, 0.75])
    np.testing.assert_allclose(out["observed"], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(out["count"], [1, 2, 1])
    with pytest.raises(ValueError, match="n_bins must be a positive integer"):
        metrics.calibration_curve(np.zeros(2), n_bins=0)
