"""The pair-wise ranking (Bradley-Terry) loss of reward models, in PyTorch.

The same loss as :mod:`rmcourse.np_loss`, differentiable by autograd, on any device, plus what
reward-model trainers add to it: a margin (Llama 2), reward centering (Eisenstein et al. 2023;
TRL's ``center_rewards_coefficient``), the K-wise loss (InstructGPT) and pair-wise accuracy; and
DPO's loss (Rafailov et al. 2023), which is this same loss applied to the policy's implicit rewards,
and IPO's (Azar et al. 2023), which regresses the same log-ratio margin onto a target.

Precision: every function computes in float32 or wider (:mod:`rmcourse.tensor_checks` says
how), and ``log sigma`` is always ``F.logsigmoid``, never ``log(sigmoid(.))``, so the loss is
finite and exact at ``|r_c - r_r|`` up to 1e4 and beyond.

References
----------
R. A. Bradley and M. E. Terry, Biometrika 39 (1952).
L. Ouyang et al., "Training language models to follow instructions with human feedback",
NeurIPS 2022.
H. Touvron et al., "Llama 2: Open foundation and fine-tuned chat models", arXiv:2307.09288 (2023).
J. Eisenstein et al., "Helping or herding? Reward model ensembles mitigate but do not eliminate
reward hacking", arXiv:2312.09244 (2023).
R. Rafailov et al., "Direct Preference Optimization: Your language model is secretly a reward
model", NeurIPS 2023, arXiv:2305.18290.
M. G. Azar et al., "A General Theoretical Paradigm to Understand Learning from Human
Preferences", AISTATS 2024, arXiv:2310.12036.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rmcourse.tensor_checks import as_float, as_logps, as_margin, as_pair, check_reduction
from rmcourse.validate import finite_number, ranking_shape

__all__ = ["log_sigmoid", "bt_loss", "ranking_loss", "accuracy", "dpo_rewards", "dpo_loss"]


def log_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logarithm of the logistic sigmoid, ``log sigma(x) = -log(1 + exp(-x))``, stably.

    ``F.logsigmoid`` evaluated in ``promote_types(x.dtype, float32)`` (float16/bfloat16 inputs
    give a float32 result; see :mod:`rmcourse.tensor_checks`).

    Parameters
    ----------
    x : torch.Tensor
        Floating-point tensor, any shape and device.

    Returns
    -------
    torch.Tensor
        ``log sigma(x)``, same shape and device as ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.

    References
    ----------
    Bradley & Terry (1952): ``P(i beats j) = sigma(s_i - s_j)``.

    Examples
    --------
    >>> import torch
    >>> log_sigmoid(torch.tensor([-1e4, 0.0, 1e4], dtype=torch.float16))
    tensor([-1.0000e+04, -6.9315e-01,  0.0000e+00])
    """
    return F.logsigmoid(as_float(x, "x"))


def bt_loss(
    r_chosen: torch.Tensor,
    r_rejected: torch.Tensor,
    margin: float | torch.Tensor | None = None,
    center_coef: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Bradley-Terry pair-wise ranking loss with optional margin and reward centering.

    Per pair ``i`` (``m_i = 0`` when ``margin`` is None, ``c = center_coef``)::

        l_i = -log sigma(r_c[i] - r_r[i] - m_i) + c * (r_c[i] + r_r[i]) ** 2

    ``reduction="mean"`` returns ``mean_i l_i``, which is exactly
    ``-mean log sigma(r_c - r_r - m) + c * mean((r_c + r_r) ** 2)``, TRL's loss with
    ``center_rewards_coefficient = c``. The centering penalty is thus counted once per pair in
    every reduction: ``"sum"`` returns ``sum_i l_i = n * mean`` and ``"none"`` returns the
    vector ``l`` (whose mean is the ``"mean"`` loss).

    Parameters
    ----------
    r_chosen, r_rejected : torch.Tensor
        Rewards of the preferred and the dispreferred responses; floating point, same shape,
        at least one pair.
    margin : float or torch.Tensor, optional
        Margin ``m`` (Llama 2): a number, or a tensor of one value per pair (shape of the rewards)
        or a 0-d tensor. ``None`` or ``0.0`` means no margin.
    center_coef : float, default 0.0
        Weight ``c >= 0`` of the centering penalty that pulls rewards towards 0
        (Eisenstein et al. 2023 suggest 0.01).
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-pair losses ``l_i`` are combined.

    Returns
    -------
    torch.Tensor
        0-d for "mean"/"sum", the rewards' shape for "none"; dtype
        ``promote_types(r_chosen.dtype, float32)``.

    Raises
    ------
    ValueError
        Mismatched shapes, no pairs, a margin of the wrong shape or not finite, a negative or
        non-finite ``center_coef``, an unknown ``reduction``.
    TypeError
        Non-tensor or non-floating-point rewards or margin, non-numeric ``center_coef``.

    References
    ----------
    Bradley & Terry (1952); margin: Touvron et al. (2023), Eq. (2); centering: Eisenstein et al.
    (2023) as implemented by TRL's ``RewardTrainer``.

    Examples
    --------
    >>> import torch
    >>> r_c = torch.tensor([2.0, 0.0], dtype=torch.float64)
    >>> r_r = torch.tensor([0.0, 0.0], dtype=torch.float64)
    >>> print(f"{bt_loss(r_c, r_r).item():.6f}")  # (ln(1 + e^-2) + ln 2) / 2
    0.410038
    >>> m = torch.tensor([2.0, 0.0], dtype=torch.float64)
    >>> print(f"{bt_loss(r_c, r_r, margin=m).item():.6f}")  # both pairs at ln 2
    0.693147
    >>> print(f"{bt_loss(r_c, r_r, center_coef=0.01).item():.6f}")  # + 0.01 * (4 + 0) / 2
    0.430038
    >>> bt_loss(r_c, r_r, reduction="none")
    tensor([0.1269, 0.6931], dtype=torch.float64)
    """
    r_c, r_r = as_pair(r_chosen, r_rejected)
    check_reduction(reduction)
    coef = finite_number(center_coef, "center_coef", lower=0.0)
    logits = r_c - r_r
    if margin is not None:
        logits = logits - as_margin(margin, r_c)
    losses = -F.logsigmoid(logits)
    if coef:
        losses = losses + coef * (r_c + r_r) ** 2
    return _reduce(losses, reduction)


def ranking_loss(rewards: torch.Tensor) -> torch.Tensor:
    """InstructGPT's K-wise ranking loss: the mean Bradley-Terry loss over all ranked pairs.

    ``rewards[b]`` holds prompt ``b``'s ``K`` responses ranked best first; each of its ``C(K, 2)``
    pairs ``i < j`` contributes ``-log sigma(r[b, i] - r[b, j])``::

        L = -(1/B) sum_b 1/C(K, 2) sum_{i<j} log sigma(r[b, i] - r[b, j])

    With ``K = 2`` it equals :func:`bt_loss` of the two columns.

    Parameters
    ----------
    rewards : torch.Tensor, shape (B, K)
        Floating point, ``B >= 1``, ``K >= 2``, each row best first.

    Returns
    -------
    torch.Tensor
        0-d, dtype ``promote_types(rewards.dtype, float32)``.

    Raises
    ------
    ValueError
        Not 2-D, ``K < 2`` or ``B = 0``.
    TypeError
        Not a floating-point tensor.

    References
    ----------
    Ouyang et al. (2022), InstructGPT, Eq. (1); Bradley & Terry (1952).

    Examples
    --------
    >>> import torch
    >>> print(f"{ranking_loss(torch.tensor([[2.0, 0.0]])).item():.6f}")  # ln(1 + e^-2)
    0.126928
    >>> print(f"{ranking_loss(torch.zeros(4, 3)).item():.6f}")  # all ties: ln 2
    0.693147
    """
    r = as_float(rewards, "rewards")  # (B, K)
    _, k = ranking_shape(tuple(r.shape))
    better, worse = torch.triu_indices(k, k, offset=1, device=r.device)  # (2, C(K, 2))
    return -F.logsigmoid(r[:, better] - r[:, worse]).mean()  # mean of (B, C(K, 2))


def accuracy(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> float:
    """Fraction of pairs the rewards rank correctly: ``mean(r_c > r_r)``; ties count as wrong.

    Parameters
    ----------
    r_chosen, r_rejected : torch.Tensor
        Floating point, same shape, at least one pair.

    Returns
    -------
    float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        Mismatched shapes or no pairs.
    TypeError
        Non-tensor or non-floating-point input.

    Examples
    --------
    >>> import torch
    >>> accuracy(torch.tensor([2.0, 1.0, 0.0, 5.0]), torch.tensor([1.0, 1.0, 3.0, 4.0]))
    0.5
    """
    r_c, r_r = as_pair(r_chosen, r_rejected)
    return (r_c > r_r).float().mean().item()


def dpo_rewards(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """DPO's implicit rewards ``beta * log pi_theta(y|x) / pi_ref(y|x)`` of both responses.

    ::

        r_chosen   = beta * (policy_chosen_logps   - ref_chosen_logps)
        r_rejected = beta * (policy_rejected_logps - ref_rejected_logps)

    These are the rewards :func:`dpo_loss` feeds to :func:`bt_loss`, and what DPO trainers log
    beside the loss: their means, the margin ``r_chosen - r_rejected`` and the reward accuracy
    :func:`accuracy` ``(r_chosen, r_rejected)``. Detach them before logging. The true reward they
    stand for is ``r = beta * log pi*/pi_ref + beta * log Z(x)``: the implicit reward leaves out
    one unknown constant per prompt, which the pair-wise loss never sees.

    Parameters
    ----------
    policy_chosen_logps, policy_rejected_logps : torch.Tensor
        ``log pi_theta(y|x)`` of the chosen and rejected responses (summed over their tokens).
    ref_chosen_logps, ref_rejected_logps : torch.Tensor
        The same under the frozen reference policy ``pi_ref``.
        All four: floating point, one shape, at least one pair.
    beta : float, default 0.1
        ``beta > 0``, the weight of ``KL(pi_theta || pi_ref)`` in the objective DPO optimises.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        ``r_chosen`` and ``r_rejected``, the inputs' shape, dtype
        ``promote_types(dtype, float32)``: 16-bit log-probs are cast to float32 before any
        difference is taken (see :mod:`rmcourse.tensor_checks`).

    Raises
    ------
    ValueError
        Mismatched shapes, no pairs, ``beta <= 0`` or not finite.
    TypeError
        Non-tensor or non-floating-point log-probs, non-numeric ``beta``.

    References
    ----------
    Rafailov et al. (2023), Eq. (5) and Section 5.1 ("your language model is secretly a reward
    model"); the rewards TRL's ``DPOTrainer`` logs (``rewards/chosen``, ``rewards/accuracies``).

    Examples
    --------
    >>> import torch
    >>> pol_c, pol_r = torch.tensor([-3.0, -5.0]), torch.tensor([-6.0, -4.0])
    >>> ref_c, ref_r = torch.tensor([-4.0, -5.0]), torch.tensor([-5.0, -5.0])
    >>> r_c, r_r = dpo_rewards(pol_c, pol_r, ref_c, ref_r, beta=0.5)
    >>> r_c, r_r
    (tensor([0.5000, 0.0000]), tensor([-0.5000,  0.5000]))
    >>> accuracy(r_c, r_r)
    0.5
    """
    pol_c, pol_r, ref_c, ref_r = as_logps(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps
    )  # 4 x (B,) in the compute dtype
    beta = finite_number(beta, "beta", lower=0.0, strict=True)
    return beta * (pol_c - ref_c), beta * (pol_r - ref_r)  # (B,), (B,)


def dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
    reduction: str = "mean",
) -> torch.Tensor:
    """Direct Preference Optimization: the Bradley-Terry loss of the policy's implicit rewards.

    Per pair ``i``, with the log-ratios ``rho = log pi_theta(y|x) - log pi_ref(y|x)``::

        l_i = -log sigma(beta * rho_chosen[i] - beta * rho_rejected[i])
            = bt_loss(beta * rho_chosen, beta * rho_rejected)[i]

    the DPO loss of Rafailov et al. (2023), Eq. (7), and the loss of TRL's ``DPOTrainer`` with
    ``loss_type="sigmoid"`` and ``label_smoothing=0``. It is computed as :func:`bt_loss` of
    :func:`dpo_rewards`, so it is as stable: finite and exact at log-ratio differences of 1e4 in
    every floating dtype.

    Parameters
    ----------
    policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps
        Sequence log-probabilities as in :func:`dpo_rewards`.
    beta : float, default 0.1
        ``beta > 0``; a larger ``beta`` keeps the trained policy closer to ``pi_ref``.
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-pair losses are combined, as in :func:`bt_loss`.

    Returns
    -------
    torch.Tensor
        0-d for "mean"/"sum", the inputs' shape for "none"; dtype
        ``promote_types(dtype, float32)``.

    Raises
    ------
    ValueError, TypeError
        As :func:`dpo_rewards`, and ValueError for an unknown ``reduction``.

    Examples
    --------
    >>> import torch
    >>> pol_c, pol_r = torch.tensor([-3.0, -5.0]), torch.tensor([-6.0, -4.0])
    >>> ref_c, ref_r = torch.tensor([-4.0, -5.0]), torch.tensor([-5.0, -5.0])
    >>> dpo_loss(pol_c, pol_r, ref_c, ref_r, beta=0.5, reduction="none")  # -log σ(1), -log σ(-0.5)
    tensor([0.3133, 0.9741])
    >>> same = dpo_loss(pol_c, pol_r, pol_c, pol_r)  # pi_theta = pi_ref: every pair at ln 2
    >>> print(f"{same.item():.6f}")
    0.693147
    """
    check_reduction(reduction)
    r_chosen, r_rejected = dpo_rewards(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta
    )
    return bt_loss(r_chosen, r_rejected, reduction=reduction)


def ipo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
    reduction: str = "mean",
) -> torch.Tensor:
    """Identity Preference Optimisation: regress the log-ratio margin onto 1/(2 beta).

    Per pair ``i``, with ``h = (log pi_theta - log pi_ref)(y_chosen) - (same)(y_rejected)``::

        l_i = (h_i - 1 / (2 * beta)) ** 2

    (Azar et al. 2023, Eq. 17, their tau our beta). Unlike :func:`dpo_loss`, whose loss keeps
    falling as ``h`` grows, a pair is pulled to a finite margin, so the regularisation holds even
    when every pair in the data set is won by one side (deterministic preferences). TRL's
    ``loss_type="ipo"`` is the same on *token-averaged* log-probs; here they are summed, as for
    DPO. Arguments, checks and dtypes as :func:`dpo_loss`.

    Examples
    --------
    >>> import torch
    >>> pol_c, pol_r = torch.tensor([-3.0, -5.0]), torch.tensor([-6.0, -4.0])
    >>> ref_c, ref_r = torch.tensor([-4.0, -5.0]), torch.tensor([-5.0, -5.0])
    >>> ipo_loss(pol_c, pol_r, ref_c, ref_r, beta=0.5, reduction="none")  # h = 2, -1; target 1
    tensor([1., 4.])
    """
    check_reduction(reduction)
    rho_c, rho_r = dpo_rewards(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, 1.0
    )
    beta = finite_number(beta, "beta", lower=0.0, strict=True)
    return _reduce((rho_c - rho_r - 1 / (2 * beta)) ** 2, reduction)


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    """Per-pair losses combined as ``reduction`` (already checked) says: mean, sum or none."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses
