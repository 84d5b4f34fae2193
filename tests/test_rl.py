"""Tests of rmcourse.rl: RLOO and GRPO advantages (hand cases and TRL's formulas), Schulman's k1/k3
KL estimators (values, unbiasedness on seeded samples), the policy-gradient loss (TRL's GRPO loss,
the REINFORCE gradient) and a short RL run that raises a reward it can read."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from rmcourse import rl
from rmcourse.data import PreferenceWorld
from rmcourse.policy import new_policy

F64 = torch.float64


def random_rewards(p: int, k: int, seed: int) -> torch.Tensor:
    return torch.randn(p, k, generator=torch.Generator().manual_seed(seed), dtype=F64)


# --- advantages


def test_rloo_hand_case_and_each_baseline_leaves_its_own_answer_out():
    adv = rl.rloo_advantages([[1.0, 2.0, 6.0], [0.0, 4.0, 2.0]])
    assert adv.reshape(-1).tolist() == pytest.approx([-3.0, -1.5, 4.5, -3.0, 3.0, 0.0])
    r = random_rewards(5, 4, seed=0)
    by_loop = torch.stack([torch.stack([r[p, i] - torch.cat([r[p, :i], r[p, i + 1 :]]).mean()
                                        for i in range(4)]) for p in range(5)])  # fmt: skip
    assert torch.allclose(rl.rloo_advantages(r), by_loop)
    # RLOO's advantage is k/(k−1) times the mean-centred reward, and sums to 0 per prompt
    centred = r - r.mean(dim=1, keepdim=True)
    assert torch.allclose(rl.rloo_advantages(r), centred * 4 / 3)
    assert torch.allclose(rl.rloo_advantages(r).sum(dim=1), torch.zeros(5, dtype=F64))


def test_grpo_hand_case_uses_the_bessel_std():
    adv = rl.grpo_advantages([[1.0, 2.0, 6.0]])
    std = np.std([1.0, 2.0, 6.0], ddof=1)
    expected = (np.array([1.0, 2.0, 6.0]) - 3.0) / (std + 1e-4)
    assert adv[0].tolist() == pytest.approx(expected.tolist(), rel=1e-12)
    # ddof=0 would give a different answer: the test can tell the two apart
    assert adv[0, 2].item() != pytest.approx(3.0 / (np.std([1.0, 2.0, 6.0]) + 1e-4), rel=1e-3)
    assert rl.grpo_advantages([[2.0, 2.0]]).tolist() == [[0.0, 0.0]]


def test_advantages_equal_trls_formulas():
    """TRL's GRPOTrainer and RLOOTrainer, _generate_and_score_completions, written out with TRL's
    own nanstd, on a flat batch of P*k rewards grouped by num_generations."""
    utils = pytest.importorskip("trl.trainer.utils", reason="the [hf] extra is not installed")
    r = random_rewards(6, 4, seed=1).float()
    flat, k = r.reshape(-1), 4
    mean = torch.nanmean(flat.view(-1, k), dim=1).repeat_interleave(k, dim=0)
    std = utils.nanstd(flat.view(-1, k), dim=1).repeat_interleave(k, dim=0)
    trl_grpo = (flat - mean) / (std + 1e-4)
    assert torch.allclose(rl.grpo_advantages(r).reshape(-1), trl_grpo, atol=1e-6)
    grouped = flat.view(-1, k)
    counts = (~torch.isnan(grouped)).sum(dim=1, keepdim=True)
    baselines = (torch.nansum(grouped, dim=1, keepdim=True) - grouped) / (counts - 1)
    trl_rloo = flat - baselines.view(-1)
    assert torch.allclose(rl.rloo_advantages(r).reshape(-1), trl_rloo, atol=1e-6)


@pytest.mark.parametrize("fn", [rl.rloo_advantages, rl.grpo_advantages])
@pytest.mark.parametrize(
    ("bad", "message"),
    [([1.0, 2.0], "shape"), ([[1.0], [2.0]], "k >= 2"), ([[1.0, float("nan")]], "finite")],
)
def test_advantages_reject_bad_rewards(fn, bad, message):
    with pytest.raises(ValueError, match=message):
        fn(bad)


# --- KL estimators


def test_kl_estimates_hand_values():
    k1, k3 = rl.kl_estimates(torch.tensor([-1.0, -2.0, -0.5]), torch.tensor([-1.0, -1.0, -1.5]))
    assert k1.tolist() == pytest.approx([0.0, -1.0, 1.0])
    assert k3.tolist() == pytest.approx([0.0, np.e - 2.0, np.exp(-1.0)], rel=1e-6)
    with pytest.raises(ValueError, match="one shape"):
        rl.kl_estimates(torch.zeros(3), torch.zeros(2))


def test_k1_and_k3_are_unbiased_and_k3_is_never_negative():
    rng = np.random.default_rng(0)
    pi, ref = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    exact = float(np.sum(pi * np.log(pi / ref)))
    y = rng.choice(6, size=400_000, p=pi)  # samples of π
    k1, k3 = rl.kl_estimates(np.log(pi[y]), np.log(ref[y]))
    for est in (k1, k3):
        se = est.std().item() / np.sqrt(len(y))
        assert abs(est.mean().item() - exact) < 4 * se
    assert bool((k3 >= 0).all()) and bool((k1 < 0).any())
    # the estimators differ sample by sample: an implementation returning k1 twice would fail
    assert not torch.allclose(k1, k3)


def test_k3_has_less_variance_than_k1_near_the_reference():
    rng = np.random.default_rng(1)
    ref = rng.dirichlet(np.ones(8))
    pi = ref * np.exp(0.2 * rng.standard_normal(8))
    pi /= pi.sum()
    y = rng.choice(8, size=100_000, p=pi)
    k1, k3 = rl.kl_estimates(np.log(pi[y]), np.log(ref[y]))
    assert k3.var().item() < 0.2 * k1.var().item()


# --- the loss


def _batch(seed: int, p: int = 3, k: int = 4, t: int = 5):
    gen = torch.Generator().manual_seed(seed)
    logp = (-3 * torch.rand(p * k, t, generator=gen, dtype=F64)).requires_grad_(True)
    ref = -3 * torch.rand(p * k, t, generator=gen, dtype=F64)
    lengths = torch.randint(1, t + 1, (p * k,), generator=gen)
    mask = torch.arange(t)[None, :] < lengths[:, None]
    return logp, ref, mask, torch.randn(p, k, generator=gen, dtype=F64)


def test_grpo_loss_equals_trls_grpo_loss_and_gradient():
    """TRL's GRPOTrainer._compute_loss, loss_type="grpo", on-policy (old = current log-probs),
    no clipping active (coef_1 = 1), per-token KL exp(ref − logp) − (ref − logp) − 1."""
    logp, ref, mask, rewards = _batch(seed=2)
    beta = 0.3
    ours, adv = rl.policy_gradient_loss(logp, ref, mask, rewards, beta, "grpo")
    (g_ours,) = torch.autograd.grad(ours, logp)

    coef_1 = torch.exp(logp - logp.detach())
    per_token_kl = torch.exp(ref - logp) - (ref - logp) - 1
    coef_2 = torch.clamp(coef_1, 1 - 0.2, 1 + 0.2)
    a = adv[:, None]
    per_token_loss = -torch.min(coef_1 * a, coef_2 * a) + beta * per_token_kl
    m = mask.double()
    trl = ((per_token_loss * m).sum(-1) / m.sum(-1).clamp(min=1.0)).mean()
    (g_trl,) = torch.autograd.grad(trl, logp)
    assert ours.item() == pytest.approx(trl.item(), rel=1e-12)
    assert torch.allclose(g_ours, g_trl)
    assert torch.allclose(adv.view(3, 4), rl.grpo_advantages(rewards))


def test_rloo_loss_gradient_is_minus_advantage_over_n_on_each_answer_token():
    logp, ref, mask, rewards = _batch(seed=3)
    beta = 0.1
    loss, adv = rl.policy_gradient_loss(logp, ref, mask, rewards, beta, "rloo")
    (grad,) = torch.autograd.grad(loss, logp)
    k1 = torch.where(mask, logp.detach() - ref, 0.0).sum(dim=1).view(3, 4)
    expected_adv = rl.rloo_advantages(rewards - beta * k1).reshape(-1)
    assert torch.allclose(adv, expected_adv)
    expected = torch.where(mask, -expected_adv[:, None] / 12, 0.0)
    assert torch.allclose(grad, expected)
    # the KL penalty changes the advantages: beta = 0 gives those of the rewards alone
    _, adv0 = rl.policy_gradient_loss(logp, ref, mask, rewards, 0.0, "rloo")
    assert torch.allclose(adv0, rl.rloo_advantages(rewards).reshape(-1))
    assert not torch.allclose(adv0, adv)


def test_loss_rejects_bad_input():
    logp, ref, mask, rewards = _batch(seed=4)
    with pytest.raises(ValueError, match="advantage must be one of"):
        rl.policy_gradient_loss(logp, ref, mask, rewards, 0.1, "ppo")
    with pytest.raises(ValueError, match="answers but rewards"):
        rl.policy_gradient_loss(logp, ref, mask, rewards[:2], 0.1)
    with pytest.raises(ValueError, match="k must be >= 2"):
        rl.RLConfig(steps=1, k=1)
    with pytest.raises(TypeError, match="RLConfig"):
        rl.train_rl(None, None, None, None, [], rl.LoopConfig(steps=1))


# --- a short run


@dataclass
class _Sizes:
    max_len: int = 64


class CountToken(nn.Module):
    """A 'reward model' that counts one token in each row: RL should learn to write it."""

    def __init__(self, token: int) -> None:
        super().__init__()
        self.config = _Sizes()
        self.token = token
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self.token is None:  # the row's length: a second scorer for the ensemble
            return (ids != 0).sum(dim=1).float() + 0 * self.unused
        return (ids == self.token).sum(dim=1).float() + 0 * self.unused


def test_rl_raises_the_reward_it_reads_and_is_seeded():
    world = PreferenceWorld(seed=0)
    tok = world.tokenizer()
    torch.manual_seed(0)
    reference = new_policy(tok, d_model=16, d_ff=32)
    reward = CountToken(tok.encode("red")[0])
    prompts = world.sample(64, seed=5).prompts
    config = rl.RLConfig(steps=40, batch_size=8, k=4, lr=1e-2, warmup_steps=1, beta=0.0,
                         max_new_tokens=6, progress=False, eval_every=40)  # fmt: skip
    runs = [rl.train_rl(reference, reward, world, tok, prompts, config, prompts[:32],
                        monitors=[CountToken(None)]) for _ in range(2)]  # fmt: skip
    first = runs[0].history
    assert first["kl_k1"][0] == 0.0 and first["kl_k3"][0] == 0.0  # the policy starts at π_ref
    assert np.mean(first["proxy"][-10:]) > np.mean(first["proxy"][:10]) + 0.5
    assert runs[0].evals["kl"][-1] > 0.05
    assert first == runs[1].history  # seeded
    assert set(runs[0].evals) >= {"step", "proxy", "gold", "kl", "kl_se", "length"}
    assert runs[0].evals["step"] == [0, 40]  # step 0 is pi_ref's own answers: k1 exactly 0
    assert runs[0].evals["kl"][0] == 0.0 and runs[0].evals["kl_se"][0] == 0.0
    # two scorers that disagree (a token count and a length), standardised on pi_ref's answers
    assert np.isfinite(runs[0].evals["disagreement"]).all()
    assert min(runs[0].evals["disagreement"]) > 0.0
