"""Reward models: shapes, padding invariance, what each model can see, bad configs (the size
check the policy's config shares too)."""

import pytest
import torch

from rmcourse.data import PreferenceWorld
from rmcourse.loop import init_from_seed, parameter_groups
from rmcourse.model import (
    MODEL_KINDS,
    BagOfWordsReward,
    RewardModel,
    RewardModelConfig,
    TransformerRewardModel,
    build_model,
    count_parameters,
    new_model,
)
from rmcourse.policy import CausalLM, PolicyConfig
from rmcourse.transformer import Transformer


@pytest.fixture(scope="module")
def tok():
    return PreferenceWorld().tokenizer()


@pytest.fixture(scope="module")
def transformer(tok):
    torch.manual_seed(0)
    config = RewardModelConfig(vocab_size=len(tok), pad_id=tok.pad_id, sep_id=tok.sep_id,
                               d_model=32, n_heads=2, d_ff=64)  # fmt: skip
    model = TransformerRewardModel(config).eval()
    with torch.no_grad():  # break the symmetry of the zero-initialised biases
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


PROMPTS = ["my car is red . what color is it ?", "cup : blue . color ?",
           "i have a red hat . its color ?"]  # fmt: skip
RESPONSES = ["it is red .", "thanks , maybe it is really very blue . have fun !",
             "duh , it is blue ."]  # fmt: skip


def test_output_shape_is_one_reward_per_row(tok, transformer):
    ids = torch.from_numpy(tok.encode_pairs(PROMPTS, RESPONSES, max_len=32))
    assert transformer(ids).shape == (3,)
    bow = BagOfWordsReward(transformer.config)
    assert bow(ids).shape == (3,)


def test_padding_invariance(tok, transformer):
    """The same rows padded to 3 different widths give the same rewards (float32, eval)."""
    ids = torch.from_numpy(tok.encode_pairs(PROMPTS, RESPONSES, max_len=32))
    width = ids.shape[1]
    rewards = []
    for extra in (0, 5, 32 - width):
        padded = torch.nn.functional.pad(ids, (0, extra), value=tok.pad_id)
        rewards.append(transformer(padded))
    for r in rewards[1:]:
        torch.testing.assert_close(r, rewards[0], atol=1e-6, rtol=0)
    # and a row alone equals the same row inside a batch of longer rows
    alone = torch.from_numpy(tok.encode_pairs(PROMPTS[1:2], RESPONSES[1:2], max_len=32))
    torch.testing.assert_close(transformer(alone), rewards[0][1:2], atol=1e-6, rtol=0)


def test_transformer_reads_the_prompt_bag_of_words_does_not(tok, transformer):
    right = tok.encode_pairs(["my car is red . what color is it ?"], ["it is red ."], 32)
    wrong = tok.encode_pairs(["my car is blue . what color is it ?"], ["it is red ."], 32)
    ids = torch.from_numpy(right).repeat(1, 1), torch.from_numpy(wrong)
    assert abs(transformer(ids[0]).item() - transformer(ids[1]).item()) > 1e-4
    bow = BagOfWordsReward(transformer.config)
    with torch.no_grad():
        bow.weights.weight.normal_()
    assert bow(ids[0]).item() == bow(ids[1]).item()


def test_bag_of_words_is_a_linear_function_of_response_counts(tok):
    config = RewardModelConfig(vocab_size=len(tok), pad_id=tok.pad_id, sep_id=tok.sep_id)
    bow = BagOfWordsReward(config)
    weights = torch.arange(len(tok), dtype=torch.float32) / 10
    with torch.no_grad():
        bow.weights.weight.copy_(weights)
    ids = torch.from_numpy(tok.encode_pairs(["cup : red . color ?"], ["it is very very red ."], 32))
    response = tok.encode("it is very very red .") + [tok.eos_id]
    expected = sum(weights[i].item() for i in response)
    assert bow(ids).item() == pytest.approx(expected, rel=1e-6)


def _bf16_autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16)


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_rewards_stay_float32_under_bf16_autocast(tok, transformer, kind):
    """The head runs in float32: rewards keep more digits than bf16's 3 (lesson 03's warning)."""
    model = transformer if kind == "transformer" else BagOfWordsReward(transformer.config)
    with torch.no_grad():
        if kind == "bow":
            model.weights.weight.normal_()
    ids = torch.from_numpy(tok.encode_pairs(PROMPTS, RESPONSES, max_len=32))
    with _bf16_autocast():
        body = torch.nn.Linear(4, 1)(torch.ones(1, 4))  # what autocast does to a plain Linear
        rewards = model(ids)
    assert body.dtype == torch.bfloat16  # so the check below is made under a working autocast
    assert rewards.dtype == torch.float32
    assert not torch.equal(rewards, rewards.bfloat16().float()), "rewards rounded to bf16"
    # and without autocast, float32 as before
    assert model(ids).dtype == torch.float32


def test_default_model_is_small(tok):
    model = build_model("transformer", RewardModelConfig(vocab_size=len(tok)))
    assert 10_000 < count_parameters(model) < 200_000


@pytest.mark.parametrize(
    ("config", "kwargs", "message"),
    [(RewardModelConfig, {"vocab_size": 0}, "vocab_size"),
     (RewardModelConfig, {"vocab_size": 10, "d_model": 30, "n_heads": 4}, "divisible"),
     (RewardModelConfig, {"vocab_size": 10, "dropout": 1.0}, "dropout"),
     (PolicyConfig, {"vocab_size": 0}, "vocab_size"),
     (PolicyConfig, {"vocab_size": 10, "d_model": 30, "n_heads": 4}, "divisible")],
)  # fmt: skip
def test_bad_sizes_are_rejected_by_both_configs(config, kwargs, message):
    with pytest.raises(ValueError, match=message):
        config(**kwargs)


def test_bad_input_is_rejected(transformer):
    with pytest.raises(ValueError, match="exceed max_len=32"):
        transformer(torch.ones(1, 33, dtype=torch.long))
    with pytest.raises(ValueError, match="non-pad token"):
        transformer(torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="unknown model kind 'rnn'"):
        build_model("rnn", transformer.config)


@pytest.mark.parametrize("d_model", [16, 64])
def test_init_scales_with_width_and_the_head_starts_small(tok, d_model):
    """Weights start at std 1/sqrt(d_model) (not GPT-2's 0.02), biases at 0, the head near 0,
    the position embeddings at 0 (random ones cost the reward model many steps)."""
    torch.manual_seed(0)
    config = RewardModelConfig(vocab_size=len(tok), d_model=d_model, n_heads=2, d_ff=2 * d_model)
    model = TransformerRewardModel(config)
    for name, p in model.named_parameters():
        if name == "head.weight":
            assert p.std().item() == pytest.approx(0.02, rel=0.5)
        elif name == "transformer.pos_emb.weight":
            assert torch.all(p == 0), name
        elif name.endswith(".bias") and "ln" not in name:
            assert torch.all(p == 0), name
        elif p.ndim == 2:
            assert p.std().item() == pytest.approx(d_model**-0.5, rel=0.1), name
    ids = torch.from_numpy(tok.encode_pairs(PROMPTS, RESPONSES, max_len=32))
    with torch.no_grad():
        rewards = model.eval()(ids)
    assert rewards.abs().max().item() < 0.5  # untrained rewards ~equal: the loss starts near ln 2


def test_new_model_fits_the_tokenizer(tok):
    model = new_model(tok, "bow")
    assert isinstance(model, BagOfWordsReward)
    assert (model.config.vocab_size, model.config.pad_id, model.config.sep_id) == (
        len(tok),
        tok.pad_id,
        tok.sep_id,
    )
    assert new_model(tok, d_model=8, n_heads=2).config.d_model == 8


def test_every_model_kind_declares_what_a_checkpoint_needs(tok):
    for kind in MODEL_KINDS:
        model = new_model(tok, kind)
        assert isinstance(model, RewardModel) and model.kind == kind
    assert not isinstance(torch.nn.Linear(2, 1), RewardModel)  # no kind, no config


def test_init_from_seed_depends_on_the_seed_only(tok):
    model = new_model(tok, d_model=8, n_heads=2)
    torch.manual_seed(123)
    init_from_seed(model, 4)
    first = {n: p.detach().clone() for n, p in model.named_parameters()}
    after = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), after)  # the global random state was left as it was
    torch.manual_seed(999)
    init_from_seed(model, 4)
    assert all(torch.equal(first[n], p) for n, p in model.named_parameters())
    init_from_seed(model, 5)
    assert not torch.equal(first["transformer.tok_emb.weight"], model.transformer.tok_emb.weight)


def test_parameter_groups_decay_matrices_only(tok):
    model = new_model(tok, d_model=8, n_heads=2)
    decay, no_decay = parameter_groups(model, 0.1)
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.1, 0.0)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    assert decayed == {"head.weight", "transformer.blocks.0.attn.qkv.weight",
                       "transformer.blocks.0.attn.proj.weight", "transformer.blocks.0.mlp.0.weight",
                       "transformer.blocks.0.mlp.2.weight", "transformer.blocks.1.attn.qkv.weight",
                       "transformer.blocks.1.attn.proj.weight", "transformer.blocks.1.mlp.0.weight",
                       "transformer.blocks.1.mlp.2.weight"}  # fmt: skip
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_parameter_groups_go_by_layer_type_not_by_name():
    """An embedding named without "emb" keeps its rows; a Linear named "embed..." decays."""
    net = torch.nn.ModuleDict({"table": torch.nn.Embedding(5, 4), "norm": torch.nn.LayerNorm(4),
                               "embed_proj": torch.nn.Linear(4, 4)})  # fmt: skip
    decay, no_decay = parameter_groups(net, 0.1)
    assert [p is net["embed_proj"].weight for p in decay["params"]] == [True]
    assert {id(p) for p in no_decay["params"]} == {
        id(net["table"].weight), id(net["norm"].weight), id(net["norm"].bias),
        id(net["embed_proj"].bias)}  # fmt: skip
    frozen = torch.nn.Linear(2, 2)
    frozen.weight.requires_grad_(False)
    assert [len(g["params"]) for g in parameter_groups(frozen, 0.1)] == [0, 1]  # the bias only


def test_both_heads_sit_on_one_transformer_stack(tok):
    torch.manual_seed(0)
    reward_model = new_model(tok)
    policy = CausalLM(PolicyConfig(vocab_size=len(tok)))
    assert type(reward_model.transformer) is type(policy.transformer) is Transformer
    # the reward model's encoder sees every real token; the policy's each earlier one only
    assert [b.attn.causal for b in reward_model.transformer.blocks] == [False, False]
    assert [b.attn.causal for b in policy.transformer.blocks] == [True, True]
    # a reward's last LayerNorm has no bias (one constant on every reward); the policy's has one
    assert reward_model.transformer.ln_f.bias is None and policy.transformer.ln_f.bias is not None
