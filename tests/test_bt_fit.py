"""Tests of rmcourse.bt_fit.fit_bt_scores: recovery, agreement with other optimisers, existence."""

import math

import choix
import numpy as np
import pytest
from scipy.optimize import minimize

from rmcourse.bt_fit import fit_bt_scores
from rmcourse.np_loss import bt_loss, bt_loss_grad


def simulate(true_scores: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n comparisons of random distinct item pairs, outcomes drawn from the BT model."""
    rng = np.random.default_rng(seed)
    k = true_scores.size
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k  # b != a
    a_wins = rng.random(n) < 1 / (1 + np.exp(-(true_scores[a] - true_scores[b])))
    return np.where(a_wins, a, b), np.where(a_wins, b, a)


def objective(s: np.ndarray, w: np.ndarray, l: np.ndarray, l2: float) -> float:
    """The documented objective, written independently with np.logaddexp."""
    return float(np.mean(np.logaddexp(0.0, -(s[w] - s[l]))) + l2 * np.sum(s**2))


def objective_grad(s: np.ndarray, w: np.ndarray, l: np.ndarray, l2: float) -> np.ndarray:
    """Gradient of ``objective``, assembled from np_loss.bt_loss_grad."""
    g_w, g_l = bt_loss_grad(s[w], s[l])
    return np.bincount(w, g_w, s.size) + np.bincount(l, g_l, s.size) + 2 * l2 * s


@pytest.fixture(scope="module")
def true_scores() -> np.ndarray:
    s = np.random.default_rng(0).normal(size=12)
    return s - s.mean()


@pytest.fixture(scope="module")
def small_data(true_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return simulate(true_scores, 300, seed=1)


# --- closed forms and properties


def test_two_items_give_log_odds_of_wins():
    """a wins k of n against b: s_a - s_b = ln(k / (n - k)), scores centred."""
    s = fit_bt_scores([0, 0, 0, 1], [1, 1, 1, 0], n_items=2)
    assert s[0] - s[1] == pytest.approx(math.log(3.0), rel=1e-12)
    assert s.sum() == pytest.approx(0.0, abs=1e-14)


def test_penalised_two_item_optimum_solves_its_stationarity_equation():
    """One win, l2 = 0.5: s = (a, -a) where d/da [softplus(-2a) + a^2] = 0, i.e. a = sigma(-2a)."""
    a = fit_bt_scores([0], [1], n_items=2, l2=0.5)[0]
    assert a == pytest.approx(1 / (1 + math.exp(2 * a)), rel=1e-12)


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_result_is_centred_and_the_gradient_vanishes(small_data, l2):
    w, l = small_data
    s = fit_bt_scores(w, l, n_items=12, l2=l2)
    assert s.mean() == pytest.approx(0.0, abs=1e-13)
    np.testing.assert_allclose(objective_grad(s, w, l, l2), 0.0, atol=1e-12)


def test_relabelling_items_permutes_scores_and_repeating_data_changes_nothing(small_data):
    w, l = small_data
    s = fit_bt_scores(w, l, n_items=12)
    perm = np.random.default_rng(2).permutation(12)  # item k becomes perm[k]
    s_perm = fit_bt_scores(perm[w], perm[l], n_items=12)
    np.testing.assert_allclose(s_perm[perm], s, atol=1e-10)
    np.testing.assert_allclose(fit_bt_scores(np.tile(w, 3), np.tile(l, 3), 12), s, atol=1e-10)


def test_recovers_simulated_scores_better_with_more_data(true_scores):
    def rmse(n: int) -> float:
        s = fit_bt_scores(*simulate(true_scores, n, seed=3), n_items=12)
        return float(np.sqrt(np.mean((s - true_scores) ** 2)))

    small, large = rmse(1_000), rmse(20_000)
    assert large < small
    # each item is in ~3.3k of 20k comparisons, Fisher information ~0.2 each: sd ~ 0.04
    assert large < 0.1


# --- agreement with independent optimisers on the same objective


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_agrees_with_scipy_bfgs(small_data, l2):
    w, l = small_data
    res = minimize(
        objective,
        np.zeros(12),
        args=(w, l, l2),
        method="BFGS",
        jac=objective_grad,
        options={"gtol": 1e-11, "maxiter": 10_000},
    )
    assert objective(fit_bt_scores(w, l, 12, l2=l2), w, l, l2) <= res.fun + 1e-14
    np.testing.assert_allclose(fit_bt_scores(w, l, 12, l2=l2), res.x - res.x.mean(), atol=1e-6)


@pytest.mark.parametrize("l2", [0.0, 0.01, 1.0])
def test_agrees_with_choix_opt_pairwise(small_data, l2):
    """choix minimises sum_i softplus(-(s_w - s_l)) + alpha * sum s^2, which is n times our
    objective (the loss is a mean over the n comparisons) when alpha = n * l2.
    """
    w, l = small_data
    data = list(zip(w.tolist(), l.tolist(), strict=True))
    theirs = choix.opt_pairwise(12, data, alpha=len(data) * l2, method="Newton-CG", tol=1e-12)
    ours = fit_bt_scores(w, l, 12, l2=l2)
    np.testing.assert_allclose(ours, theirs - theirs.mean(), atol=1e-6)


def test_agrees_with_choix_ilsr_maximum_likelihood(small_data):
    """I-LSR (a different algorithm) with alpha = 0 converges to the same MLE (l2 = 0)."""
    w, l = small_data
    theirs = choix.ilsr_pairwise(12, list(zip(w.tolist(), l.tolist(), strict=True)), tol=1e-12)
    np.testing.assert_allclose(fit_bt_scores(w, l, 12), theirs - theirs.mean(), atol=1e-6)


# --- existence of the MLE (Ford 1957)


@pytest.mark.parametrize(
    ("winners", "losers", "n_items", "match"),
    [
        ([0, 1, 0], [1, 2, 2], 3, r"item\(s\) \[0\] never lose"),
        ([0, 1, 0], [1, 0, 2], 3, r"item\(s\) \[2\] never win"),
        ([0, 1, 2, 1], [1, 0, 1, 2], 4, r"item\(s\) \[3\] appear in no comparison"),
        ([0, 1, 2, 0, 2], [1, 2, 0, 3, 3], 4, r"item\(s\) \[3\] never win"),
        (
            [0, 1, 2, 3],
            [1, 0, 3, 2],
            4,
            r"not connected; items \[0, 1\] are never compared with items \[2, 3\]",
        ),
        (
            [0, 1, 2, 3, 2],
            [1, 0, 3, 2, 0],
            4,
            r"not strongly connected \(Ford 1957\); "
            r"items \[2, 3\] are never beaten by items \[0, 1",
        ),
        (
            [0, 1, 2, 3, 0],
            [1, 0, 3, 2, 2],
            4,
            r"not strongly connected \(Ford 1957\); "
            r"items \[0, 1\] are never beaten by items \[2, 3",
        ),
    ],
)
def test_refuses_data_without_a_maximum_likelihood_estimate(winners, losers, n_items, match):
    with pytest.raises(ValueError, match="no maximum-likelihood scores exist: " + ".*" + match):
        fit_bt_scores(winners, losers, n_items)


def test_l2_makes_data_without_mle_fittable():
    """Two groups joined by one one-way link: with l2 > 0 the winners' group scores higher."""
    w, l = [0, 1, 2, 3, 0], [1, 0, 3, 2, 2]
    s = fit_bt_scores(w, l, n_items=4, l2=0.1)
    assert np.all(np.isfinite(s)) and s.mean() == pytest.approx(0.0, abs=1e-14)
    assert min(s[0], s[1]) > max(s[2], s[3])
    np.testing.assert_allclose(objective_grad(s, np.array(w), np.array(l), 0.1), 0.0, atol=1e-12)
    # an item in no comparison gets score 0 = the mean
    assert fit_bt_scores([0, 1], [1, 0], n_items=3, l2=0.1)[2] == pytest.approx(0.0, abs=1e-14)


def test_objective_is_bt_loss_plus_penalty(small_data):
    """The minimiser beats nearby points on bt_loss(s[w], s[l]) + l2 * sum(s^2)."""
    w, l = small_data
    s = fit_bt_scores(w, l, 12, l2=0.05)
    best = bt_loss(s[w], s[l]) + 0.05 * np.sum(s**2)
    rng = np.random.default_rng(4)
    for _ in range(5):
        t = s + 1e-3 * rng.normal(size=12)
        assert bt_loss(t[w], t[l]) + 0.05 * np.sum(t**2) > best


# --- bad input


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([0, 1], [1], 2), {}, "same length, got 2 and 1"),
        (([], [], 2), {}, "empty"),
        (([0, 1.5], [1, 0], 2), {}, "integer item ids, got non-integer dtype float64"),
        (([0, 2], [1, 0], 2), {}, r"winners holds item id 2 outside 0..1 \(n_items=2\)"),
        (([0, 1], [-1, 0], 2), {}, "losers holds item id -1 outside 0..1"),
        (([0, 1], [1, 1], 2), {}, "comparison 1 has winner == loser == 1"),
        (([[0, 1]], [[1, 0]], 2), {}, r"winners must be 1-D, got shape \(1, 2\)"),
        (([0], [1], 1), {}, "n_items must be >= 2"),
        (([0, 1], [1, 0], 2), {"l2": -1.0}, "l2 must be a finite number >= 0.0, got -1.0"),
        (([0, 1], [1, 0], 2), {"l2": float("nan")}, "l2 must be a finite number"),
        (([0, 1], [1, 0], 2), {"tol": 0.0}, "tol must be a finite number > 0.0, got 0.0"),
        (([0, 1], [1, 0], 2), {"max_iter": 0}, "max_iter must be a positive integer, got 0"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_bt_scores(*args, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((["a"], ["b"], 2), {}, "winners must hold integer item ids, got dtype <U1"),
        (([0], [1], 2.0), {}, "n_items must be an integer, got float"),
        (([0, 1], [1, 0], 2), {"l2": "0.1"}, "l2 must be a number, got '0.1'"),
    ],
)
def test_non_numeric_input_raises_type_error(args, kwargs, match):
    with pytest.raises(TypeError, match=match):
        fit_bt_scores(*args, **kwargs)


def test_too_few_iterations_raise_runtime_error(small_data):
    with pytest.raises(RuntimeError, match="did not converge in max_iter=1 steps"):
        fit_bt_scores(*small_data, n_items=12, max_iter=1)
