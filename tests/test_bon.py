"""Best-of-n: its KL from the reference policy, selection, and the gold-vs-proxy curve."""

import itertools
import math

import numpy as np
import pytest
import torch

from rmcourse.bon import (
    best_of_n,
    bon_curve,
    bon_kl,
    bon_kl_simulated,
    ensemble_scores,
    score_candidates,
    select_best,
    standardize,
)
from rmcourse.data import PreferenceWorld
from rmcourse.model import new_model


@pytest.mark.parametrize("n", [1, 2, 3, 16, 1000, 4096])
def test_bon_kl_is_the_closed_form(n):
    assert bon_kl(n) == pytest.approx(math.log(n) - (n - 1) / n, abs=1e-15)


def test_bon_kl_known_values_and_growth():
    assert bon_kl(1) == 0.0
    assert bon_kl(2) == pytest.approx(0.1931471806, abs=1e-10)
    values = [bon_kl(n) for n in (1, 2, 4, 8, 1024)]
    assert values == sorted(values)
    assert bon_kl(10**6) == pytest.approx(math.log(10**6) - 1, abs=1e-5)  # ~ log n - 1


@pytest.mark.parametrize("n", [2, 4, 16, 64])
def test_bon_kl_matches_simulation(n):
    """Best-of-n winners of uniform scores, binned: the plug-in KL is the closed form."""
    assert bon_kl_simulated(n, n_draws=200_000, n_bins=200, seed=n) == pytest.approx(
        bon_kl(n), abs=0.01
    )


def test_bon_kl_exact_for_a_discrete_policy_with_distinct_scores():
    """π_ref uniform on M answers with distinct scores: P(rank i wins) = (i/M)^n − ((i−1)/M)^n;
    its KL approaches the formula as M grows, and stays below it (the formula is an upper bound)."""
    n = 8
    for m, tol in ((100, 0.06), (10_000, 0.001)):
        i = np.arange(1, m + 1)
        p = (i / m) ** n - ((i - 1) / m) ** n
        kl = float(np.sum(p[p > 0] * np.log(p[p > 0] * m)))
        assert kl <= bon_kl(n) + 1e-12
        assert kl == pytest.approx(bon_kl(n), abs=tol)


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, None, "4"])
def test_bon_kl_rejects_bad_n(bad):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        bon_kl(bad)


def test_best_of_n_and_select_best():
    scores = np.array([[0.1, 0.9, 0.3], [2.0, 1.0, 2.0]])
    assert best_of_n(scores).tolist() == [1, 0]  # ties: the first drawn
    cands = [["a", "b", "c"], ["d", "e", "f"]]
    assert select_best(cands, scores) == ["b", "d"]


@pytest.mark.parametrize(
    ("scores", "message"),
    [(np.zeros(3), "scores must be a non-empty"), (np.zeros((2, 0)), "scores must be a non-empty"),
     (np.array([[1.0, np.nan]]), "NaN")],
)  # fmt: skip
def test_best_of_n_rejects_bad_scores(scores, message):
    with pytest.raises(ValueError, match=message):
        best_of_n(scores)


def test_select_best_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        select_best([["a", "b"]], np.zeros((1, 3)))
    with pytest.raises(ValueError, match="shape"):
        select_best([["a", "b"], ["c"]], np.zeros((2, 2)))


def test_bon_curve_equals_every_subset_enumerated():
    """The estimate is the mean over all n-subsets of the pool of the gold of the proxy's pick."""
    rng = np.random.default_rng(0)
    proxy, gold = rng.normal(size=(3, 7)), rng.normal(size=(3, 7))
    ns = list(range(1, 8))
    out = bon_curve(proxy, gold, ns)
    for j, n in enumerate(ns):
        want_gold, want_proxy = [], []
        for p in range(3):
            picks = [max(s, key=lambda k: proxy[p, k]) for s in itertools.combinations(range(7), n)]
            want_gold.append(np.mean(gold[p, picks]))
            want_proxy.append(np.mean(proxy[p, picks]))
        assert out["gold"][j] == pytest.approx(np.mean(want_gold), abs=1e-12)
        assert out["gold_se"][j] == pytest.approx(np.std(want_gold, ddof=1) / np.sqrt(3))
        assert out["proxy"][j] == pytest.approx(np.mean(want_proxy), abs=1e-12)
    assert out["n"].tolist() == ns
    assert np.isnan(bon_curve(proxy[:1], gold[:1], ns)["gold_se"]).all()
    assert out["kl"] == pytest.approx([bon_kl(n) for n in ns])


def test_bon_curve_matches_fresh_best_of_n_draws():
    """Against best-of-n simulated directly, with fresh draws from the same distribution."""
    rng = np.random.default_rng(1)
    values = rng.normal(size=50)  # a discrete π_ref over 50 answers, proxy = value + noise

    def draw(shape):
        idx = rng.integers(50, size=shape)
        return values[idx] + 0.5 * rng.normal(size=shape), values[idx]

    proxy, gold = draw((20, 2000))
    est = bon_curve(proxy, gold, [4, 32])["gold"]
    for n, e in zip((4, 32), est, strict=True):
        p, g = draw((40_000, n))
        direct = g[np.arange(40_000), np.argmax(p, axis=1)].mean()
        assert e == pytest.approx(direct, abs=0.03)


def test_bon_curve_with_the_gold_reward_as_proxy_never_falls():
    rng = np.random.default_rng(2)
    gold = rng.integers(0, 5, size=(4, 500)).astype(float)  # ties, like r*
    out = bon_curve(gold, gold, [1, 2, 8, 64, 500])
    assert np.all(np.diff(out["gold"]) >= -1e-12)
    assert out["gold"][0] == pytest.approx(gold.mean())
    assert out["gold"][-1] == pytest.approx(gold.max(axis=1).mean())
    assert out["proxy"] == pytest.approx(out["gold"])


@pytest.mark.parametrize(
    ("proxy", "gold", "ns", "message"),
    [(np.zeros((2, 5)), np.zeros((2, 4)), [1], "one shape"),
     (np.zeros((2, 5)), np.zeros((2, 5)), [6], "exceeds the pool"),
     (np.zeros((2, 5)), np.zeros((2, 5)), [0], "positive integer"),
     (np.zeros((2, 5)), np.zeros((2, 5)), [], "at least one n"),
     (np.zeros(5), np.zeros(5), [1], "non-empty"),
     (np.zeros((2, 5)), np.full((2, 5), np.inf), [1], "infinite")],
)  # fmt: skip
def test_bon_curve_rejects_bad_input(proxy, gold, ns, message):
    with pytest.raises(ValueError, match=message):
        bon_curve(proxy, gold, ns)


def test_score_candidates_equals_the_model_on_each_row():
    world = PreferenceWorld(seed=0)
    tok = world.tokenizer()
    torch.manual_seed(0)
    model = new_model(tok, d_model=16, n_heads=2, n_layers=1, d_ff=16).train()
    prompts = world.sample(3, seed=1).prompts
    cands = world.sample_responses(prompts, 40, seed=2)
    got = score_candidates(model, tok, prompts, cands, batch_size=7)
    assert got.shape == (3, 40) and got.dtype == np.float64
    assert model.training, "the model's mode is restored"
    model.eval()
    with torch.no_grad():
        for p in range(3):
            ids = torch.from_numpy(tok.encode_pairs([prompts[p]] * 40, cands[p], 32))
            np.testing.assert_allclose(got[p], model(ids).double().numpy(), rtol=1e-5, atol=1e-6)


def test_score_candidates_rejects_bad_input():
    world = PreferenceWorld(seed=0)
    tok = world.tokenizer()
    model = new_model(tok, d_model=16, n_heads=2, n_layers=1, d_ff=16)
    with pytest.raises(ValueError, match="one row of candidates per prompt"):
        score_candidates(model, tok, ["car : red . color ?"], [])
    with pytest.raises(ValueError, match="same, non-zero number"):
        score_candidates(model, tok, ["car : red . color ?"] * 2, [["it is red ."], []])


# ----- ensembles: standardise each member on π_ref's answers, then combine


def test_standardize_gives_mean_0_and_std_1_per_prompt_on_the_reference():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(4, 50)) * [[1.0], [3.0], [0.1], [7.0]] + [[0.0], [5.0], [-2.0], [9.0]]
    z = standardize(scores)
    np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=1), 1.0, rtol=1e-12)
    ref = rng.normal(size=(4, 30))
    z_ref = standardize(scores, reference=ref)
    want = (scores - ref.mean(axis=1, keepdims=True)) / ref.std(axis=1, keepdims=True)
    np.testing.assert_allclose(z_ref, want, rtol=1e-12)


def test_standardize_undoes_a_shift_per_prompt_and_a_positive_scale():
    """What a Bradley-Terry model leaves unidentified does not survive standardising."""
    rng = np.random.default_rng(4)
    scores = rng.normal(size=(3, 20))
    moved = 4.0 * scores + rng.normal(size=(3, 1)) * 10  # scaled, shifted per prompt
    np.testing.assert_allclose(standardize(moved), standardize(scores), atol=1e-12)


@pytest.mark.parametrize(
    ("scores", "reference", "message"),
    [(np.array([[1.0, 2.0], [3.0, 3.0]]), None, "prompt 1 all have one score"),
     (np.zeros((2, 3)) + [[0.0, 1.0, 2.0]], np.zeros((3, 5)), "one row of reference"),
     (np.zeros(3), None, "non-empty"),
     (np.array([[1.0, np.nan]]), None, "NaN")],
)  # fmt: skip
def test_standardize_rejects_bad_input(scores, reference, message):
    with pytest.raises(ValueError, match=message):
        standardize(scores, reference)


def _members():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=(2, 40))
    return np.stack([truth + 0.5 * rng.normal(size=(2, 40)) for _ in range(3)])  # (3, 2, 40)


def test_ensemble_rules_combine_the_standardised_members():
    members = _members()
    z = np.stack([standardize(m) for m in members])
    np.testing.assert_allclose(ensemble_scores(members, "mean"), z.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(ensemble_scores(members, "worst_case"), z.min(axis=0), atol=1e-12)
    np.testing.assert_allclose(ensemble_scores(members, "uncertainty_weighted", penalty=2.0),
                               z.mean(axis=0) - 2.0 * z.var(axis=0), atol=1e-12)  # fmt: skip
    same = np.stack([members[0]] * 3)  # members that agree have no variance to penalise
    np.testing.assert_allclose(ensemble_scores(same, "uncertainty_weighted"),
                               standardize(members[0]), atol=1e-12)  # fmt: skip


@pytest.mark.parametrize("rule", ["mean", "worst_case", "uncertainty_weighted"])
def test_an_arbitrary_offset_of_one_member_changes_nothing(rule):
    """The raw minimum and variance depend on one member's offset; the ensemble does not."""
    members = _members()
    moved = members.copy()
    moved[1] = 3.0 * moved[1] + np.array([[2.0], [-6.0]])  # another scale, a shift per prompt
    raw_order, moved_order = np.argsort(members.min(axis=0)), np.argsort(moved.min(axis=0))
    assert not np.array_equal(raw_order, moved_order)  # the raw minimum ranks answers anew
    np.testing.assert_allclose(ensemble_scores(moved, rule), ensemble_scores(members, rule),
                               atol=1e-12)  # fmt: skip


def test_ensemble_reference_is_each_members_own():
    members = _members()
    reference = members[:, :, :10] + 1.0  # each member's scores of other answers from π_ref
    z = np.stack([standardize(m, r) for m, r in zip(members, reference, strict=True)])
    np.testing.assert_allclose(ensemble_scores(members, "worst_case", reference=reference),
                               z.min(axis=0), atol=1e-12)  # fmt: skip


@pytest.mark.parametrize(
    ("members", "kwargs", "message"),
    [(_members(), {"rule": "max"}, "rule must be one of"),
     (_members()[:1], {"rule": "mean"}, "k >= 2"),
     (_members()[0], {"rule": "mean"}, "k >= 2"),
     (_members(), {"rule": "mean", "reference": np.zeros((2, 2, 5))}, "reference must be"),
     (_members(), {"rule": "uncertainty_weighted", "penalty": -1.0}, "penalty must be")],
)  # fmt: skip
def test_ensemble_scores_reject_bad_input(members, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ensemble_scores(members, **kwargs)
