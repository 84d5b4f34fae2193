"""Training the policy of :mod:`rmcourse.policy`: supervised fine-tuning, then DPO; measuring it.

Both train with the loop of :mod:`rmcourse.loop` (that of the reward model too), each with its
own objective; they take a :class:`rmcourse.loop.LoopConfig` (a ``TrainConfig`` without margin or
centering will do), and the policy keeps its last weights.

- :func:`sft` — maximum likelihood of the world's answers: the mean negative log-prob of the
  response tokens (prompt tokens are context, not targets). The result is the reference pi_ref.
- :func:`dpo` — a copy of pi_ref trained with :func:`rmcourse.torch_loss.dpo_loss` (or IPO's
  loss) on preference pairs; pi_ref's log-probs are computed once, before training (TRL's
  ``precompute_ref_log_probs``), since pi_ref is frozen.
- :func:`preference_pairs` — pairs a policy wrote, labelled by the world's true reward;
  :func:`implicit_rewards`, :func:`sample_with_log_ratios` — what lesson 07 measures.

References
----------
R. Rafailov et al., "Direct Preference Optimization: Your language model is secretly a reward
model", NeurIPS 2023.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rmcourse import loop, torch_loss
from rmcourse.data import PreferenceDataset, PreferenceWorld, Tokenizer
from rmcourse.device import resolve_device
from rmcourse.loop import LoopConfig
from rmcourse.np_loss import sigmoid
from rmcourse.policy import (
    CausalLM,
    decode_responses,
    encode_prompts,
    encode_responses,
    join_rows,
    sample,
    sequence_logprobs,
    token_logprobs,
)

LOSSES = {"dpo": torch_loss.dpo_loss, "ipo": torch_loss.ipo_loss}
"""The preference losses :func:`dpo` trains with, by name."""


@dataclass
class PolicyTrainResult:
    """The trained policy (its weights after the last step) and its per-step log."""

    model: CausalLM
    history: dict[str, list[float]]
    train_seconds: float
    device: str


def _train(
    model: CausalLM, objective: loop.Objective, n_examples: int, config: LoopConfig
) -> PolicyTrainResult:
    """Run the loop on batches of example indices; the last weights are kept."""
    batches = loop.index_batches(n_examples, config.batch_size, config.seed)
    run = loop.run(model, objective, batches, config)
    return PolicyTrainResult(model, run.history, run.seconds, str(run.device))


def sft(
    model: CausalLM,
    tokenizer: Tokenizer,
    prompts: Sequence[str],
    responses: Sequence[str],
    config: LoopConfig,
) -> PolicyTrainResult:
    """Supervised fine-tuning: minimise the mean negative log-prob of the response tokens.

    ``loss = -sum(log pi(y_t | x, y_<t) over response tokens) / (number of response tokens)``.
    ``model`` trains from the weights it has (``config.reinit``: from those of ``config.seed``).
    """
    loop.reject_objective_options(config, "sft")
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    device = resolve_device(config.device)
    prompt_ids = encode_prompts(tokenizer, prompts)  # (N, P)
    response_ids = encode_responses(tokenizer, responses)  # (N, R)
    rows, is_response = join_rows(prompt_ids, response_ids, tokenizer.pad_id)  # (N, T) x 2
    rows, targets = rows.to(device), is_response[:, 1:].to(device)  # (N, T), (N, T-1)

    def negative_log_likelihood(idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        idx = idx.to(device)
        per_token = token_logprobs(model, rows[idx])  # (B, T-1)
        mask = targets[idx]  # (B, T-1)
        loss = -torch.where(mask, per_token, 0.0).sum() / mask.sum()
        return loss, {"loss": loss.item()}

    return _train(model, negative_log_likelihood, len(prompts), config)


@torch.no_grad()
def logprobs_of(
    model: CausalLM, prompt_ids: torch.Tensor, response_ids: torch.Tensor, batch_size: int = 1024
) -> torch.Tensor:
    """:func:`rmcourse.policy.sequence_logprobs` in batches, no gradients: (N,) float64, CPU."""
    was_training = model.training
    model.eval()
    out = [
        sequence_logprobs(model, prompt_ids[i : i + batch_size], response_ids[i : i + batch_size])
        for i in range(0, len(prompt_ids), batch_size)
    ]
    model.train(was_training)
    return torch.cat(out).double().cpu()


def _encode_pairs(
    tokenizer: Tokenizer, pairs: PreferenceDataset
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prompts (N, P), chosen (N, R) and rejected (N, R) ids, the responses padded alike."""
    n = len(pairs)
    responses = encode_responses(tokenizer, list(pairs.chosen) + list(pairs.rejected))  # (2N, R)
    return encode_prompts(tokenizer, pairs.prompts), responses[:n], responses[n:]


def dpo(
    reference: CausalLM,
    tokenizer: Tokenizer,
    pairs: PreferenceDataset,
    config: LoopConfig,
    beta: float = 0.1,
    loss: str = "dpo",
) -> PolicyTrainResult:
    """Train a copy of ``reference`` with the DPO loss on ``pairs``; ``reference`` stays frozen.

    ``loss="ipo"`` trains with :func:`rmcourse.torch_loss.ipo_loss` instead (the same pairs,
    log-probs and logs). Logs per step the loss and what :func:`rmcourse.torch_loss.dpo_rewards`
    gives: the reward accuracy (ties wrong), the mean margin and the mean implicit rewards of
    both responses.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    pair_loss = LOSSES[loss]
    loop.reject_objective_options(config, "dpo")
    if config.reinit:
        raise ValueError("dpo trains a copy of the reference: reinit=True would discard it")
    device = resolve_device(config.device)
    reference.to(device).eval()
    prompts, chosen, rejected = _encode_pairs(tokenizer, pairs)
    ref_chosen = logprobs_of(reference, prompts, chosen).float().to(device)  # (N,)
    ref_rejected = logprobs_of(reference, prompts, rejected).float().to(device)  # (N,)
    policy = copy.deepcopy(reference)

    def dpo_step(idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        # chosen and rejected responses in ONE forward pass, then split
        logps = sequence_logprobs(policy, prompts[idx].repeat(2, 1),
                                  torch.cat([chosen[idx], rejected[idx]]))  # (2B,)  # fmt: skip
        pol_c, pol_r = logps.chunk(2)  # (B,), (B,)
        idx = idx.to(device)
        args = (pol_c, pol_r, ref_chosen[idx], ref_rejected[idx])
        r_c, r_r = (r.detach() for r in torch_loss.dpo_rewards(*args, beta=beta))
        value = pair_loss(*args, beta=beta)
        return value, {
            "loss": value.item(),
            "reward_accuracy": torch_loss.accuracy(r_c, r_r),
            "reward_margin": (r_c - r_r).mean().item(),
            "reward_chosen": r_c.mean().item(),
            "reward_rejected": r_r.mean().item(),
        }

    return _train(policy, dpo_step, len(pairs), config)


def implicit_rewards(
    policy: CausalLM,
    reference: CausalLM,
    tokenizer: Tokenizer,
    prompts: Sequence[str],
    responses: Sequence[str],
    beta: float,
) -> np.ndarray:
    """``beta * (log pi_theta(y|x) - log pi_ref(y|x))`` of each (prompt, response): (N,) float64."""
    x, y = encode_prompts(tokenizer, prompts), encode_responses(tokenizer, responses)
    return beta * (logprobs_of(policy, x, y) - logprobs_of(reference, x, y)).numpy()


def sample_with_log_ratios(
    policy: CausalLM, reference: CausalLM, prompt_ids: torch.Tensor, seed: int = 0,
    batch_size: int = 1024,
) -> tuple[torch.Tensor, np.ndarray]:  # fmt: skip
    """One answer per prompt from ``policy`` (temperature 1), and its ``log pi/pi_ref``.

    The mean of the log-ratios over prompts is an unbiased estimate of
    ``KL(pi_theta || pi_ref) = E_{y ~ pi_theta}[log pi_theta(y|x) - log pi_ref(y|x)]``, its
    standard error ``std / sqrt(N)``. Returns the response ids (N, R) and the log-ratios (N,).
    """
    device = next(policy.parameters()).device
    ids = [sample(policy, prompt_ids[i : i + batch_size].to(device), seed=seed + i)
           for i in range(0, len(prompt_ids), batch_size)]  # fmt: skip
    width = max(t.shape[1] for t in ids)
    responses = torch.cat([nn.functional.pad(t, (0, width - t.shape[1]), value=policy.config.pad_id)
                           for t in ids])  # fmt: skip
    log_ratio = logprobs_of(policy, prompt_ids, responses) - logprobs_of(
        reference, prompt_ids, responses
    )
    return responses, log_ratio.numpy()


def preference_pairs(
    world: PreferenceWorld,
    policy: CausalLM,
    tokenizer: Tokenizer,
    prompts: Sequence[str],
    seed: int = 0,
) -> PreferenceDataset:
    """Two answers to each prompt written by ``policy``, labelled by the world (Bradley-Terry).

    As :meth:`rmcourse.data.PreferenceWorld.sample` labels its pairs: the first answer y1 is
    chosen with probability σ(r*(x, y1) − r*(x, y2)); prompts whose two answers are the same
    are dropped (a pair of identical answers teaches nothing). Seeded by ``seed``.
    """
    x = encode_prompts(tokenizer, prompts)
    first, second = (
        decode_responses(tokenizer, sample(policy, x, seed=s)) for s in (2 * seed, 2 * seed + 1)
    )
    keep = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    kept_prompts = [prompts[i] for i in keep]
    y1, y2 = [first[i] for i in keep], [second[i] for i in keep]
    r1 = world.true_rewards(kept_prompts, [[y] for y in y1])[:, 0]  # (N,)
    r2 = world.true_rewards(kept_prompts, [[y] for y in y2])[:, 0]  # (N,)
    first_wins = np.random.default_rng(seed).random(len(keep)) < sigmoid(r1 - r2)  # (N,)
    return PreferenceDataset(
        kept_prompts,
        [a if w else b for a, b, w in zip(y1, y2, first_wins, strict=True)],
        [b if w else a for a, b, w in zip(y1, y2, first_wins, strict=True)],
        np.where(first_wins, r1, r2),
        np.where(first_wins, r2, r1),
    )
