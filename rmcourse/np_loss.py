"""The pair-wise ranking (Bradley-Terry) loss of reward models, in NumPy.

A reward model scores a prompt's preferred response ``r_c`` and its dispreferred response ``r_r``.
The Bradley-Terry model (Bradley & Terry 1952) says the preferred one wins with probability
``sigma(r_c - r_r)``; the loss is the negative log-likelihood of the observed preferences,

    L = -(1/n) sum_i log sigma(r_c[i] - r_r[i]).

Everything here is NumPy only (no torch import), numerically stable for any finite input
(``log sigma(x) = -logaddexp(0, -x)``), and returns plain Python floats for losses.

References
----------
R. A. Bradley and M. E. Terry, "Rank analysis of incomplete block designs: I. The method of
paired comparisons", Biometrika 39 (1952).
L. Ouyang et al., "Training language models to follow instructions with human feedback",
NeurIPS 2022 (InstructGPT; the K-wise loss).
H. Touvron et al., "Llama 2: Open foundation and fine-tuned chat models", arXiv:2307.09288
(2023) (the margin).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from rmcourse.validate import ranking_shape

__all__ = ["log_sigmoid", "sigmoid", "bt_loss", "bt_loss_grad", "ranking_loss"]


def log_sigmoid(x: ArrayLike) -> np.ndarray | np.floating:
    """Logarithm of the logistic sigmoid, ``log sigma(x) = -log(1 + exp(-x))``, computed stably.

    Evaluated as ``min(x, 0) - log1p(exp(-|x|))``, which never overflows and keeps full precision
    for large ``|x|``: ``log_sigmoid(-1e4) == -1e4`` and ``log_sigmoid(1e4) == 0``, without
    warnings (``exp(-|x|)`` may underflow to 0, which is the right value, so that is silenced).

    Parameters
    ----------
    x : array_like
        Real numbers (any shape; integers are promoted to float64, floats keep their dtype).

    Returns
    -------
    numpy.ndarray or numpy.floating
        ``log sigma(x)``, same shape as ``x``; always ``<= 0``.

    Raises
    ------
    TypeError
        If ``x`` is not real-valued numbers.

    References
    ----------
    Bradley & Terry (1952): ``P(i beats j) = sigma(s_i - s_j)``.

    Examples
    --------
    >>> from rmcourse.np_loss import log_sigmoid
    >>> print(f"{log_sigmoid(0.0):.6f}")
    -0.693147
    >>> log_sigmoid([-1e4, 1e4]).tolist()
    [-10000.0, 0.0]
    """
    x = np.asarray(x)
    _check_real(x, "x")
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    with np.errstate(under="ignore"):
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def sigmoid(x: ArrayLike) -> np.ndarray | np.floating:
    """The logistic sigmoid ``sigma(x) = 1 / (1 + exp(-x))``, as ``exp(log_sigmoid(x))``.

    The Bradley-Terry probability that the response scored ``r_c`` beats the one scored ``r_r``
    is ``sigma(r_c - r_r)`` (Bradley & Terry 1952). No overflow warnings for any ``x``.

    Examples
    --------
    >>> from rmcourse.np_loss import sigmoid
    >>> print(sigmoid([-1e4, 0.0, 1e4]))
    [0.  0.5 1. ]
    """
    return np.exp(log_sigmoid(x))


def bt_loss(
    r_chosen: ArrayLike,
    r_rejected: ArrayLike,
    margin: ArrayLike = 0.0,
    weights: ArrayLike | None = None,
) -> float:
    """Bradley-Terry pair-wise ranking loss: mean negative log-likelihood of the preferences.

    ``L = -(1/n) sum_i log sigma(r_c[i] - r_r[i] - m[i])``, or with weights the weighted mean
    ``L = sum_i w_i l_i / sum_i w_i`` of the pair losses
    ``l_i = -log sigma(r_c[i] - r_r[i] - m[i])``.

    Parameters
    ----------
    r_chosen, r_rejected : array_like
        Rewards of the preferred and the dispreferred response of each pair; same shape, finite,
        at least one pair. Computed in float64.
    margin : float or array_like, default 0.0
        Margin ``m`` the chosen reward must exceed the rejected one by (Llama 2's graded
        preferences): a scalar, or one value per pair.
    weights : array_like, optional
        Non-negative weight per pair, not all zero; ``None`` weights all pairs equally.

    Returns
    -------
    float
        The (weighted) mean loss, ``>= 0``; ``ln 2`` when all rewards are equal.

    Raises
    ------
    ValueError
        Mismatched shapes, no pairs, non-finite values, negative or all-zero weights.
    TypeError
        Non-numeric input.

    References
    ----------
    Bradley & Terry (1952); the margin: Touvron et al. (2023), Llama 2, Eq. (2).

    Examples
    --------
    >>> from rmcourse.np_loss import bt_loss
    >>> print(f"{bt_loss([1.0], [1.0]):.6f}")  # ln 2
    0.693147
    >>> print(f"{bt_loss([2.0, 0.0], [0.0, 0.0]):.6f}")  # (ln(1 + e^-2) + ln 2) / 2
    0.410038
    >>> print(f"{bt_loss([2.0], [0.0], margin=2.0):.6f}")
    0.693147
    >>> print(f"{bt_loss([2.0, 0.0], [0.0, 0.0], weights=[1.0, 0.0]):.6f}")
    0.126928
    """
    r_c, r_r, m, w = _validate(r_chosen, r_rejected, margin, weights)
    pair_losses = -log_sigmoid(r_c - r_r - m)
    if w is None:
        return float(np.mean(pair_losses))
    return float(np.sum(w * pair_losses) / np.sum(w))


def bt_loss_grad(
    r_chosen: ArrayLike,
    r_rejected: ArrayLike,
    margin: ArrayLike = 0.0,
    weights: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Analytic gradient of :func:`bt_loss` with respect to both reward arrays.

    With ``z_i = r_c[i] - r_r[i] - m[i]`` and ``d/dz (-log sigma(z)) = -sigma(-z)``:

        dL/dr_c[i] = -sigma(-z_i) * w_i / sum(w),    dL/dr_r[i] = -dL/dr_c[i],

    where ``w_i = 1`` without weights (so ``w_i / sum(w) = 1/n``). ``sigma(-z)`` is computed as
    ``exp(log_sigmoid(-z))``, stable for any ``z``.

    Parameters
    ----------
    r_chosen, r_rejected, margin, weights
        As in :func:`bt_loss`.

    Returns
    -------
    g_chosen, g_rejected : numpy.ndarray
        float64 arrays of the shape of ``r_chosen``; ``g_rejected == -g_chosen``.

    Raises
    ------
    ValueError, TypeError
        As :func:`bt_loss`.

    References
    ----------
    Bradley & Terry (1952); Touvron et al. (2023) for the margin.

    Examples
    --------
    >>> from rmcourse.np_loss import bt_loss_grad
    >>> g_c, g_r = bt_loss_grad([0.0, 1e4], [0.0, 0.0])
    >>> g_c.tolist(), g_r.tolist()
    ([-0.25, -0.0], [0.25, 0.0])
    """
    r_c, r_r, m, w = _validate(r_chosen, r_rejected, margin, weights)
    z = r_c - r_r - m
    scale = 1.0 / z.size if w is None else w / np.sum(w)
    with np.errstate(under="ignore"):
        g_chosen = -np.exp(log_sigmoid(-z)) * scale
    return g_chosen, -g_chosen


def ranking_loss(rewards: ArrayLike) -> float:
    """InstructGPT's K-wise ranking loss: the mean Bradley-Terry loss over all ranked pairs.

    Each prompt ``b`` has ``K`` responses ranked best first, ``rewards[b, 0]`` the best. Its
    ``C(K, 2)`` pairs ``i < j`` each contribute ``-log sigma(r[b, i] - r[b, j])``:

        L = -(1/B) sum_b 1/C(K, 2) sum_{i<j} log sigma(r[b, i] - r[b, j]).

    With ``K = 2`` this is :func:`bt_loss` of the two columns.

    Parameters
    ----------
    rewards : array_like, shape (B, K)
        Finite rewards, ``B >= 1`` prompts, ``K >= 2`` responses per prompt, each row best first.

    Returns
    -------
    float
        The mean pair loss.

    Raises
    ------
    ValueError
        Not 2-D, ``K < 2``, no prompts, non-finite values.
    TypeError
        Non-numeric input.

    References
    ----------
    Ouyang et al. (2022), InstructGPT, Eq. (1); Bradley & Terry (1952).

    Examples
    --------
    >>> from rmcourse.np_loss import ranking_loss
    >>> print(f"{ranking_loss([[1.0, 1.0, 1.0]]):.6f}")  # every pair tied: ln 2
    0.693147
    >>> print(f"{ranking_loss([[2.0, 0.0]]):.6f}")  # K = 2: ln(1 + e^-2)
    0.126928
    """
    r = _as_finite_floats(rewards, "rewards")
    _, k = ranking_shape(r.shape)
    better, worse = np.triu_indices(k, 1)
    return float(np.mean(-log_sigmoid(r[:, better] - r[:, worse])))


def _validate(
    r_chosen: ArrayLike,
    r_rejected: ArrayLike,
    margin: ArrayLike,
    weights: ArrayLike | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Check and convert the arguments of bt_loss / bt_loss_grad to float64 arrays."""
    r_c = _as_finite_floats(r_chosen, "r_chosen")
    r_r = _as_finite_floats(r_rejected, "r_rejected")
    if r_c.shape != r_r.shape:
        raise ValueError(
            f"r_chosen and r_rejected must have the same shape, got {r_c.shape} and {r_r.shape}"
        )
    if r_c.size == 0:
        raise ValueError("r_chosen and r_rejected are empty: need at least one pair")
    m = _as_finite_floats(margin, "margin")
    if m.ndim != 0 and m.shape != r_c.shape:
        raise ValueError(
            f"margin must be a scalar or have the shape of the rewards {r_c.shape}, got {m.shape}"
        )
    if weights is None:
        return r_c, r_r, m, None
    w = _as_finite_floats(weights, "weights")
    if w.shape != r_c.shape:
        raise ValueError(f"weights must have the shape of the rewards {r_c.shape}, got {w.shape}")
    if np.any(w < 0):
        raise ValueError(f"weights must be non-negative, got {w[w < 0][0]} among them")
    if not np.any(w > 0):
        raise ValueError("weights are all zero: at least one pair needs a positive weight")
    return r_c, r_r, m, w


def _check_real(x: np.ndarray, name: str) -> None:
    """Raise TypeError unless ``x`` holds integers or floats (booleans and complex are refused)."""
    if x.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")


def _as_finite_floats(x: ArrayLike, name: str) -> np.ndarray:
    """``x`` as a float64 array; TypeError if not numeric, ValueError if not all finite."""
    arr = np.asarray(x)
    _check_real(arr, name)
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)][0]
        raise ValueError(f"{name} must be finite, got {bad} among its values")
    return arr
