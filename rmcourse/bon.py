"""Best-of-n sampling against a reward model, its KL from the reference policy, gold vs proxy.

Best-of-n draws n answers from the reference policy π_ref and keeps the one a scorer (the *proxy*
reward model) rates highest. When the scorer gives no ties its KL divergence from π_ref is

    KL(π_bon ‖ π_ref) = log n − (n − 1)/n

(Stiennon et al. 2020, appendix; the x-axis of Gao, Schulman & Hilton 2023). With ties the
formula is an upper bound (Beirami et al. 2024). Since the colour world knows its true reward r*,
the *gold* reward of the answers best-of-n picks is exact here: :func:`bon_curve` returns the gold
and the proxy reward of best-of-n for every n from one pool of scored answers.
:func:`ensemble_scores` combines several reward models after putting them on one scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from rmcourse.data import Tokenizer
from rmcourse.scoring import trim_padding
from rmcourse.validate import finite_number, positive_int


def bon_kl(n: int) -> float:
    """KL(π_bon ‖ π_ref) = log n − (n − 1)/n of best-of-n under a scorer without ties, in nats.

    The best of n draws has density n·F(s)^(n−1) times π_ref's (F: the scorer's CDF under
    π_ref), so KL = E[log n + (n − 1) log F(s)] with F(s) ~ Beta(n, 1), E[log F] = −1/n.
    This needs a continuous score distribution; where scores tie (a discrete world, as here),
    it is an upper bound on the true KL (Beirami et al. 2024).

    Examples
    --------
    >>> bon_kl(1), round(bon_kl(2), 6), round(bon_kl(16), 4)
    (0.0, 0.193147, 1.8351)
    """
    n = positive_int(n, "n")
    return float(np.log(n) - (n - 1) / n)


def bon_kl_simulated(n: int, n_draws: int = 200_000, n_bins: int = 200, seed: int = 0) -> float:
    """KL of best-of-n measured by simulation, without the formula.

    Scores under π_ref are uniform on [0, 1) (any continuous scorer, through its CDF). Draw
    ``n_draws`` best-of-n winners, count them in ``n_bins`` bins each of π_ref probability
    1/n_bins, and return the plug-in KL Σ q_j log(q_j · n_bins). Binning loses a little (the
    binned KL is at most the true one); ``n_bins`` must be well above n for a close estimate.

    Examples
    --------
    >>> round(bon_kl_simulated(4, seed=0), 2), round(bon_kl(4), 2)
    (0.64, 0.64)
    """
    n = positive_int(n, "n")
    n_draws, n_bins = positive_int(n_draws, "n_draws"), positive_int(n_bins, "n_bins")
    rng = np.random.default_rng(seed)
    winners = np.zeros(n_draws)
    for _ in range(n):  # max of n uniforms, n draws of n_draws each: no (n_draws, n) array
        winners = np.maximum(winners, rng.random(n_draws))
    q = np.bincount((winners * n_bins).astype(int), minlength=n_bins) / n_draws
    q = q[q > 0]
    return float(np.sum(q * np.log(q * n_bins)))


def best_of_n(scores: np.ndarray) -> np.ndarray:
    """Index of the highest-scored of the n answers of each prompt, (P, n) -> (P,).

    Ties go to the first answer drawn (``argmax``); answers are drawn at random, so this is a
    random tie-break.

    Examples
    --------
    >>> best_of_n(np.array([[0.1, 0.9, 0.3], [2.0, 1.0, 2.0]]))
    array([1, 0])
    """
    scores = _as_scores(scores, "scores")
    return np.argmax(scores, axis=1)


def select_best(candidates: Sequence[Sequence[str]], scores: np.ndarray) -> list[str]:
    """The answer best-of-n keeps for each prompt: ``candidates[p][best_of_n(scores)[p]]``.

    Examples
    --------
    >>> select_best([["it is red .", "thanks , it is red ."]], np.array([[0.5, 1.5]]))
    ['thanks , it is red .']
    """
    scores = _as_scores(scores, "scores")
    shape = (len(candidates), len(candidates[0]) if len(candidates) else 0)
    if any(len(c) != shape[1] for c in candidates) or scores.shape != shape:
        raise ValueError(
            f"scores have shape {scores.shape}, candidates {shape} (or rows of unequal length)"
        )
    return [row[i] for row, i in zip(candidates, best_of_n(scores), strict=True)]


def bon_curve(proxy: np.ndarray, gold: np.ndarray, ns: Sequence[int]) -> dict[str, np.ndarray]:
    """Expected gold and proxy reward of best-of-n by ``proxy``, for each n in ``ns``.

    ``proxy`` and ``gold`` score one pool of N answers per prompt, shape (P, N). Every n-subset
    of an i.i.d. pool is itself an i.i.d. draw of n answers, so averaging best-of-n over all
    C(N, n) subsets is an unbiased estimate of best-of-n, computed exactly: sorted by proxy,
    the answer of rank i (1 = lowest) is the best of a random n-subset with probability
    C(i − 1, n − 1) / C(N, n). Equal proxy scores are broken by position in the pool, i.e. at
    random. Means over prompts are returned, and the standard error of the gold mean over
    prompts (each prompt's pool is its own draw, so it carries the pool's sampling noise too).

    Returns
    -------
    dict of str to np.ndarray
        ``"n"``, ``"kl"`` (:func:`bon_kl` of each n), ``"gold"``, ``"gold_se"`` (NaN for one
        prompt: undefined) and ``"proxy"``, each (len(ns),).

    Examples
    --------
    >>> proxy = np.array([[1.0, 2.0, 3.0]])
    >>> gold = np.array([[0.0, 0.0, 3.0]])
    >>> out = bon_curve(proxy, gold, [1, 2, 3])
    >>> out["gold"].round(4).tolist(), out["proxy"].round(4).tolist()
    ([1.0, 2.0, 3.0], [2.0, 2.6667, 3.0])
    """
    proxy, gold = _as_scores(proxy, "proxy"), _as_scores(gold, "gold")
    if proxy.shape != gold.shape:
        raise ValueError(f"proxy {proxy.shape} and gold {gold.shape} must have one shape (P, N)")
    ns = [positive_int(n, "every n") for n in ns]
    if not ns:
        raise ValueError("ns must name at least one n")
    n_pool = proxy.shape[1]
    if max(ns) > n_pool:
        raise ValueError(f"n={max(ns)} exceeds the pool of {n_pool} answers per prompt")
    order = np.argsort(proxy, axis=1, kind="stable")  # (P, N) ascending proxy
    gold_sorted = np.take_along_axis(gold, order, axis=1)  # (P, N)
    proxy_sorted = np.take_along_axis(proxy, order, axis=1)  # (P, N)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n_pool + 1)))])  # (N + 1,)
    rank = np.arange(1, n_pool + 1)  # (N,)
    out = {"n": np.array(ns), "kl": np.array([bon_kl(n) for n in ns])}
    out["gold"], out["gold_se"], out["proxy"] = (np.empty(len(ns)) for _ in range(3))
    n_prompts = proxy.shape[0]
    for j, n in enumerate(ns):
        r = rank[n - 1 :]  # ranks that can be the best of n
        log_w = (log_fact[r - 1] - log_fact[n - 1] - log_fact[r - n]) - (
            log_fact[n_pool] - log_fact[n] - log_fact[n_pool - n]
        )  # log C(r-1, n-1) - log C(N, n)
        w = np.exp(log_w)  # (N - n + 1,), sums to 1
        per_prompt = gold_sorted[:, n - 1 :] @ w  # (P,)
        out["gold"][j] = float(np.mean(per_prompt))
        spread = np.std(per_prompt, ddof=1) if n_prompts > 1 else np.nan
        out["gold_se"][j] = float(spread / np.sqrt(n_prompts))
        out["proxy"][j] = float(np.mean(proxy_sorted[:, n - 1 :] @ w))
    return out


@torch.no_grad()
def score_candidates(
    model: nn.Module,
    tokenizer: Tokenizer,
    prompts: Sequence[str],
    candidates: Sequence[Sequence[str]],
    batch_size: int = 4096,
) -> np.ndarray:
    """Rewards of every candidate answer to its prompt, float64 (P, N); repeats scored once.

    Runs on the model's device, in eval mode, and puts the model back in its mode. Rows are
    batched by length and each batch trimmed of padding: the same rewards, less work.
    """
    if len(prompts) == 0 or len(prompts) != len(candidates):
        raise ValueError(
            f"need one row of candidates per prompt, got {len(prompts)} prompts and "
            f"{len(candidates)} rows"
        )
    n = len(candidates[0])
    if n == 0 or any(len(row) != n for row in candidates):
        raise ValueError("every prompt needs the same, non-zero number of candidates")
    device = next(model.parameters()).device
    unique: dict[tuple[str, str], int] = {}
    rows = zip(prompts, candidates, strict=True)
    where = np.array([unique.setdefault((x, y), len(unique)) for x, row in rows for y in row])
    pairs = list(unique)
    ids = torch.from_numpy(
        tokenizer.encode_pairs([x for x, _ in pairs], [y for _, y in pairs], model.config.max_len)
    )  # (U, T) fmt: skip
    by_length = torch.argsort((ids != tokenizer.pad_id).sum(dim=1), stable=True)  # (U,)
    rewards = torch.empty(len(pairs), dtype=torch.float64)  # (U,)
    was_training = model.training
    model.eval()
    for start in range(0, len(pairs), batch_size):
        chunk = by_length[start : start + batch_size]  # (B,)
        batch = trim_padding(ids[chunk], tokenizer.pad_id).to(device)  # (B, T')
        rewards[chunk] = model(batch).double().cpu()  # (B,)
    model.train(was_training)
    return rewards.numpy()[where].reshape(len(prompts), n)


ENSEMBLE_RULES = ("mean", "worst_case", "uncertainty_weighted")


def standardize(scores: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Each prompt's scores minus their mean over π_ref's answers, over their standard deviation.

    A Bradley-Terry reward model is identified only up to a shift per prompt (the loss sees
    differences of two answers to one prompt), and two reward models trained alike still differ
    in scale. Standardising on answers from the reference policy π_ref puts them on one scale:
    0 is the mean score of π_ref's answers to that prompt, 1 is one standard deviation
    (ddof 0) of those scores. ``scores`` is (P, N); ``reference`` (P, M) holds the scores the
    same scorer gives to M answers drawn from π_ref for the same prompts. By default
    ``reference`` is ``scores`` itself, right when its answers are drawn from π_ref (as a
    best-of-n pool is).

    Examples
    --------
    >>> standardize(np.array([[1.0, 3.0], [10.0, 30.0]])).tolist()
    [[-1.0, 1.0], [-1.0, 1.0]]
    >>> standardize(np.array([[5.0]]), reference=np.array([[1.0, 3.0]])).tolist()
    [[3.0]]
    """
    scores = _as_scores(scores, "scores")
    reference = scores if reference is None else _as_scores(reference, "reference")
    if reference.shape[0] != scores.shape[0]:
        raise ValueError(
            f"reference scores {reference.shape[0]} prompts, scores {scores.shape[0]}: "
            "one row of reference answers per prompt"
        )
    spread = reference.std(axis=1, keepdims=True)  # (P, 1)
    flat = np.flatnonzero(spread[:, 0] == 0)
    if flat.size:
        raise ValueError(
            f"the reference answers of prompt {flat[0]} all have one score: nothing to scale by"
        )
    return (scores - reference.mean(axis=1, keepdims=True)) / spread


def ensemble_scores(
    members: np.ndarray,
    rule: str,
    reference: np.ndarray | None = None,
    penalty: float = 1.0,
) -> np.ndarray:
    """One score per answer from k reward models, each standardised first: (k, P, N) -> (P, N).

    ``rule`` combines the standardised members z_1..z_k as Coste et al. (2024) do: ``"mean"``,
    ``"worst_case"`` (their minimum) or ``"uncertainty_weighted"`` (mean − ``penalty`` · their
    variance, ddof 0). Raw scores would not do: the minimum and the variance of raw scores
    change when one member's scores are shifted, and a Bradley-Terry model's shift is arbitrary.
    ``reference`` (k, P, M) holds each member's scores of π_ref's answers; default ``members``.

    Examples
    --------
    >>> a = np.array([[0.0, 1.0, 2.0]])             # one prompt, three answers
    >>> members = np.stack([a, 10 * a + 5])          # the same ranking, another shift and scale
    >>> ensemble_scores(members, "worst_case").round(3).tolist()
    [[-1.225, 0.0, 1.225]]
    """
    if rule not in ENSEMBLE_RULES:
        raise ValueError(f"rule must be one of {ENSEMBLE_RULES}, got {rule!r}")
    penalty = finite_number(penalty, "penalty", lower=0.0)
    members = np.asarray(members, dtype=float)
    if members.ndim != 3 or members.shape[0] < 2:
        raise ValueError(
            f"members must be a (k, prompts, answers) array with k >= 2, got {members.shape}"
        )
    if reference is not None:
        reference = np.asarray(reference, dtype=float)
        if reference.ndim != 3 or reference.shape[0] != members.shape[0]:
            raise ValueError(
                f"reference must be (k, prompts, M) with k = {members.shape[0]}, "
                f"got {reference.shape}"
            )
    z = np.stack(
        [standardize(m, None if reference is None else reference[i]) for i, m in enumerate(members)]
    )  # (k, P, N)
    if rule == "mean":
        return z.mean(axis=0)
    if rule == "worst_case":
        return z.min(axis=0)
    return z.mean(axis=0) - penalty * z.var(axis=0)


def _as_scores(scores: np.ndarray, name: str) -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or 0 in scores.shape:
        raise ValueError(f"{name} must be a non-empty (prompts, answers) array, got {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return scores


__all__ = [
    "bon_kl", "bon_kl_simulated", "best_of_n", "select_best", "bon_curve", "score_candidates",
    "standardize", "ensemble_scores", "ENSEMBLE_RULES",
]  # fmt: skip
