"""The optimum of the KL-regularised objective, computed over the colour world's answers.

For each prompt x, ``max_π E_π[r] − β KL(π ‖ π_ref)`` is reached by the tilted reference

    π*_β(y|x) = π_ref(y|x) exp(r(x, y)/β) / Z(x),    Z(x) = Σ_y π_ref(y|x) exp(r(x, y)/β),

(Rafailov et al. 2023, Eq. 4; lesson 07), and its value is β log Z(x): on π*_β,
log π*_β/π_ref = r/β − log Z(x), so E[r] − β KL = β log Z(x). The world's answers to a
prompt are finitely many: an opener (none, 3 polite, 2 rude) × a hedge (none, 3) × a colour (8)
× a filler sequence (Σ_{k≤3} 5^k = 156) × a closing or none (2) = 59,904 answers
(:func:`answer_space`). So π*_β is computed exactly, over:

- :func:`world_candidates` — π_ref the world's sampler, its log-probabilities analytic;
- :func:`policy_candidates` — π_ref a language model (the SFT policy), scored on every answer;
  it may put some mass outside the world's answers: that share is reported, and π_ref is taken
  conditioned on the enumerated answers;
- :func:`sampled_candidates` — where answers cannot be enumerated, K samples of π_ref, each of
  weight 1/K: tilting that empirical distribution is self-normalised importance sampling.

:func:`solve` gives, per prompt, π*_β, its KL from π_ref, its expected gold reward r* and the
expected reward it was tilted by (r*, or a reward model's scores: the proxy), and the objective.

References
----------
R. Rafailov et al., "Direct Preference Optimization", NeurIPS 2023 (Eq. 4, the optimum);
L. Gao, J. Schulman, J. Hilton, "Scaling Laws for Reward Model Overoptimization", ICML 2023.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rmcourse.data import PreferenceWorld, Tokenizer
from rmcourse.data.tokenizer import split_words
from rmcourse.data.world import (
    COLORS,
    FILLERS,
    HEDGES,
    POLITE_CLOSING,
    POLITE_OPENERS,
    RUDE_OPENERS,
    WorldConfig,
    stated_colours,
)
from rmcourse.policy import CausalLM, encode_prompts, encode_responses, join_rows
from rmcourse.validate import finite_number


def _logsumexp(a: np.ndarray) -> np.ndarray:
    """log Σ exp(a) over the last axis, stable (the largest term factored out): (...,)."""
    top = np.max(a, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - top).sum(axis=-1)) + top[..., 0]


def _as_logprobs(values: object, name: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 0 or a.shape[-1] == 0:
        raise ValueError(f"{name} must hold at least one answer on its last axis, got {a.shape}")
    if np.isnan(a).any() or (a == np.inf).any():
        raise ValueError(f"{name} must be log-probabilities (no nan, no +inf)")
    if not np.isfinite(a).any(axis=-1).all():
        raise ValueError(f"{name}: every prompt needs an answer of probability > 0")
    return a


def tilt(ref_logprobs: np.ndarray, rewards: np.ndarray, beta: float) -> np.ndarray:
    """log π*_β = log π_ref + r/β − log Z over the answers of one prompt (the last axis).

    Leading axes, if any, are prompts. ``ref_logprobs`` may be unnormalised (the result is
    normalised) and may hold −inf (answers π_ref never writes; π*_β never writes them either).
    Stable for tiny β: log Z is a log-sum-exp with the largest term factored out.

    Examples
    --------
    >>> logp = tilt(np.log([0.5, 0.5]), np.array([0.0, np.log(3.0)]), beta=1.0)
    >>> np.exp(logp).round(6)
    array([0.25, 0.75])
    >>> np.exp(tilt(np.log([0.5, 0.5]), np.array([0.0, 1.0]), beta=1e-6)).round(6)  # argmax
    array([0., 1.])
    """
    beta = finite_number(beta, "beta", lower=0.0, strict=True)
    ref = _as_logprobs(ref_logprobs, "ref_logprobs")
    r = np.asarray(rewards, dtype=np.float64)
    if r.shape != ref.shape:
        raise ValueError(f"rewards {r.shape} and ref_logprobs {ref.shape} must have one shape")
    if not np.isfinite(r).all():
        raise ValueError("rewards must be finite")
    logits = ref + r / beta
    return logits - _logsumexp(logits)[..., None]


def kl_from_ref(logprobs: np.ndarray, ref_logprobs: np.ndarray) -> np.ndarray | float:
    """KL(π ‖ π_ref) = Σ_y π(y) (log π(y) − log π_ref(y)) over the last axis, in nats.

    Both arguments are normalised log-probabilities over the same answers; answers of π
    probability 0 add nothing. A float for one prompt, (P,) for (P, N).

    Examples
    --------
    >>> round(kl_from_ref(np.log([0.25, 0.75]), np.log([0.5, 0.5])), 6)  # 0.25 ln .5 + .75 ln 1.5
    0.130812
    >>> kl_from_ref(np.log([[0.5, 0.5]]), np.log([[0.5, 0.5]]))
    array([0.])
    """
    logp = _as_logprobs(logprobs, "logprobs")
    ref = _as_logprobs(ref_logprobs, "ref_logprobs")
    if logp.shape != ref.shape:
        raise ValueError(f"logprobs {logp.shape} and ref_logprobs {ref.shape} must have one shape")
    p = np.exp(logp)
    with np.errstate(invalid="ignore"):  # −inf − (−inf) where π and π_ref are both 0: no term
        terms = np.where(p > 0, p * (logp - ref), 0.0)  # +inf where π_ref is 0 but π is not
    kl = terms.sum(axis=-1)
    return float(kl) if kl.ndim == 0 else kl


# --------------------------------------------------------------------------- the answer space


@dataclass(frozen=True)
class AnswerSpace:
    """Every answer the world's sampler can write to a prompt, and its parts, (N,) each.

    ``opener``: 0 none, 1..3 the polite openers, 4..5 the rude ones; ``hedge``: 0 none, 1..3;
    ``colour``: index into ``COLORS``; ``n_fillers``; ``closing``: True with ``have fun !``.
    """

    texts: tuple[str, ...]
    opener: np.ndarray
    hedge: np.ndarray
    colour: np.ndarray
    n_fillers: np.ndarray
    closing: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def world_logprobs(self, config: WorldConfig, right: int) -> np.ndarray:
        """log π_ref(y|x) of the world's sampler when colour ``right`` is the right one: (N,)."""
        c = config
        with np.errstate(divide="ignore"):
            p_none = 1.0 - c.p_polite_opener - c.p_rude_opener
            opener = np.log(np.where(self.opener == 0, p_none, np.where(
                self.opener <= len(POLITE_OPENERS), c.p_polite_opener / len(POLITE_OPENERS),
                c.p_rude_opener / len(RUDE_OPENERS))))  # fmt: skip
            hedge = np.log(np.where(self.hedge == 0, 1 - c.p_hedge, c.p_hedge / len(HEDGES)))
            colour = np.log(np.where(self.colour == right, c.p_correct,
                                     (1 - c.p_correct) / (len(COLORS) - 1)))  # fmt: skip
            closing = np.log(np.where(self.closing, c.p_closing, 1 - c.p_closing))
        fillers = -np.log(c.max_fillers + 1) - self.n_fillers * np.log(len(FILLERS))
        return opener + hedge + colour + fillers + closing

    def true_rewards(self, config: WorldConfig, right: int) -> np.ndarray:
        """r*(x, y) of every answer when colour ``right`` is the right one: (N,) float64."""
        c = config
        polite = ((self.opener >= 1) & (self.opener <= len(POLITE_OPENERS))).astype(int)
        r = (c.w_correct * (self.colour == right) + c.w_polite * (polite + self.closing)
             + c.w_rude * (self.opener > len(POLITE_OPENERS)) + c.w_hedge * (self.hedge > 0)
             + c.w_filler * self.n_fillers)  # fmt: skip
        return np.round(r, 10)  # as PreferenceWorld.reward_of rounds


@functools.lru_cache(maxsize=4)
def answer_space(config: WorldConfig | None = None) -> AnswerSpace:
    """Every answer of the world's sampler (:meth:`PreferenceWorld.sample_responses`).

    Examples
    --------
    >>> space = answer_space()
    >>> len(space), space.texts[0], space.texts[-1]
    (59904, 'it is red .', 'duh , probably it is totally totally totally purple . have fun !')
    """
    config = WorldConfig() if config is None else config
    fillers = [s for k in range(config.max_fillers + 1)
               for s in itertools.product(range(len(FILLERS)), repeat=k)]  # fmt: skip
    openers = ("", *POLITE_OPENERS, *RUDE_OPENERS)
    hedges = ("", *HEDGES)
    rows = list(itertools.product(range(len(openers)), range(len(hedges)), range(len(fillers)),
                                  range(len(COLORS)), (False, True)))  # fmt: skip
    texts = tuple(
        " ".join(filter(None, (openers[o], hedges[h],
                               " ".join(["it is", *(FILLERS[i] for i in fillers[f]), COLORS[c],
                                         "."]), POLITE_CLOSING if cl else "")))
        for o, h, f, c, cl in rows
    )  # fmt: skip
    o, h, f, c, cl = (np.array(col) for col in zip(*rows, strict=True))
    n_fillers = np.array([len(s) for s in fillers])[f]
    return AnswerSpace(texts, o, h, c, n_fillers, cl.astype(bool))


def _right_colours(prompts: Sequence[str]) -> list[int]:
    return [COLORS.index(colour) for colour in stated_colours(prompts)]


# --------------------------------------------------------------------------- candidates


@dataclass
class Candidates:
    """The answers π*_β is computed over, per prompt, with π_ref's log-probs and their r*.

    ``answers[p]`` are the N answers of prompt p (one shared list for an enumeration);
    ``ref_logprobs`` (P, N) are normalised over them; ``coverage`` (P,) is the share of π_ref's
    mass they hold (1 for the world's sampler and for samples); ``gold`` (P, N) is r*.
    """

    prompts: list[str]
    answers: list[Sequence[str]]
    ref_logprobs: np.ndarray
    gold: np.ndarray
    coverage: np.ndarray


def world_candidates(world: PreferenceWorld, prompts: Sequence[str]) -> Candidates:
    """Every answer to each prompt, π_ref the world's sampler (analytic log-probs).

    Examples
    --------
    >>> cands = world_candidates(PreferenceWorld(), ["car : red . color ?"])
    >>> cands.ref_logprobs.shape, round(float(np.exp(cands.ref_logprobs).sum()), 12)
    ((1, 59904), 1.0)
    """
    space = answer_space(world.config)
    rights = _right_colours(prompts)
    ref = np.stack([space.world_logprobs(world.config, c) for c in rights])  # (P, N)
    gold = np.stack([space.true_rewards(world.config, c) for c in rights])  # (P, N)
    return Candidates(list(prompts), [space.texts] * len(rights), ref, gold, np.ones(len(rights)))


def policy_candidates(
    world: PreferenceWorld,
    policy: CausalLM,
    tokenizer: Tokenizer,
    prompts: Sequence[str],
    batch_size: int = 4096,
) -> Candidates:
    """Every answer to each prompt, π_ref a language model conditioned on the enumerated answers.

    ``coverage`` is the model's total probability of the enumerated answers; log-probs are
    renormalised over them (π_ref given that its answer is one the world writes).
    """
    space = answer_space(world.config)
    rights = _right_colours(prompts)
    longest = np.flatnonzero(space.closing)  # (M,) the answers with the closing
    y = encode_responses(tokenizer, [space.texts[i] for i in longest])  # (M, R), once
    raw = np.stack([_space_logprobs(policy, tokenizer, space, y, p, batch_size) for p in prompts])
    log_mass = _logsumexp(raw)  # (P,)
    gold = np.stack([space.true_rewards(world.config, c) for c in rights])
    return Candidates(list(prompts), [space.texts] * len(rights), raw - log_mass[:, None], gold,
                      np.exp(log_mass))  # fmt: skip


@torch.no_grad()
def _space_logprobs(
    policy: CausalLM,
    tokenizer: Tokenizer,
    space: AnswerSpace,
    y: torch.Tensor,
    prompt: str,
    batch_size: int,
) -> np.ndarray:
    """log π(y|x) of every answer of ``space``: (N,) float64.

    An answer without the closing is a prefix of the one with it, plus ``<eos>``: one forward pass
    over the answers with the closing (``y``, encoded) scores both: half the work.
    """
    closing = len(split_words(POLITE_CLOSING))
    longest = np.flatnonzero(space.closing)  # (M,)
    short = _closing_partner(space)[longest]  # (M,) the same answer without the closing
    x = encode_prompts(tokenizer, [prompt])  # (1, P)
    n_prompt = int((x != tokenizer.pad_id).sum())
    device = next(policy.parameters()).device
    was_training = policy.training
    policy.eval()
    out = np.empty(len(space))
    for start in range(0, len(y), batch_size):
        yb = y[start : start + batch_size]
        rows, is_response = join_rows(x.expand(len(yb), -1), yb, tokenizer.pad_id)  # (B, T) x 2
        rows = rows.to(device)
        logp = torch.log_softmax(policy(rows[:, :-1]).float(), dim=-1)  # (B, T-1, V)
        per_token = logp.gather(2, rows[:, 1:, None]).squeeze(2)  # (B, T-1)
        per_token = torch.where(is_response[:, 1:].to(device), per_token, 0.0)
        n_response = is_response.sum(dim=1).to(device)  # (B,) words and <eos>
        end = n_prompt + n_response - closing - 1  # (B,) the row index of the '.' + 1
        to_dot = torch.arange(per_token.shape[1], device=device)[None, :] < end[:, None] - 1
        eos = logp[torch.arange(len(yb), device=device), end - 1, tokenizer.eos_id]  # (B,)
        out[longest[start : start + len(yb)]] = per_token.sum(dim=1).double().cpu().numpy()
        without = (torch.where(to_dot, per_token, 0.0).sum(dim=1) + eos).double().cpu().numpy()
        out[short[start : start + len(yb)]] = without
    policy.train(was_training)
    return out


def _closing_partner(space: AnswerSpace) -> np.ndarray:
    """For each answer, the index of the same answer with the closing toggled: (N,)."""
    key = {t.removesuffix(" " + POLITE_CLOSING): i for i, t in enumerate(space.texts)
           if not space.closing[i]}  # fmt: skip
    partner = np.empty(len(space), dtype=np.int64)
    for i, t in enumerate(space.texts):
        if space.closing[i]:
            j = key[t.removesuffix(" " + POLITE_CLOSING)]
            partner[i], partner[j] = j, i
    return partner


def sampled_candidates(
    world: PreferenceWorld, prompts: Sequence[str], samples: Sequence[Sequence[str]]
) -> Candidates:
    """K answers sampled from π_ref per prompt, each of weight 1/K (importance sampling)."""
    if len(samples) != len(prompts) or len({len(row) for row in samples}) != 1:
        raise ValueError("need one row of samples per prompt, all rows of one length")
    k = len(samples[0])
    if k == 0:
        raise ValueError("need at least one sample per prompt")
    gold = world.true_rewards(prompts, samples)  # (P, K)
    ref = np.full(gold.shape, -np.log(k))
    return Candidates(list(prompts), [list(row) for row in samples], ref, gold,
                      np.ones(len(prompts)))  # fmt: skip


# --------------------------------------------------------------------------- the optimum


@dataclass
class Optimum:
    """π*_β over the candidates and what it earns, per prompt ((P,) arrays; ``logprobs`` (P, N)).

    ``reward`` is the expected reward π*_β was tilted by (r*, or a proxy), ``gold`` the expected
    r*, ``kl`` KL(π*_β ‖ π_ref), ``objective`` = reward − β·kl (= β log Z, the maximum).
    """

    beta: float
    logprobs: np.ndarray
    kl: np.ndarray
    gold: np.ndarray
    reward: np.ndarray
    objective: np.ndarray
    coverage: np.ndarray


def solve(candidates: Candidates, beta: float, reward: np.ndarray | None = None) -> Optimum:
    """π*_β ∝ π_ref · exp(reward/β) per prompt; ``reward`` (P, N) defaults to r* (``gold``).

    Examples
    --------
    >>> opt = solve(world_candidates(PreferenceWorld(), ["car : red . color ?"]), beta=1.0)
    >>> bool(opt.objective[0] >= opt.gold[0] - opt.kl[0] - 1e-9)
    True
    """
    r = candidates.gold if reward is None else np.asarray(reward, dtype=np.float64)
    if r.shape != candidates.gold.shape:
        raise ValueError(
            f"reward {r.shape} must have the candidates' shape {candidates.gold.shape}"
        )
    logp = tilt(candidates.ref_logprobs, r, beta)  # (P, N)
    p = np.exp(logp)
    kl = np.asarray(kl_from_ref(logp, candidates.ref_logprobs))  # (P,)
    expected = (p * r).sum(axis=1)  # (P,)
    return Optimum(float(beta), logp, kl, (p * candidates.gold).sum(axis=1), expected,
                   expected - beta * kl, candidates.coverage)  # fmt: skip


def win_rates(candidates: Candidates) -> np.ndarray:
    """P(y ≻ y') for y' ~ π_ref under the world's Bradley-Terry labels, per answer: (P, N).

    ``Σ_y' π_ref(y') σ(r*(y) − r*(y'))`` over the candidates. Tilting π_ref by it, with β as IPO's
    τ, gives the optimum of IPO's objective ``E_{y~π, y'~π_ref}[P(y ≻ y')] − τ KL(π ‖ π_ref)``
    (Azar et al. 2023, pairs drawn from π_ref): ``solve(candidates, tau, reward=win_rates(...))``.

    Examples
    --------
    >>> cands = Candidates(["x"], [["a", "b"]], np.log([[0.5, 0.5]]), np.array([[1.0, 0.0]]),
    ...                    np.ones(1))
    >>> win_rates(cands).round(4)  # (σ(0) + σ(1)) / 2 and (σ(-1) + σ(0)) / 2
    array([[0.6155, 0.3845]])
    """
    out = np.empty(candidates.gold.shape)
    for p, (logp, gold) in enumerate(zip(candidates.ref_logprobs, candidates.gold, strict=True)):
        values, which = np.unique(gold, return_inverse=True)  # r* takes few values: group them
        mass = np.bincount(which, weights=np.exp(logp), minlength=len(values))  # (U,)
        beats = 1.0 / (1.0 + np.exp(values[None, :] - values[:, None]))  # (U, U) σ(u − v)
        out[p] = (beats @ mass)[which]
    return out
