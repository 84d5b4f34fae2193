"""rmcourse.optimum: π*_β ∝ π_ref exp(r/β), exact over the world's answers and by sampling."""

import numpy as np
import pytest
import torch

from rmcourse import optimum
from rmcourse.data import PreferenceWorld
from rmcourse.data.world import WorldConfig
from rmcourse.np_loss import sigmoid
from rmcourse.policy import encode_prompts, encode_responses, new_policy, sequence_logprobs

PROMPT = "my car is red . what color is it ?"


def test_tilt_matches_a_case_solved_by_hand():
    # π_ref = (1/2, 1/2), r = (0, log 3), β = 1: π* ∝ (1/2, 3/2) = (1/4, 3/4)
    logp = optimum.tilt(np.log([0.5, 0.5]), np.array([0.0, np.log(3.0)]), beta=1.0)
    np.testing.assert_allclose(np.exp(logp), [0.25, 0.75])
    # β = 2 halves the reward's pull: π* ∝ (1, √3)
    logp = optimum.tilt(np.log([0.5, 0.5]), np.array([0.0, np.log(3.0)]), beta=2.0)
    np.testing.assert_allclose(np.exp(logp), [1 / (1 + 3**0.5), 3**0.5 / (1 + 3**0.5)])


def test_tilt_is_stable_for_tiny_beta_normalises_and_keeps_zero_mass():
    ref = np.array(
        [[*np.log([0.2, 0.3, 0.5]), -np.inf], [0.0, 0.0, 0.0, 0.0]]
    )  # row 2: unnormalised
    r = np.array([[1.0, 3.0, 2.0, 9.0], [0.0, 0.0, 0.0, 0.0]])
    logp = optimum.tilt(ref, r, beta=1e-9)
    np.testing.assert_allclose(np.exp(logp), [[0, 1, 0, 0], [0.25, 0.25, 0.25, 0.25]], atol=1e-12)
    assert logp[0, 3] == -np.inf  # π_ref never writes it: neither does π*


@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan"), float("inf")])
def test_tilt_refuses_a_beta_that_is_not_positive(beta):
    with pytest.raises(ValueError, match="beta"):
        optimum.tilt(np.log([0.5, 0.5]), np.zeros(2), beta)


def test_tilt_and_kl_refuse_bad_shapes_and_values():
    with pytest.raises(ValueError, match="one shape"):
        optimum.tilt(np.log([0.5, 0.5]), np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="at least one answer"):
        optimum.tilt(np.zeros(0), np.zeros(0), 1.0)
    with pytest.raises(ValueError, match="probability > 0"):
        optimum.tilt(np.full(2, -np.inf), np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="finite"):
        optimum.tilt(np.log([0.5, 0.5]), np.array([0.0, np.nan]), 1.0)
    with pytest.raises(ValueError, match="one shape"):
        optimum.kl_from_ref(np.log([0.5, 0.5]), np.log([0.2, 0.3, 0.5]))
    with pytest.raises(TypeError, match="beta"):
        optimum.tilt(np.log([0.5, 0.5]), np.zeros(2), True)


def test_kl_from_ref_values():
    by_hand = 0.25 * np.log(0.5) + 0.75 * np.log(1.5)
    assert optimum.kl_from_ref(np.log([0.25, 0.75]), np.log([0.5, 0.5])) == pytest.approx(by_hand)
    assert optimum.kl_from_ref([np.log(0.5), np.log(0.5), -np.inf], np.log([0.5, 0.25, 0.25])) == (
        pytest.approx(0.5 * np.log(2.0))
    )  # an answer of π probability 0 adds nothing
    assert optimum.kl_from_ref(np.log([0.5, 0.5]), [0.0, -np.inf]) == np.inf
    two = optimum.kl_from_ref(np.log([[0.5, 0.5]] * 2), np.log([[0.5, 0.5], [0.9, 0.1]]))
    np.testing.assert_allclose(two, [0.0, 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(5)])


def test_the_tilt_beats_every_other_policy_on_the_objective():
    rng = np.random.default_rng(0)
    ref = np.log(rng.dirichlet(np.ones(6)))
    r, beta = rng.normal(size=6), 0.3

    def objective(logp):
        return float(np.exp(logp) @ r - beta * optimum.kl_from_ref(logp, ref))

    best = objective(optimum.tilt(ref, r, beta))
    others = np.log(rng.dirichlet(np.ones(6), size=2000))
    assert max(objective(o) for o in others) < best
    assert best == pytest.approx(beta * np.log(np.exp(ref) @ np.exp(r / beta)))  # β log Z


def test_the_answer_space_holds_every_answer_of_the_world_with_its_probability():
    world = PreferenceWorld(seed=0)
    space = optimum.answer_space(world.config)
    assert len(space) == 59_904 == len(set(space.texts))  # 6 × 4 × 8 × 156 × 2
    n = 100_000
    drawn = world.sample_responses([PROMPT], n, seed=3)[0]
    where = {t: i for i, t in enumerate(space.texts)}
    assert all(a in where for a in drawn)
    logp = space.world_logprobs(world.config, right=0)  # red
    assert np.exp(logp).sum() == pytest.approx(1.0, abs=1e-12)
    counts = np.bincount([where[a] for a in drawn], minlength=len(space))
    top = np.argsort(-logp)[:30]  # the 30 likeliest answers: frequencies within 4.5 std errors
    expected = n * np.exp(logp[top])
    assert np.all(np.abs(counts[top] - expected) < 4.5 * np.sqrt(expected))
    assert space.texts[top[0]] == "it is red ."
    assert np.exp(logp[top[0]]) == pytest.approx(0.5 * 0.7 * 0.5 * 0.25 * 0.7)


def test_the_answer_space_true_rewards_are_the_worlds():
    world = PreferenceWorld(seed=0)
    space = optimum.answer_space(world.config)
    rows = np.random.default_rng(1).choice(len(space), 3000, replace=False)
    for right, prompt in ((0, PROMPT), (5, "hat : black . color ?")):
        r = space.true_rewards(world.config, right)
        np.testing.assert_array_equal(r[rows], [world.true_reward(prompt, space.texts[i])
                                                for i in rows])  # fmt: skip
    assert r.max() == pytest.approx(4.1)  # right, a polite opener and the closing


@pytest.mark.parametrize("beta", [0.1, 1.0, 5.0])
def test_solve_matches_a_world_solved_by_hand(beta):
    # no opener, hedge, filler or closing: 8 answers "it is <colour> .", right with p = 1/2.
    # π* puts σ(2.5/β) on the right colour; KL and β log Z follow by hand.
    config = WorldConfig(p_polite_opener=0.0, p_rude_opener=0.0, p_hedge=0.0, p_closing=0.0,
                         max_fillers=0)  # fmt: skip
    opt = optimum.solve(optimum.world_candidates(PreferenceWorld(config=config), [PROMPT]), beta)
    q = sigmoid(2.5 / beta)
    assert opt.gold[0] == pytest.approx(2.5 * q)
    assert opt.kl[0] == pytest.approx(q * np.log(2 * q) + (1 - q) * np.log(2 * (1 - q)))
    assert opt.objective[0] == pytest.approx(beta * np.log(0.5 * np.exp(2.5 / beta) + 0.5))
    assert np.exp(opt.logprobs[0]).sum() == pytest.approx(1.0)


def test_solve_for_the_colour_world():
    world = PreferenceWorld(seed=0)
    cands = optimum.world_candidates(world, [PROMPT, "i have a blue hat . its color ?"])
    small, large = optimum.solve(cands, 0.1), optimum.solve(cands, 1.0)
    np.testing.assert_allclose(small.kl, small.kl[0])  # every prompt alike under the sampler
    assert small.kl[0] == pytest.approx(4.7315, abs=1e-4)
    assert small.gold[0] == pytest.approx(4.0908, abs=1e-4)
    assert large.kl[0] == pytest.approx(0.8507, abs=1e-4)
    assert small.kl[0] > large.kl[0] and small.gold[0] > large.gold[0]
    np.testing.assert_allclose(small.objective, small.gold - 0.1 * small.kl)
    # a proxy reward: π* follows it; gold is still read off r*
    proxy = cands.gold + 2.0 * (optimum.answer_space().n_fillers == 3)  # a verbosity-loving proxy
    hacked = optimum.solve(cands, 0.1, reward=proxy)
    assert hacked.reward[0] > hacked.gold[0]
    assert hacked.gold[0] < small.gold[0]
    with pytest.raises(ValueError, match="shape"):
        optimum.solve(cands, 0.1, reward=proxy[:1])


def test_importance_sampling_agrees_with_the_enumeration():
    world = PreferenceWorld(seed=0)
    exact = optimum.solve(optimum.world_candidates(world, [PROMPT]), 1.0)
    samples = world.sample_responses([PROMPT], 200_000, seed=7)
    sampled = optimum.solve(optimum.sampled_candidates(world, [PROMPT], samples), 1.0)
    assert sampled.kl[0] == pytest.approx(exact.kl[0], abs=0.02)
    assert sampled.gold[0] == pytest.approx(exact.gold[0], abs=0.02)
    assert sampled.objective[0] == pytest.approx(exact.objective[0], abs=0.01)
    with pytest.raises(ValueError, match="one row of samples per prompt"):
        optimum.sampled_candidates(world, [PROMPT], [["it is red ."], ["it is red ."]])


def test_policy_candidates_score_every_answer_as_sequence_logprobs_does():
    world = PreferenceWorld(seed=0)
    tok = world.tokenizer()
    torch.manual_seed(0)
    policy = new_policy(tok)
    cands = optimum.policy_candidates(world, policy, tok, [PROMPT])
    space = optimum.answer_space(world.config)
    rows = np.random.default_rng(2).choice(len(space), 400, replace=False)
    y = encode_responses(tok, [space.texts[i] for i in rows])
    with torch.no_grad():
        direct = sequence_logprobs(policy.eval(), encode_prompts(tok, [PROMPT]).expand(len(y), -1),
                                   y).double().numpy()  # fmt: skip
    log_mass = np.log(cands.coverage[0])
    np.testing.assert_allclose(cands.ref_logprobs[0, rows] + log_mass, direct, atol=1e-4)
    assert 0.0 < cands.coverage[0] < 1.0  # an untrained model writes many other strings
    assert np.exp(cands.ref_logprobs[0]).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="exactly one colour"):
        optimum.policy_candidates(world, policy, tok, ["what colour ?"])
