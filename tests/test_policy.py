"""Tests of rmcourse.policy and rmcourse.policy_train: sequence log-probs (padding, token by
token), seeded sampling with temperature, the KL estimate, SFT and DPO on toy data, bad input."""

import math

import numpy as np
import pytest
import torch

from rmcourse.data import PreferenceDataset, Tokenizer
from rmcourse.policy import (
    CausalLM,
    decode_responses,
    encode_prompts,
    encode_responses,
    join_rows,
    new_policy,
    sample,
    sequence_logprobs,
    token_logprobs,
)
from rmcourse.policy_train import dpo, implicit_rewards, sample_with_log_ratios, sft
from rmcourse.train import TrainConfig

TOK = Tokenizer(["q", "r", "it", "is", "red", "blue", "."])


def lm(seed: int = 0, **sizes: int) -> CausalLM:
    torch.manual_seed(seed)
    model = new_policy(TOK, **sizes).eval()
    with torch.no_grad():  # larger head weights than at init, so log-probs differ per token
        model.head.weight.normal_(0.0, 1.0)
    return model


def token_by_token(model: CausalLM, prompt: list[int], response: list[int]) -> float:
    """log pi(y | x) as a sum, feeding the prefix one token longer each time, unpadded."""
    total, prefix = 0.0, list(prompt)
    for token in response:
        logits = model(torch.tensor([prefix]))[0, -1].double()  # (V,)
        total += torch.log_softmax(logits, dim=-1)[token].item()
        prefix.append(token)
    return total


# --- encoding


def test_encode_decode_and_join_rows():
    x = encode_prompts(TOK, ["q", "q r q"])
    y = encode_responses(TOK, ["it is red .", "blue"])
    assert x.tolist() == [[4, 2, 0, 0], [4, 5, 4, 2]]
    assert y.tolist() == [[6, 7, 8, 10, 3], [9, 3, 0, 0, 0]]
    assert decode_responses(TOK, y) == ["it is red .", "blue"]
    rows, is_response = join_rows(x, y, TOK.pad_id)
    assert rows.tolist() == [[4, 2, 6, 7, 8, 10, 3], [4, 5, 4, 2, 9, 3, 0]]
    assert is_response.int().tolist() == [[0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 0]]


def test_join_rows_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="one B"):
        join_rows(
            torch.zeros(2, 3, dtype=torch.long) + 4, torch.zeros(3, 2, dtype=torch.long) + 4, 0
        )
    with pytest.raises(ValueError, match="at least one non-pad token"):
        join_rows(torch.tensor([[4, 2]]), torch.tensor([[0, 0]]), 0)
    with pytest.raises(ValueError, match="no prompts"):
        encode_prompts(TOK, [])


# --- sequence log-probs


def test_sequence_logprobs_equal_a_token_by_token_computation():
    model = lm()
    prompts = ["q", "q r q r", "r"]
    responses = ["it is red .", "blue", "it is it is blue ."]
    got = sequence_logprobs(model, encode_prompts(TOK, prompts), encode_responses(TOK, responses))
    for i, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        want = token_by_token(model, [*TOK.encode(p), TOK.sep_id], [*TOK.encode(r), TOK.eos_id])
        assert got[i].item() == pytest.approx(want, rel=1e-5)
    assert got.shape == (3,) and got.dtype == torch.float32 and (got < 0).all()


def test_padding_does_not_change_sequence_logprobs():
    model = lm(1)
    x = encode_prompts(TOK, ["q", "q r q r"])
    y = encode_responses(TOK, ["it is red .", "blue"])
    alone = [sequence_logprobs(model, x[i : i + 1], y[i : i + 1]).item() for i in range(2)]
    batched = sequence_logprobs(model, x, y)
    padded = sequence_logprobs(
        model, torch.nn.functional.pad(x, (0, 5)), torch.nn.functional.pad(y, (0, 3))
    )
    assert batched.tolist() == pytest.approx(alone, rel=1e-6)
    assert padded.tolist() == pytest.approx(alone, rel=1e-6)
    # the short row's own columns (trimmed of the other row's padding) give the same number
    short = sequence_logprobs(model, x[:1, :2], y[:1, :5]).item()
    assert short == pytest.approx(alone[0], rel=1e-6)


def test_logits_and_logprobs_stay_float32_under_bf16_autocast():
    """The head and the log-softmax run in float32 under autocast: no bf16 rounding of either."""
    model = lm()
    x, y = encode_prompts(TOK, ["q", "r q"]), encode_responses(TOK, ["it is red .", "blue"])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(torch.tensor([[4, 2, 6, 7]]))
        per_token = token_logprobs(model, torch.tensor([[4, 2, 6, 7]]))
        logp = sequence_logprobs(model, x, y)
    for t in (logits[..., 1:], per_token, logp):  # logits[..., 0] is <pad>'s -inf
        assert t.dtype == torch.float32
        assert not torch.equal(t, t.bfloat16().float()), "rounded to bf16"


def test_sequence_logprobs_are_differentiable():
    model = lm()
    logp = sequence_logprobs(model, encode_prompts(TOK, ["q"]), encode_responses(TOK, ["red"]))
    logp.sum().backward()
    assert model.head.weight.grad is not None and model.head.weight.grad.abs().sum() > 0


def test_the_model_never_predicts_padding():
    probs = torch.softmax(lm()(torch.tensor([[4, 2, 6]])), dim=-1)
    assert (probs[..., TOK.pad_id] == 0).all()


# --- sampling


def test_sampling_is_seeded_and_ends_with_eos_or_at_the_token_budget():
    model = lm()
    x = encode_prompts(TOK, ["q"] * 64)
    a, b = sample(model, x, seed=3), sample(model, x, seed=3)
    assert torch.equal(a, b)
    assert not torch.equal(a, sample(model, x, seed=4))
    for row in a.tolist():
        if TOK.eos_id in row:
            end = row.index(TOK.eos_id)
            assert all(t != TOK.pad_id for t in row[:end]) and all(
                t == TOK.pad_id for t in row[end + 1 :]
            )
        else:
            assert len(row) == 16 and TOK.pad_id not in row


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_first_tokens_follow_softmax_of_logits_over_temperature(temperature):
    """20 000 one-token samples: every frequency within 5 standard errors of its probability."""
    model = lm(2)
    x = encode_prompts(TOK, ["q r"] * 20_000)
    first = sample(model, x, temperature=temperature, seed=0, max_new_tokens=1)[:, 0]  # (N,)
    logits = model(x[:1, :3])[0, -1].detach().double()  # (V,) after "q r <sep>"
    p = torch.softmax(logits / temperature, dim=-1).numpy()
    freq = np.bincount(first.numpy(), minlength=len(TOK)) / len(first)
    se = np.sqrt(p * (1 - p) / len(first))
    assert np.all(np.abs(freq - p) <= 5 * se + 1e-12), (freq, p)


def test_bad_sampling_options_raise_value_error():
    with pytest.raises(ValueError, match="temperature"):
        sample(lm(), encode_prompts(TOK, ["q"]), temperature=0.0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        sample(lm(), encode_prompts(TOK, ["q"]), max_new_tokens=0)


# --- KL estimate


def test_kl_from_samples_is_zero_for_the_reference_and_matches_the_exact_one_token_kl():
    policy, reference = lm(3), lm(4)
    x = encode_prompts(TOK, ["q"] * 20_000)
    _, zero = sample_with_log_ratios(reference, reference, x[:100], seed=0)
    assert np.all(zero == 0.0)
    # one-token answers: KL = sum_v p(v) log p(v) / q(v) exactly
    responses = sample(policy, x, seed=1, max_new_tokens=1)
    ratios = sequence_logprobs(policy, x, responses) - sequence_logprobs(reference, x, responses)
    with torch.no_grad():
        log_p = torch.log_softmax(policy(x[:1, :2])[0, -1].double(), dim=-1)
        log_q = torch.log_softmax(reference(x[:1, :2])[0, -1].double(), dim=-1)
    p = log_p.exp()
    exact = torch.sum(torch.where(p > 0, p * (log_p - log_q), 0.0)).item()
    estimate = ratios.double()
    se = estimate.std().item() / math.sqrt(len(estimate))
    assert abs(estimate.mean().item() - exact) < 4 * se
    assert exact > 0.1


# --- SFT and DPO


def config(steps: int, **kw) -> TrainConfig:
    kw = {"batch_size": 8, "lr": 1e-2, "warmup_steps": 5, "device": "cpu", "progress": False,
          **kw}  # fmt: skip
    return TrainConfig(steps=steps, **kw)


def test_sft_learns_the_answers_it_is_shown():
    prompts, answers = ["q", "r"] * 8, ["it is red .", "it is blue ."] * 8
    model = new_policy(TOK, d_model=16, n_layers=1)
    result = sft(model, TOK, prompts, answers, config(60))
    assert result.history["step"] == list(range(1, 61))
    assert result.history["loss"][0] > 2.0 > 0.1 > result.history["loss"][-1]
    x = encode_prompts(TOK, ["q", "r", "q", "r"])
    y = encode_responses(TOK, ["it is red .", "it is blue .", "it is blue .", "it is red ."])
    right, wrong = sequence_logprobs(result.model, x, y).chunk(2)
    assert (right > wrong + 1.0).all(), "SFT should learn which colour answers which prompt"


def test_dpo_starts_at_ln2_and_moves_probability_to_the_chosen_answers():
    torch.manual_seed(0)
    reference = sft(new_policy(TOK, d_model=16, n_layers=1), TOK, ["q"] * 16,
                    ["it is red .", "it is blue ."] * 8, config(40)).model  # fmt: skip
    pairs = PreferenceDataset(["q"] * 16, ["it is red ."] * 16, ["it is blue ."] * 16)
    result = dpo(reference, TOK, pairs, config(30), beta=0.5)
    assert result.history["loss"][0] == pytest.approx(math.log(2), abs=1e-6)
    assert result.history["reward_accuracy"][0] == 0.0  # policy == reference: ties count wrong
    assert result.history["loss"][-1] < 0.2 and result.history["reward_accuracy"][-1] == 1.0
    assert result.model is not reference
    r_red, r_blue = implicit_rewards(result.model, reference, TOK, ["q", "q"],
                                     ["it is red .", "it is blue ."], beta=0.5)  # fmt: skip
    assert r_red - r_blue > 2.0  # the margin grows; both can fall (DPO only sees differences)
    # the reference was not trained: its two answers are still about equally likely
    logp = sequence_logprobs(reference, encode_prompts(TOK, ["q", "q"]),
                             encode_responses(TOK, ["it is red .", "it is blue ."]))  # fmt: skip
    assert abs(logp[0].item() - logp[1].item()) < 0.5


def test_ipo_holds_the_margin_of_deterministic_pairs_where_dpo_lets_it_grow():
    torch.manual_seed(0)
    reference = sft(new_policy(TOK, d_model=16, n_layers=1), TOK, ["q"] * 16,
                    ["it is red .", "it is blue ."] * 8, config(40)).model  # fmt: skip
    pairs = PreferenceDataset(["q"] * 16, ["it is red ."] * 16, ["it is blue ."] * 16)
    margins = {}
    for loss in ("dpo", "ipo"):
        result = dpo(reference, TOK, pairs, config(60), beta=0.5, loss=loss)
        r_red, r_blue = implicit_rewards(result.model, reference, TOK, ["q", "q"],
                                         ["it is red .", "it is blue ."], beta=0.5)  # fmt: skip
        margins[loss] = (r_red - r_blue) / 0.5  # h, the log-ratio margin
    assert margins["ipo"] == pytest.approx(1.0, abs=0.25)  # IPO's target 1 / (2 beta)
    assert margins["dpo"] > 4.0  # DPO's loss keeps falling as h grows: nothing holds it
    with pytest.raises(ValueError, match="loss must be one of"):
        dpo(reference, TOK, pairs, config(2), loss="kto")


def test_sft_trains_the_weights_it_is_handed_unless_asked_to_reinit():
    prompts, answers = ["q", "r"] * 8, ["it is red .", "it is blue ."] * 8
    x, y = encode_prompts(TOK, prompts[:2]), encode_responses(TOK, answers[:2])
    results = {}
    for reinit in (False, True):
        for global_seed in (1, 2):
            torch.manual_seed(global_seed)
            model = new_policy(TOK, d_model=16, n_layers=1)
            handed = sequence_logprobs(model, x, y).detach()
            trained = sft(model, TOK, prompts, answers, config(1, lr=1e-9, reinit=reinit)).model
            results[reinit, global_seed] = (handed, sequence_logprobs(trained, x, y).detach())
    for global_seed in (1, 2):  # lr 1e-9: the handed weights, all but unmoved
        handed, after = results[False, global_seed]
        torch.testing.assert_close(after, handed, atol=1e-6, rtol=0)
    assert not torch.allclose(results[False, 1][1], results[False, 2][1], atol=1e-3)
    # reinit: the weights of config.seed, whatever the model was handed
    torch.testing.assert_close(results[True, 1][1], results[True, 2][1], atol=0, rtol=0)


def test_sft_and_dpo_refuse_options_they_do_not_have():
    pairs = PreferenceDataset(["q"] * 8, ["it is red ."] * 8, ["it is blue ."] * 8)
    policy = new_policy(TOK, d_model=16, n_layers=1)
    with pytest.raises(ValueError, match="sft has no option margin=1.0"):
        sft(policy, TOK, ["q"] * 8, ["it is red ."] * 8, config(2, margin=1.0))
    with pytest.raises(ValueError, match="dpo has no option center_coef=0.1"):
        dpo(policy, TOK, pairs, config(2, center_coef=0.1))
    with pytest.raises(ValueError, match="reinit=True would discard it"):
        dpo(policy, TOK, pairs, config(2, reinit=True))


def test_rows_longer_than_max_len_are_rejected():  # bad sizes: tests/test_model.py
    with pytest.raises(ValueError, match="max_len"):
        lm(max_len=4)(torch.zeros(1, 5, dtype=torch.long) + 4)


def test_preference_pairs_are_seeded_labelled_by_the_world_and_never_identical():
    from rmcourse.data import PreferenceWorld
    from rmcourse.policy_train import preference_pairs

    world = PreferenceWorld(seed=0)
    tok = world.tokenizer()
    torch.manual_seed(0)
    policy = new_policy(tok, d_model=16, n_layers=1).eval()
    prompts = world.sample(200, seed=1).prompts
    pairs = preference_pairs(world, policy, tok, prompts, seed=4)
    again = preference_pairs(world, policy, tok, prompts, seed=4)
    assert pairs.chosen == again.chosen and pairs.rejected == again.rejected
    assert 0 < len(pairs) <= 200 and all(
        c != r for c, r in zip(pairs.chosen, pairs.rejected, strict=True)
    )
    for i in range(len(pairs)):
        assert pairs.true_chosen[i] == world.true_reward(pairs.prompts[i], pairs.chosen[i])
        assert pairs.true_rejected[i] == world.true_reward(pairs.prompts[i], pairs.rejected[i])
