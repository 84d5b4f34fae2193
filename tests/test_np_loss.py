"""Tests of rmcourse.np_loss: values by hand, properties, stability, gradients, bad input."""

import itertools
import math
import warnings

import numpy as np
import pytest

from rmcourse.np_loss import bt_loss, bt_loss_grad, log_sigmoid, ranking_loss

LN2 = math.log(2.0)


def softplus(x: float) -> float:
    """-log sigma(-x) = log(1 + e^x), for the hand-computed expectations."""
    return math.log1p(math.exp(x))


# --- log_sigmoid


def test_log_sigmoid_matches_minus_log1p_exp_minus_x_at_moderate_values():
    """Where exp(-x) cannot overflow, -log1p(exp(-x)) is an accurate reference."""
    x = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(log_sigmoid(x), -np.log1p(np.exp(-x)), rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_log_sigmoid_is_exact_and_silent_at_plus_minus_1e4(dtype):
    """log sigma(-1e4) = -1e4, log sigma(1e4) = 0, no overflow/invalid/underflow warning."""
    x = np.array([-1e4, -1e3, 0.0, 1e3, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        out = log_sigmoid(x)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.astype(np.float64), [-1e4, -1e3, -LN2, 0.0, 0.0], rtol=1e-3)
    assert out[-1] == 0.0 and out[0] == dtype(-1e4)


def test_log_sigmoid_promotes_integers_and_keeps_scalars_scalar():
    assert log_sigmoid(0) == pytest.approx(-LN2, rel=1e-15)
    assert log_sigmoid(np.array([0, 2])).dtype == np.float64
    assert np.ndim(log_sigmoid(1.5)) == 0


@pytest.mark.parametrize("bad", [["a", "b"], [True, False], [1 + 2j]])
def test_log_sigmoid_refuses_non_real_input(bad):
    with pytest.raises(TypeError, match="x must hold real numbers"):
        log_sigmoid(bad)


# --- bt_loss: values by hand


@pytest.mark.parametrize("r", [0.0, -3.5, 1e4])
def test_equal_rewards_give_ln2(r):
    assert bt_loss([r, r], [r, r]) == pytest.approx(LN2, rel=1e-15)


def test_delta_two_gives_log1p_exp_minus_two():
    assert bt_loss([2.0], [0.0]) == pytest.approx(math.log1p(math.exp(-2.0)), rel=1e-15)
    assert bt_loss(5.0, 3.0) == pytest.approx(math.log1p(math.exp(-2.0)), rel=1e-15)


def test_three_pair_dataset_is_the_average_of_its_pair_losses():
    """Deltas 1, 0, -2: (log(1+e^-1) + ln 2 + log(1+e^2)) / 3."""
    expected = (softplus(-1.0) + LN2 + softplus(2.0)) / 3
    assert bt_loss([1.0, 0.5, -1.0], [0.0, 0.5, 1.0]) == pytest.approx(expected, rel=1e-15)


def test_weighted_loss_is_the_weighted_mean_of_pair_losses():
    """Weights 1, 2, 1 on deltas 1, 0, -2: (l1 + 2 ln2 + l3) / 4."""
    r_c, r_r = [1.0, 0.5, -1.0], [0.0, 0.5, 1.0]
    expected = (softplus(-1.0) + 2 * LN2 + softplus(2.0)) / 4
    assert bt_loss(r_c, r_r, weights=[1.0, 2.0, 1.0]) == pytest.approx(expected, rel=1e-15)


def test_equal_weights_equal_no_weights_and_zero_weight_drops_a_pair():
    rng = np.random.default_rng(0)
    r_c, r_r = rng.normal(size=5), rng.normal(size=5)
    assert bt_loss(r_c, r_r, weights=np.full(5, 3.0)) == pytest.approx(bt_loss(r_c, r_r), 1e-14)
    w = np.array([1.0, 1.0, 0.0, 1.0, 1.0])
    keep = w > 0
    assert bt_loss(r_c, r_r, weights=w) == pytest.approx(bt_loss(r_c[keep], r_r[keep]), 1e-14)


# --- bt_loss: margin and invariances


def test_margin_equals_its_definition_scalar_and_per_pair():
    """-log sigma(r_c - r_r - m) is the loss of the shifted chosen rewards r_c - m."""
    rng = np.random.default_rng(1)
    r_c, r_r, m = rng.normal(size=6), rng.normal(size=6), rng.uniform(0, 2, size=6)
    assert bt_loss(r_c, r_r, margin=m) == pytest.approx(bt_loss(r_c - m, r_r), rel=1e-14)
    assert bt_loss(r_c, r_r, margin=0.7) == pytest.approx(bt_loss(r_c - 0.7, r_r), rel=1e-14)
    assert bt_loss(r_c, r_r, margin=np.full(6, 0.7)) == bt_loss(r_c, r_r, margin=0.7)
    assert bt_loss(r_c, r_r, margin=0.0) == bt_loss(r_c, r_r)


def test_a_positive_margin_increases_the_loss():
    assert bt_loss([1.0], [0.0], margin=1.0) == pytest.approx(LN2) and LN2 > bt_loss([1.0], [0.0])


def test_loss_is_invariant_to_adding_one_constant_to_all_rewards():
    rng = np.random.default_rng(2)
    r_c, r_r = rng.normal(size=8), rng.normal(size=8)
    for c in (-7.0, 0.25, 100.0):
        assert bt_loss(r_c + c, r_r + c) == pytest.approx(bt_loss(r_c, r_r), rel=1e-12)


# --- stability


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_loss_and_gradient_are_exact_at_delta_plus_minus_1e4(dtype):
    """Delta = -1e4: loss 1e4, gradient -1/n; delta = +1e4: loss 0, gradient 0."""
    big = np.array([1e4], dtype=dtype)
    zero = np.zeros(1, dtype=dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        assert bt_loss(zero, big) == 1e4
        assert bt_loss(big, zero) == 0.0
        g_c, g_r = bt_loss_grad(np.array([0.0, 1e4], dtype), np.array([1e4, 0.0], dtype))
    np.testing.assert_array_equal(g_c, [-0.5, 0.0])
    np.testing.assert_array_equal(g_r, [0.5, 0.0])


# --- gradient


def _finite_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


@pytest.mark.parametrize("with_margin", [False, True])
@pytest.mark.parametrize("with_weights", [False, True])
def test_gradient_matches_central_finite_differences(with_margin, with_weights):
    rng = np.random.default_rng(3)
    r_c, r_r = rng.normal(size=7) * 3, rng.normal(size=7) * 3
    m = rng.uniform(0, 1, size=7) if with_margin else 0.0
    w = rng.uniform(0, 2, size=7) if with_weights else None
    g_c, g_r = bt_loss_grad(r_c, r_r, margin=m, weights=w)
    fd_c = _finite_difference(lambda x: bt_loss(x, r_r, margin=m, weights=w), r_c)
    fd_r = _finite_difference(lambda x: bt_loss(r_c, x, margin=m, weights=w), r_r)
    # central differences with h = 1e-6 carry ~1e-10 rounding error (eps * L / h)
    np.testing.assert_allclose(g_c, fd_c, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(g_r, fd_r, rtol=1e-6, atol=1e-9)


def test_gradient_by_hand_and_its_shape():
    """Equal rewards: dL/dr_c = -sigma(0)/n = -1/(2n); g_r = -g_c; shape kept."""
    g_c, g_r = bt_loss_grad(np.zeros((2, 2)), np.zeros((2, 2)))
    np.testing.assert_array_equal(g_c, np.full((2, 2), -1 / 8))
    np.testing.assert_array_equal(g_r, -g_c)


# --- ranking_loss


def test_ranking_loss_with_k_2_equals_bt_loss():
    rng = np.random.default_rng(4)
    rewards = rng.normal(size=(9, 2))
    assert ranking_loss(rewards) == pytest.approx(bt_loss(rewards[:, 0], rewards[:, 1]), 1e-14)


def test_ranking_loss_by_hand_k_3():
    """Row (3, 1, 0): pairs with deltas 2, 3, 1; the mean of their -log sigma."""
    expected = (softplus(-2.0) + softplus(-3.0) + softplus(-1.0)) / 3
    assert ranking_loss([[3.0, 1.0, 0.0]]) == pytest.approx(expected, rel=1e-15)


def test_ranking_loss_is_the_mean_over_prompts_of_the_mean_pair_loss():
    rng = np.random.default_rng(5)
    rewards = rng.normal(size=(4, 5))
    per_prompt = [
        np.mean([bt_loss(row[i], row[j]) for i, j in itertools.combinations(range(5), 2)])
        for row in rewards
    ]
    assert ranking_loss(rewards) == pytest.approx(np.mean(per_prompt), rel=1e-14)


def test_ranking_loss_is_invariant_to_a_constant_per_prompt_and_prefers_the_right_order():
    rng = np.random.default_rng(6)
    rewards = np.sort(rng.normal(size=(3, 4)), axis=1)[:, ::-1]  # each row best first
    shifted = rewards + np.array([[-5.0], [0.5], [40.0]])
    assert ranking_loss(shifted) == pytest.approx(ranking_loss(rewards), rel=1e-12)
    assert ranking_loss(rewards) < LN2 < ranking_loss(rewards[:, ::-1])


# --- bad input


@pytest.mark.parametrize("fn", [bt_loss, bt_loss_grad])
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"r_chosen": [1.0, 2.0], "r_rejected": [1.0]}, r"same shape, got \(2,\) and \(1,\)"),
        ({"r_chosen": [], "r_rejected": []}, "empty"),
        ({"r_chosen": [np.nan], "r_rejected": [0.0]}, "r_chosen must be finite, got nan"),
        ({"r_chosen": [0.0], "r_rejected": [np.inf]}, "r_rejected must be finite, got inf"),
        ({"r_chosen": [0.0], "r_rejected": [0.0], "margin": np.nan}, "margin must be finite"),
        (
            {"r_chosen": [0.0, 1.0], "r_rejected": [0.0, 1.0], "margin": [1.0, 2.0, 3.0]},
            r"margin must be a scalar or have the shape of the rewards \(2,\), got \(3,\)",
        ),
        (
            {"r_chosen": [0.0, 1.0], "r_rejected": [0.0, 1.0], "weights": [1.0, -0.5]},
            "weights must be non-negative, got -0.5",
        ),
        (
            {"r_chosen": [0.0, 1.0], "r_rejected": [0.0, 1.0], "weights": [0.0, 0.0]},
            "weights are all zero",
        ),
        (
            {"r_chosen": [0.0, 1.0], "r_rejected": [0.0, 1.0], "weights": [1.0]},
            r"weights must have the shape of the rewards \(2,\), got \(1,\)",
        ),
    ],
)
def test_bad_pairs_raise_value_error_naming_the_problem(fn, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(**kwargs)


def test_non_numeric_rewards_raise_type_error():
    with pytest.raises(TypeError, match="r_chosen must hold real numbers, got dtype <U1"):
        bt_loss(["a"], [0.0])
    with pytest.raises(TypeError, match="r_rejected must hold real numbers, got dtype object"):
        bt_loss([0.0], [None])


@pytest.mark.parametrize(
    ("rewards", "match"),
    [
        ([1.0, 2.0], r"must be 2-D of shape \(B, K\), got shape \(2,\)"),
        ([[1.0], [2.0]], "K >= 2 responses per prompt to rank, got K = 1"),
        (np.zeros((0, 3)), "got B = 0 prompts"),
        ([[1.0, np.inf]], "rewards must be finite, got inf"),
    ],
)
def test_bad_rankings_raise_value_error_naming_the_problem(rewards, match):
    with pytest.raises(ValueError, match=match):
        ranking_loss(rewards)


def test_sigmoid_is_exp_of_log_sigmoid_and_symmetric_without_warnings():
    import warnings

    from rmcourse.np_loss import sigmoid

    x = np.array([-1e4, -30.0, -1.0, 0.0, 2.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(x)
    np.testing.assert_allclose(s[1:-1], 1.0 / (1.0 + np.exp(-x[1:-1])), rtol=1e-14)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    np.testing.assert_allclose(s + sigmoid(-x), 1.0, rtol=1e-14)
