"""Reinforcement learning of the policy against a reward model, under a KL penalty to π_ref.

The objective, per prompt x, is the KL-regularised one of lesson 07:

    max_π  E_{y ~ π(·|x)}[r(x, y)] − β KL(π(·|x) ‖ π_ref(·|x)).

With ``advantage="rloo"``, :func:`train_rl` follows the policy gradient of this objective by
REINFORCE through the one loop of :mod:`rmcourse.loop`: each step samples k answers per prompt
from the policy, scores them with the reward model (the *proxy*; the world's true reward r* is
recorded beside it as *gold*), and takes one step along

    −∇ mean_i A_i · log π_θ(y_i | x)

(on-policy: one gradient step per batch of samples, so TRL's clipped ratio π_θ/π_old is 1 and
its gradient is this one). Two ways to get A_i:

- RLOO (Kool et al. 2019's leave-one-out baseline, for RLHF Ahmadian et al. 2024; TRL's
  ``RLOOTrainer``): the KL enters the reward per sequence,
  R_i = r(x, y_i) − β k1_i with k1_i = log π_θ(y_i|x) − log π_ref(y_i|x), and
  A_i = R_i − mean of the other k − 1 answers' R (:func:`rloo_advantages`): an unbiased
  estimate of the gradient of the objective above;
- GRPO (Shao et al. 2024; TRL's ``GRPOTrainer``, ``loss_type="grpo"``): A_i = (r_i − group
  mean) / (group std + 1e-4) (:func:`grpo_advantages`), and the KL is a per-token k3 term added
  to the loss, averaged over each answer's tokens then over answers. That is a different
  estimator, not an unbiased gradient of the objective: the per-token average weights each
  answer's ∇log π by 1/|y_i|, a bias tied to length (Liu et al. 2025, Dr. GRPO); dividing by
  each group's std reweights prompts; and the gradient of k3 in the loss, samples held fixed,
  has the expectation ∇KL(π_ref ‖ π), not ∇KL(π ‖ π_ref) (Tang & Munos 2025), so with β > 0
  its fixed point is not π*_β.

:func:`kl_estimates` gives Schulman's k1 and k3 estimators of KL(π ‖ π_ref) from samples of π.

References
----------
A. Ahmadian et al., "Back to Basics: Revisiting REINFORCE Style Optimization for Learning from
Human Feedback in LLMs", ACL 2024. T. Coste et al., "Reward Model Ensembles Help Mitigate
Overoptimization", ICLR 2024. Z. Shao et al., "DeepSeekMath", 2024 (GRPO). J. Schulman,
"Approximating KL Divergence", 2020 (k1, k3). R. J. Williams, "Simple statistical
gradient-following algorithms", Machine Learning 1992 (REINFORCE). Z. Liu et al.,
"Understanding R1-Zero-Like Training: A Critical Perspective", 2025 (Dr. GRPO). Y. Tang and
R. Munos, "On a few pitfalls in KL divergence gradient estimation for RL", 2025. W. Kool, H. van
Hoof, M. Welling, "Buy 4 REINFORCE Samples, Get a Baseline for Free!", ICLR workshop 2019 (the
leave-one-out baseline).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rmcourse import loop
from rmcourse.bon import score_candidates
from rmcourse.data import PreferenceWorld, Tokenizer
from rmcourse.device import resolve_device
from rmcourse.loop import LoopConfig
from rmcourse.policy import (
    CausalLM,
    decode_responses,
    encode_prompts,
    join_rows,
    sample,
    token_logprobs,
)
from rmcourse.validate import finite_number, positive_int

GRPO_EPS = 1e-4  # TRL's GRPOTrainer: advantages / (std + 1e-4)
ADVANTAGES = ("rloo", "grpo")


def _group_rewards(rewards: object) -> torch.Tensor:
    """``rewards`` as a float tensor (prompts, k) with k >= 2, all finite; else a clear error."""
    r = (
        rewards
        if isinstance(rewards, torch.Tensor)
        else torch.as_tensor(np.asarray(rewards, float))
    )
    if not r.is_floating_point():
        r = r.double()
    if r.ndim != 2 or r.shape[1] < 2:
        raise ValueError(
            f"rewards must have shape (prompts, k) with k >= 2 answers per prompt, got "
            f"{tuple(r.shape)}"
        )
    if not bool(torch.isfinite(r).all()):
        raise ValueError("rewards must be finite")
    return r


def rloo_advantages(rewards: object) -> torch.Tensor:
    """REINFORCE leave-one-out advantages: r_i − mean of the other k − 1 rewards of its prompt.

    ``rewards`` (prompts, k), array-like; returns a tensor of the same shape. The baseline of
    answer i does not depend on y_i, so the policy gradient stays unbiased (Kool et al. 2019;
    Ahmadian et al. 2024); the advantages of a prompt sum to 0. Equals TRL's ``RLOOTrainer``
    (without its optional ``normalize_advantages``).

    Examples
    --------
    >>> rloo_advantages([[1.0, 2.0, 6.0]])
    tensor([[-3.0000, -1.5000,  4.5000]], dtype=torch.float64)
    """
    r = _group_rewards(rewards)
    k = r.shape[1]
    others = (r.sum(dim=1, keepdim=True) - r) / (k - 1)  # (P, k)
    return r - others


def grpo_advantages(rewards: object) -> torch.Tensor:
    """GRPO advantages: (r − group mean) / (group std + 1e-4), the std Bessel-corrected.

    As TRL's ``GRPOTrainer`` scales them (``scale_rewards="group"``): the standard deviation of
    each prompt's k rewards with the k − 1 divisor, and 1e-4 so that a group of equal rewards
    gets advantages 0, not 0/0.

    Examples
    --------
    >>> grpo_advantages([[1.0, 2.0, 6.0], [3.0, 3.0, 3.0]]).round(decimals=4)
    tensor([[-0.7559, -0.3780,  1.1339],
            [ 0.0000,  0.0000,  0.0000]], dtype=torch.float64)
    """
    r = _group_rewards(rewards)
    centred = r - r.mean(dim=1, keepdim=True)  # (P, k)
    return centred / (r.std(dim=1, keepdim=True, correction=1) + GRPO_EPS)


def kl_estimates(logprobs: object, ref_logprobs: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Schulman's estimators k1 and k3 of KL(π ‖ π_ref), one per sample drawn from π.

    With ``log_ratio = log π − log π_ref`` of each sample y ~ π:

    - k1 = log π(y) − log π_ref(y): unbiased, but negative for some samples and of high variance;
    - k3 = (ρ − 1) − log ρ with ρ = π_ref(y)/π(y): unbiased too (E_π[ρ] = 1), and ≥ 0 for
      every sample. It is k1 plus the control variate ρ − 1, of mean 0 and, near π_ref,
      ≈ −k1 to first order: that, not its sign, is why its variance is lower when π is close
      to π_ref (Schulman 2020); far from π_ref, ρ can be large and k3's variance higher.

    Give sequence log-probs (log π(y|x), one per answer) for a per-sequence estimate of the
    sequence KL, or per-token log-probs of the sampled tokens for per-token estimates: by the
    chain rule their sum over an answer's tokens is, in expectation, the same sequence KL.
    Inputs of one shape, array-like; returns two tensors of that shape.

    Examples
    --------
    >>> k1, k3 = kl_estimates([-1.0, -2.0], [-1.0, -1.0])
    >>> k1.tolist(), [round(v, 4) for v in k3.tolist()]
    ([0.0, -1.0], [0.0, 0.7183])
    """
    logp, ref = torch.as_tensor(logprobs), torch.as_tensor(ref_logprobs)
    if logp.shape != ref.shape:
        raise ValueError(
            f"logprobs {tuple(logp.shape)} and ref_logprobs {tuple(ref.shape)} must have one shape"
        )
    log_ratio = logp - ref  # log π/π_ref
    return log_ratio, torch.expm1(-log_ratio) + log_ratio  # k1, (ρ − 1) − log ρ with ρ = e^−k1


@dataclass
class RLConfig(LoopConfig):
    """RL of a policy: the loop's config, ``batch_size`` prompts per step, plus these."""

    beta: float = 0.05  # the KL coefficient (TRL 1.16's RLOO default; its GRPO default is 0)
    k: int = 4  # answers sampled per prompt; RLOO's baseline needs k >= 2
    advantage: str = "rloo"  # "rloo" (KL in the reward, k1) or "grpo" (KL in the loss, k3)
    max_new_tokens: int = 16

    def __post_init__(self) -> None:
        super().__post_init__()
        finite_number(self.beta, "beta", lower=0.0)
        if positive_int(self.k, "k") < 2:
            raise ValueError(
                f"k must be >= 2 answers per prompt for a group baseline, got {self.k}"
            )
        if self.advantage not in ADVANTAGES:
            raise ValueError(f"advantage must be one of {ADVANTAGES}, got {self.advantage!r}")
        positive_int(self.max_new_tokens, "max_new_tokens")


@dataclass
class RLResult:
    """The trained policy (last weights), one ``history`` entry per step and one ``evals`` entry
    per evaluation pass (``"step"``, ``"proxy"``, ``"gold"``, ``"kl"``, ``"kl_se"``,
    ``"length"``: means over the evaluation prompts, one answer each; ``"disagreement"`` with
    monitors)."""

    model: CausalLM
    history: dict[str, list[float]]
    evals: dict[str, list[float]]
    train_seconds: float
    device: str


@torch.no_grad()
def evaluate_policy(
    policy: CausalLM,
    reference: CausalLM,
    reward_model: torch.nn.Module,
    world: PreferenceWorld,
    tokenizer: Tokenizer,
    prompts: Sequence[str],
    seed: int = 0,
) -> dict[str, object]:
    """One answer per prompt from ``policy``: the answers and, per answer (arrays (N,)), the
    proxy reward, gold r*, k1 = log π/π_ref and length in words; seeded by ``seed``."""
    x = encode_prompts(tokenizer, prompts)  # (N, P)
    y = sample(policy, x, seed=seed)  # (N, R)
    answers = decode_responses(tokenizer, y)
    if policy is reference:  # log π/π_ref = 0 on π_ref's own answers: no forward passes
        k1 = torch.zeros(len(y), dtype=torch.float64)
    else:
        k1 = (_sequence_logprobs(policy, x, y) - _sequence_logprobs(reference, x, y)).double()
    return {
        "answers": answers,
        "proxy": _score(reward_model, tokenizer, prompts, answers),
        "gold": world.true_rewards(prompts, [[a] for a in answers])[:, 0],
        "kl": k1.cpu().numpy(),
        "length": np.array([world.response_length(a) for a in answers], dtype=float),
    }


def _score(model: torch.nn.Module, tokenizer: Tokenizer, prompts: Sequence[str],
           answers: Sequence[str]) -> np.ndarray:  # fmt: skip
    """A reward model's score of each (prompt, answer): (N,) float64."""
    return score_candidates(model, tokenizer, prompts, [[a] for a in answers])[:, 0]


def _token_logprobs(
    model: CausalLM, prompt_ids: torch.Tensor, response_ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log-probs of the response tokens (B, T-1) and the mask of those tokens."""
    device = next(model.parameters()).device
    rows, is_response = join_rows(prompt_ids.to(device), response_ids.to(device),
                                  model.config.pad_id)  # (B, T) x 2  # fmt: skip
    mask = is_response[:, 1:]  # (B, T-1)
    # where, not a product: a padded target has log-prob -inf, and -inf * 0 is nan
    return torch.where(mask, token_logprobs(model, rows), 0.0), mask


def _sequence_logprobs(model: CausalLM, prompt_ids: torch.Tensor, response_ids: torch.Tensor):
    """log π(y|x) of each row, (B,) float32."""
    return _token_logprobs(model, prompt_ids, response_ids)[0].sum(dim=1)


def _ratio_to_itself(logprobs: torch.Tensor) -> torch.Tensor:
    """π_θ/π_old on-policy, as TRL writes it: exp(log π − log π.detach()), 1 in value, with the
    gradient of log π (the REINFORCE gradient; a clipped PPO ratio is inactive at 1)."""
    return torch.exp(logprobs - logprobs.detach())


def policy_gradient_loss(
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    rewards: torch.Tensor,
    beta: float,
    advantage: str = "rloo",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss of one batch of k answers per prompt, and the advantages it used.

    ``logprobs`` (P·k, T) the policy's per-token log-probs of the sampled answers (with
    gradients), ``ref_logprobs`` (P·k, T) π_ref's, ``mask`` (P·k, T) True on answer tokens,
    ``rewards`` (P, k) the reward model's scores, answers of one prompt in one row.

    - ``"rloo"``: R = r − β·k1 per answer (k1 summed over its tokens, no gradient through it),
      A = :func:`rloo_advantages` (R), loss = −mean(A · ρ) (TRL's ``RLOOTrainer``);
    - ``"grpo"``: A = :func:`grpo_advantages` (r), per-token loss −A·ρ_t + β·k3_t, averaged
      over each answer's tokens, then over answers (TRL's ``GRPOTrainer``, ``loss_type="grpo"``).

    ρ = π_θ/π_old is 1 on-policy (one gradient step per batch of samples), so the loss's value
    is not the objective's. With ``"rloo"`` its gradient is REINFORCE's, −mean A·∇log π(y|x);
    with ``"grpo"`` it is −mean A·(1/|y|)∇log π(y|x) plus β times the gradient of the mean k3,
    which is not the gradient of the KL-regularised objective (see the module docstring).
    """
    if advantage not in ADVANTAGES:
        raise ValueError(f"advantage must be one of {ADVANTAGES}, got {advantage!r}")
    n_prompts, k = rewards.shape
    if logprobs.shape != ref_logprobs.shape or logprobs.shape != mask.shape:
        raise ValueError("logprobs, ref_logprobs and mask must have one shape (P*k, T)")
    if logprobs.shape[0] != n_prompts * k:
        raise ValueError(f"{logprobs.shape[0]} answers but rewards of {n_prompts} x {k}")
    logprobs = torch.where(mask, logprobs, 0.0)
    ref_logprobs = torch.where(mask, ref_logprobs, 0.0)
    k1, k3 = kl_estimates(logprobs, ref_logprobs)  # (P·k, T) each, 0 off the answers
    if advantage == "rloo":
        shaped = rewards - beta * k1.detach().sum(dim=1).view(n_prompts, k)  # (P, k)
        adv = rloo_advantages(shaped).reshape(-1).to(logprobs.dtype)  # (P·k,)
        sequence = logprobs.sum(dim=1)  # (P·k,)
        return -(adv * _ratio_to_itself(sequence)).mean(), adv
    adv = grpo_advantages(rewards).reshape(-1).to(logprobs.dtype)  # (P·k,)
    per_token = -adv[:, None] * _ratio_to_itself(logprobs) + beta * k3  # (P·k, T)
    n_tokens = mask.sum(dim=1).clamp(min=1)  # (P·k,)
    return (torch.where(mask, per_token, 0.0).sum(dim=1) / n_tokens).mean(), adv


def train_rl(
    reference: CausalLM,
    reward_model: torch.nn.Module,
    world: PreferenceWorld,
    tokenizer: Tokenizer,
    prompts: Sequence[str],
    config: RLConfig,
    eval_prompts: Sequence[str] | None = None,
    monitors: Sequence[torch.nn.Module] = (),
) -> RLResult:
    """Train a copy of ``reference`` by RL against ``reward_model``; ``reference`` stays frozen.

    Each step takes ``config.batch_size`` of ``prompts`` (shuffled by ``config.seed``), samples
    ``config.k`` answers to each (seeded by the seed and the step) and takes one gradient step
    on :func:`policy_gradient_loss`. Logs per step the loss and, over the batch's answers, the
    mean proxy reward, gold r*, k1 and k3 estimates of the KL and answer length in words. With
    ``eval_prompts``, every ``config.eval_every`` steps and after the last, one answer per
    prompt (:func:`evaluate_policy`, the same seed each time) gives the means in ``evals``,
    whose first entry (step 0) is π_ref's own answers; with ``monitors`` (more reward models,
    not trained against), also ``"disagreement"``: the mean over answers of the standard
    deviation (ddof 1) of the scores of the ensemble ``[reward_model, *monitors]``, each scorer
    standardised on π_ref's answers to the evaluation prompts (:func:`rmcourse.bon.standardize`'s
    scale; ensembles as in Coste et al. 2024, who optimise against them: the worst case, or the
    mean minus the variance).
    """
    if not isinstance(config, RLConfig):
        raise TypeError(f"train_rl needs an RLConfig, got {type(config).__name__}")
    if config.reinit:
        raise ValueError("RL trains a copy of the reference: reinit=True would discard it")
    device = resolve_device(config.device)
    reference.to(device).eval()
    for scorer in (reward_model, *monitors):
        scorer.to(device).eval()
    policy = copy.deepcopy(reference)
    prompts = list(prompts)
    x_all = encode_prompts(tokenizer, prompts)  # (N, P)
    steps = iter(range(1, 1 << 62))

    def rl_step(idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        step = next(steps)
        chosen = idx.repeat_interleave(config.k)  # (B·k,) prompt of each answer, k in a row
        x = x_all[chosen]  # (B·k, P)
        y = sample(policy, x, seed=config.seed * 1_000_003 + step,
                   max_new_tokens=config.max_new_tokens)  # (B·k, R)  # fmt: skip
        answers = decode_responses(tokenizer, y)
        group_prompts = [prompts[i] for i in idx.tolist()]
        groups = [answers[j * config.k : (j + 1) * config.k] for j in range(len(idx))]
        proxy = score_candidates(reward_model, tokenizer, group_prompts, groups)  # (B, k)
        gold = world.true_rewards(group_prompts, groups)  # (B, k)
        logprobs, mask = _token_logprobs(policy, x, y)  # (B·k, T-1) x 2
        with torch.no_grad():
            ref_logprobs, _ = _token_logprobs(reference, x, y)
        rewards = torch.as_tensor(proxy, dtype=torch.float32, device=logprobs.device)
        loss, _ = policy_gradient_loss(logprobs, ref_logprobs, mask, rewards, config.beta,
                                       config.advantage)  # fmt: skip
        k1, k3 = kl_estimates(logprobs.detach(), ref_logprobs)
        return loss, {
            "loss": loss.item(),
            "proxy": float(proxy.mean()),
            "gold": float(gold.mean()),
            "kl_k1": k1.sum(dim=1).mean().item(),
            "kl_k3": torch.where(mask, k3, 0.0).sum(dim=1).mean().item(),
            "length": float(np.mean([world.response_length(a) for a in answers])),
        }

    if eval_prompts:  # π_ref's answers: step 0 of ``evals``, and the monitors' scales
        e_ref = evaluate_policy(reference, reference, reward_model, world, tokenizer,
                                eval_prompts, seed=config.seed + 7)  # fmt: skip
        ref_scores = [e_ref["proxy"], *(_score(m, tokenizer, eval_prompts, e_ref["answers"])
                                        for m in monitors)]  # fmt: skip
        scales = [(s.mean(), s.std()) for s in ref_scores]

    def summarise(e: dict[str, object], scores: list[np.ndarray]) -> dict[str, float]:
        kl = e["kl"]
        out = {"proxy": float(e["proxy"].mean()), "gold": float(e["gold"].mean()),
               "kl": float(kl.mean()), "kl_se": float(kl.std(ddof=1) / np.sqrt(len(kl))),
               "length": float(e["length"].mean())}  # fmt: skip
        if monitors:
            z = np.stack([(s - mu) / sd for s, (mu, sd) in zip(scores, scales, strict=True)])
            out["disagreement"] = float(z.std(axis=0, ddof=1).mean())  # z: (M, N)
        return out

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        e = evaluate_policy(model, reference, reward_model, world, tokenizer, eval_prompts,
                            seed=config.seed + 7)  # fmt: skip
        scores = [e["proxy"], *(_score(m, tokenizer, eval_prompts, e["answers"]) for m in monitors)]
        return summarise(e, scores)

    batches = loop.index_batches(len(prompts), config.batch_size, config.seed)
    run = loop.run(policy, rl_step, batches, config, evaluate if eval_prompts else None)
    evals = run.val_history
    if eval_prompts:  # step 0: π_ref itself (its k1 is 0), from the answers sampled above
        first = {"step": 0, **summarise(e_ref, ref_scores)}
        evals = {key: [first[key], *values] for key, values in evals.items()}
    return RLResult(policy, run.history, evals, run.seconds, str(run.device))
