"""The colour world as best-of-n needs it: length-biased annotators and the reference policy."""

import hashlib
import json

import numpy as np
import pytest

from rmcourse.data import COLORS, FILLERS, PreferenceWorld, WorldConfig
from rmcourse.np_loss import sigmoid

# sha256 of sample()'s output before length_bias existed (commit 9a9daa1), for three worlds.
BEFORE_LENGTH_BIAS = {
    (0, 2000, 0, 3): "4b535fc265aa43d7",
    (3, 500, 7, 3): "51608ea348617e52",
    (0, 500, 1, 8): "c4faa793590ec0a0",
}


def _fingerprint(dataset) -> str:
    blob = json.dumps([dataset.prompts, dataset.chosen, dataset.rejected,
                       dataset.true_chosen.tolist(), dataset.true_rejected.tolist()])  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@pytest.mark.parametrize(("key", "digest"), BEFORE_LENGTH_BIAS.items())
def test_length_bias_zero_keeps_the_samples_bit_for_bit(key, digest):
    world_seed, n_pairs, seed, max_fillers = key
    world = PreferenceWorld(seed=world_seed, config=WorldConfig(max_fillers=max_fillers))
    assert _fingerprint(world.sample(n_pairs, seed=seed)) == digest
    assert _fingerprint(world.sample(n_pairs, seed=seed, length_bias=0.0)) == digest


@pytest.fixture(scope="module")
def biased():
    return (
        PreferenceWorld(seed=0),
        0.5,
        PreferenceWorld(seed=0).sample(20_000, seed=5, length_bias=0.5),
    )


@pytest.mark.slow  # two samples of 20,000 pairs
def test_length_biased_labels_follow_the_biased_bradley_terry_model(biased):
    """Per bucket of |z|, z = Δ* + b·Δlen, the z-favoured answer wins as often as σ(|z|) says."""
    world, b, ds = biased
    d_len = np.array([world.response_length(c) - world.response_length(r)
                      for c, r in zip(ds.chosen, ds.rejected, strict=True)])  # fmt: skip
    z = ds.true_chosen - ds.true_rejected + b * d_len
    size = np.abs(z)
    edges = np.quantile(size[size > 0], np.linspace(0, 1, 6))
    edges[-1] += 1e-9
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (size >= lo) & (size < hi) & (size > 0)
        observed, predicted = np.mean(z[inside] > 0), np.mean(sigmoid(size[inside]))
        tolerance = 4.0 * np.sqrt(predicted * (1 - predicted) / inside.sum())
        assert abs(observed - predicted) < tolerance, (lo, hi, observed, predicted)
    # r* alone no longer explains the labels: longer answers win more often than σ(Δ*) predicts
    longer_chosen = np.mean(d_len > 0)
    unbiased = PreferenceWorld(seed=0).sample(20_000, seed=5)
    pairs0 = zip(unbiased.chosen, unbiased.rejected, strict=True)
    d_len0 = np.array([world.response_length(c) - world.response_length(r) for c, r in pairs0])
    assert longer_chosen > np.mean(d_len0 > 0) + 0.1


def test_negative_length_bias_prefers_short_answers():
    world = PreferenceWorld(seed=0)
    ds = world.sample(3000, seed=2, length_bias=-2.0)
    d_len = np.array([world.response_length(c) - world.response_length(r)
                      for c, r in zip(ds.chosen, ds.rejected, strict=True)])  # fmt: skip
    assert np.mean(d_len < 0) > 0.7


def test_length_bias_must_be_finite():
    with pytest.raises(ValueError, match="length_bias"):
        PreferenceWorld().sample(3, length_bias=float("nan"))


def test_response_length_counts_words_and_punctuation():
    assert PreferenceWorld.response_length("it is red .") == 4
    assert PreferenceWorld.response_length("thanks , maybe it is very red . have fun !") == 11


# ----- the reference policy


@pytest.fixture(scope="module")
def pool():
    world = PreferenceWorld(seed=0)
    prompts = ["my car is red . what color is it ?", "hat : blue . color ?"]
    return world, prompts, world.sample_responses(prompts, 20_000, seed=3)


def test_sample_responses_shape_and_seeds(pool):
    world, prompts, answers = pool
    assert len(answers) == 2 and [len(a) for a in answers] == [20_000, 20_000]
    first = world.sample_responses(prompts, 50, seed=3)
    assert first == world.sample_responses(prompts, 50, seed=3)
    assert first != world.sample_responses(prompts, 50, seed=4)
    assert PreferenceWorld(seed=1).sample_responses(prompts, 50, seed=3) != world.sample_responses(
        prompts, 50, seed=3
    )


@pytest.mark.slow  # the features of 40,000 answers
def test_sample_responses_draw_the_parts_as_often_as_the_config_says(pool):
    """Every part of an answer appears with the probability WorldConfig gives it."""
    world, prompts, answers = pool
    c = world.config
    feats = [world.features(x, y) for x, row in zip(prompts, answers, strict=True) for y in row]
    n = len(feats)
    rates = {
        "correct": (np.mean([f.correct for f in feats]), c.p_correct),
        "rude": (np.mean([f.rude for f in feats]), c.p_rude_opener),
        "hedge": (np.mean([f.hedge for f in feats]), c.p_hedge),
        "polite": (np.mean([f.polite for f in feats]), c.p_polite_opener + c.p_closing),
    }
    for name, (observed, expected) in rates.items():  # polite: two parts, variance <= 0.5
        assert abs(observed - expected) < 4 * np.sqrt(0.5 / n), (name, observed, expected)
    fillers = np.array([f.filler for f in feats])
    assert np.bincount(fillers).tolist() == pytest.approx([n / (c.max_fillers + 1)] * 4, rel=0.03)
    # a wrong answer names one colour, never the right one, each of the other 7 equally often
    named = [next(w for w in y.split() if w in COLORS) for y in answers[0]]
    wrong = [col for col in named if col != "red"]
    assert set(wrong) == set(COLORS) - {"red"}
    counts = np.array([wrong.count(col) for col in COLORS if col != "red"])
    assert np.all(np.abs(counts / len(wrong) - 1 / 7) < 0.015), counts
    used = {w for y in answers[0] for w in y.split() if w in FILLERS}
    assert used == set(FILLERS)


@pytest.mark.slow  # a sample of 20,000 pairs
def test_sample_responses_match_the_pair_sampler(pool):
    """The pool sampler and the pair sampler draw the same answers equally often."""
    world, prompts, answers = pool
    pairs = world.sample(20_000, seed=9)
    red = [y for x, c, r in zip(pairs.prompts, pairs.chosen, pairs.rejected, strict=True)
           for y in (c, r)]  # fmt: skip
    rewards_pairs = np.array([world.response_only_reward(y) for y in red])
    rewards_pool = np.array([world.response_only_reward(y) for y in answers[0]])
    # pairs drop identical twins, a small shift; the mean response-only reward agrees closely
    assert abs(rewards_pairs.mean() - rewards_pool.mean()) < 0.03
    assert abs(rewards_pairs.std() - rewards_pool.std()) < 0.03


def test_true_rewards_match_true_reward(pool):
    world, prompts, answers = pool
    sub = [row[:300] for row in answers]
    got = world.true_rewards(prompts, sub)
    assert got.shape == (2, 300)
    assert got.tolist() == [[world.true_reward(x, y) for y in row]
                            for x, row in zip(prompts, sub, strict=True)]  # fmt: skip


@pytest.mark.parametrize(
    ("prompts", "n", "message"),
    [([], 3, "prompts"), ("my car is red .", 3, "prompts"), (["car : red . color ?"], 0, "n"),
     (["car : red . color ?"], 2.0, "n"), (["what color ?"], 3, "exactly one colour")],
)  # fmt: skip
def test_sample_responses_rejects_bad_input(prompts, n, message):
    with pytest.raises(ValueError, match=message):
        PreferenceWorld().sample_responses(prompts, n)


def test_true_rewards_rejects_ragged_rows():
    with pytest.raises(ValueError, match="one row of candidates per prompt"):
        PreferenceWorld().true_rewards(["car : red . color ?"], [["it is red ."], ["it is red ."]])
