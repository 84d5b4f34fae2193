"""Tabular Bradley-Terry fit: one score per item, fitted by Newton's method, in NumPy.

A "tabular reward model" gives every response (item) its own free score ``s_k``. Fitting it to
comparisons "``w`` beat ``l``" minimises the same pair-wise ranking loss a neural reward model is
trained with (:func:`rmcourse.np_loss.bt_loss`), plus an optional L2 penalty:

    f(s) = -(1/n) sum_i log sigma(s[w_i] - s[l_i]) + l2 * sum_k s_k ** 2.

``f`` is convex; scores are only defined up to a common shift when ``l2 = 0`` (the result is
centred at mean 0), and a finite minimiser exists for ``l2 = 0`` exactly when the directed graph
"``w`` beat ``l``" is strongly connected (Zermelo 1929; Ford 1957; Hunter 2004).

References
----------
R. A. Bradley and M. E. Terry, Biometrika 39 (1952).
L. R. Ford Jr., "Solution of a ranking problem from binary comparisons", The American
Mathematical Monthly 64 (1957).
D. R. Hunter, "MM algorithms for generalized Bradley-Terry models", The Annals of Statistics 32
(2004).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from rmcourse.np_loss import log_sigmoid
from rmcourse.validate import finite_number, positive_int

__all__ = ["fit_bt_scores"]

_ARMIJO = 1e-4  # sufficient-decrease constant of the backtracking line search
_MAX_HALVINGS = 60  # 2**-60 ~ 1e-18: below this a step changes nothing in float64
# A predicted decrease below this share of f cannot be measured in float64: take Newton's step.
_RESOLUTION = 1e-13


def fit_bt_scores(
    winners: ArrayLike,
    losers: ArrayLike,
    n_items: int,
    l2: float = 0.0,
    tol: float = 1e-9,
    max_iter: int = 100,
) -> np.ndarray:
    """Maximum-likelihood (or L2-penalised) Bradley-Terry scores from pair-wise comparisons.

    Minimises ``f(s) = bt_loss(s[winners], s[losers]) + l2 * sum(s ** 2)`` over one score per
    item by Newton's method with a backtracking (Armijo) line search, using the analytic
    gradient and Hessian (``p_i = sigma(s[w_i] - s[l_i])``, ``e_k`` the k-th unit vector)::

        grad f = -(1/n) sum_i (1 - p_i) (e[w_i] - e[l_i]) + 2 l2 s
        hess f =  (1/n) sum_i p_i (1 - p_i) (e[w_i] - e[l_i]) (e[w_i] - e[l_i])^T + 2 l2 I

    For ``l2 = 0`` the Hessian is singular along the all-ones direction (a common shift changes
    nothing); the Newton system is solved in the subspace of mean-zero scores. Iteration stops
    once the Newton step would move no score by more than ``tol * max(1, max |s|)``, and that
    last step is taken; as Newton converges quadratically, the scores are then correct to far
    better than ``tol`` (and to 1e-6 relative precision at the very least). Each step solves a
    dense ``n_items x n_items`` system: meant for up to a few thousand items.

    Parameters
    ----------
    winners, losers : array_like of int, shape (n,)
        Comparison ``i``: item ``winners[i]`` beat item ``losers[i]``. Ids in
        ``0, ..., n_items - 1``; an item is never compared with itself; ``n >= 1``.
    n_items : int
        Number of items, ``>= 2``; items may appear in no comparison only if ``l2 > 0``.
    l2 : float, default 0.0
        L2 penalty ``>= 0``. With ``l2 > 0`` the optimum always exists (scores shrink to 0 for
        items with little data); with ``l2 = 0`` it is the maximum-likelihood estimate.
    tol : float, default 1e-9
        Relative size of the last Newton step at which to stop.
    max_iter : int, default 100
        Most Newton steps.

    Returns
    -------
    numpy.ndarray, shape (n_items,)
        Scores ``s`` with ``mean(s) == 0``; ``sigma(s_a - s_b)`` is the fitted probability that
        ``a`` beats ``b``.

    Raises
    ------
    ValueError
        Bad ids (non-integer, out of range, winner == loser), mismatched or empty arrays,
        ``n_items < 2``, bad ``l2`` / ``tol`` / ``max_iter``; and for ``l2 = 0`` when no finite
        maximum-likelihood estimate exists, saying which items make the graph of wins fail to be
        strongly connected.
    TypeError
        Non-numeric ids or options.
    RuntimeError
        If Newton's method has not converged after ``max_iter`` steps.

    References
    ----------
    Bradley & Terry (1952); existence of the MLE: Ford (1957), Hunter (2004).

    Examples
    --------
    Item 0 beat item 1 twice and lost once, so ``sigma(s_0 - s_1) = 2/3``:

    >>> import numpy as np
    >>> from rmcourse.bt_fit import fit_bt_scores
    >>> s = fit_bt_scores([0, 0, 1], [1, 1, 0], n_items=2)
    >>> print(f"{s[0] - s[1]:.6f} {np.log(2):.6f}")
    0.693147 0.693147

    One win and no loss has no MLE, but a penalised optimum ``s = (a, -a)`` with
    ``a = sigma(-2 a)``:

    >>> s = fit_bt_scores([0], [1], n_items=2, l2=0.5)
    >>> print(f"{s[0]:.6f} {s[1]:.6f} {1 / (1 + np.exp(2 * s[0])):.6f}")
    0.337416 -0.337416 0.337416
    """
    w, l = _check_comparisons(winners, losers, n_items)
    l2 = finite_number(l2, "l2", lower=0.0)
    tol = finite_number(tol, "tol", lower=0.0, strict=True)
    positive_int(max_iter, "max_iter")
    if l2 == 0.0:
        _check_mle_exists(w, l, n_items)

    scores = np.zeros(n_items)
    for _ in range(max_iter):
        value, grad, hess = _objective(scores, w, l, l2)
        step = _newton_step(grad, hess, l2)
        if np.max(np.abs(step)) <= tol * max(1.0, np.max(np.abs(scores))):
            scores = scores + step
            return scores - np.mean(scores)
        scores = scores + _line_search(scores, step, value, grad, w, l, l2) * step
    raise RuntimeError(
        f"Newton's method did not converge in max_iter={max_iter} steps (the last Newton step "
        f"would move a score by {np.max(np.abs(step)):.3g}); raise max_iter or l2"
    )


def _objective(
    scores: np.ndarray, w: np.ndarray, l: np.ndarray, l2: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """Value, gradient and Hessian of ``f`` at ``scores``."""
    n_items, n = scores.size, w.size
    z = scores[w] - scores[l]  # (n,)
    value = -np.mean(log_sigmoid(z)) + l2 * np.sum(scores**2)
    with np.errstate(under="ignore"):
        q = np.exp(log_sigmoid(-z))  # 1 - p, (n,)
        pq = np.exp(log_sigmoid(z) + log_sigmoid(-z))  # p (1 - p), (n,)
    grad = (np.bincount(l, q, n_items) - np.bincount(w, q, n_items)) / n + 2 * l2 * scores
    diag = np.bincount(w, pq, n_items) + np.bincount(l, pq, n_items)
    off = np.bincount(w * n_items + l, pq, n_items * n_items).reshape(n_items, n_items)
    hess = (np.diag(diag) - off - off.T) / n + 2 * l2 * np.eye(n_items)
    return value, grad, hess


def _newton_step(grad: np.ndarray, hess: np.ndarray, l2: float) -> np.ndarray:
    """Solve ``hess @ step = -grad``; for ``l2 = 0`` within mean-zero vectors.

    With ``l2 = 0`` the gradient sums to 0 and ``hess`` (a graph Laplacian) has the all-ones
    vector as null space; adding ``1 1^T / n_items`` makes it invertible without changing the
    solution on mean-zero vectors.
    """
    if l2 == 0.0:
        hess = hess + 1.0 / grad.size
    return np.linalg.solve(hess, -grad)


def _line_search(
    scores: np.ndarray,
    step: np.ndarray,
    value: float,
    grad: np.ndarray,
    w: np.ndarray,
    l: np.ndarray,
    l2: float,
) -> float:
    """Largest ``t`` in 1, 1/2, 1/4, ... with ``f(s + t step) <= f(s) + c t grad.step``; the
    full step once the decrease it predicts is too small for float64 to measure in ``f``."""
    slope = float(grad @ step)
    if -slope <= _RESOLUTION * max(abs(value), 1.0):  # near the optimum, where Newton converges
        return 1.0
    t = 1.0
    for _ in range(_MAX_HALVINGS):
        trial = scores + t * step
        trial_value = -np.mean(log_sigmoid(trial[w] - trial[l])) + l2 * np.sum(trial**2)
        if trial_value <= value + _ARMIJO * t * slope:
            return t
        t /= 2
    return t


def _check_comparisons(
    winners: ArrayLike, losers: ArrayLike, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Validate ids and ``n_items``; return the ids as int64 arrays."""
    if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)):
        raise TypeError(f"n_items must be an integer, got {type(n_items).__name__}")
    if n_items < 2:
        raise ValueError(f"n_items must be >= 2 to compare anything, got {n_items}")
    w = _as_ids(winners, "winners", n_items)
    l = _as_ids(losers, "losers", n_items)
    if w.shape != l.shape:
        raise ValueError(f"winners and losers must have the same length, got {w.size} and {l.size}")
    if w.size == 0:
        raise ValueError("winners and losers are empty: need at least one comparison")
    same = np.flatnonzero(w == l)
    if same.size:
        i = same[0]
        raise ValueError(
            f"comparison {i} has winner == loser == {w[i]}: an item cannot be compared with itself"
        )
    return w, l


def _as_ids(ids: ArrayLike, name: str, n_items: int) -> np.ndarray:
    """``ids`` as a 1-D int64 array of item ids in ``[0, n_items)``."""
    arr = np.asarray(ids)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold integer item ids, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and arr.size:  # np.asarray([]) is float64: let "empty" say so
        raise ValueError(
            f"{name} must hold integer item ids, got non-integer dtype {arr.dtype} "
            f"with value {arr.flat[0]}"
        )
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    bad = (arr < 0) | (arr >= n_items)
    if np.any(bad):
        raise ValueError(
            f"{name} holds item id {arr[bad][0]} outside 0..{n_items - 1} (n_items={n_items})"
        )
    return arr.astype(np.int64)


def _check_mle_exists(w: np.ndarray, l: np.ndarray, n_items: int) -> None:
    """Raise ValueError unless the graph "winner beat loser" is strongly connected (Ford 1957).

    The likelihood has a finite maximiser iff, for every split of the items into two non-empty
    groups, some item of each group beat some item of the other; otherwise the loss keeps
    falling as one group's scores run off to +infinity.
    """
    wins = np.bincount(w, minlength=n_items)
    losses = np.bincount(l, minlength=n_items)
    for items, why in (
        (wins + losses == 0, "appear in no comparison, so their scores are undetermined"),
        (losses == 0, "never lose, so their scores would run off to +infinity"),
        (wins == 0, "never win, so their scores would run off to -infinity"),
    ):
        if items.any():
            raise ValueError(
                f"no maximum-likelihood scores exist: item(s) {_fmt(np.flatnonzero(items))} "
                f"{why}; use l2 > 0"
            )
    compared = _reachable(np.concatenate([w, l]), np.concatenate([l, w]), n_items)
    if not compared.all():
        raise ValueError(
            "no maximum-likelihood scores exist: the comparison graph is not connected; items "
            f"{_fmt(np.flatnonzero(compared))} are never compared with items "
            f"{_fmt(np.flatnonzero(~compared))}, so the gap between the groups is undetermined; "
            "use l2 > 0"
        )
    # Items that item 0 beat, directly or through a chain of wins, never beat anyone outside
    # that group; likewise nobody outside the items that beat item 0 ever beats one of them.
    beaten_by_0 = _reachable(w, l, n_items)
    beat_0 = _reachable(l, w, n_items)
    if beaten_by_0.all() and beat_0.all():
        return
    top = ~beaten_by_0 if not beaten_by_0.all() else beat_0
    raise ValueError(
        "no maximum-likelihood scores exist: the graph of wins is not strongly connected "
        f"(Ford 1957); items {_fmt(np.flatnonzero(top))} are never beaten by items "
        f"{_fmt(np.flatnonzero(~top))}, so the gap between the groups would grow without "
        "bound; use l2 > 0"
    )


def _reachable(src: np.ndarray, dst: np.ndarray, n_items: int) -> np.ndarray:
    """Boolean mask of the items reachable from item 0 along the edges ``src -> dst``."""
    seen = np.zeros(n_items, dtype=bool)
    seen[0] = True
    frontier = seen.copy()
    while frontier.any():
        new = np.zeros(n_items, dtype=bool)
        new[dst[frontier[src]]] = True
        frontier = new & ~seen
        seen |= new
    return seen


def _fmt(items: np.ndarray, limit: int = 10) -> str:
    """Item ids for a message, at most ``limit`` of them."""
    shown = ", ".join(str(i) for i in items[:limit])
    return f"[{shown}{', ...' if items.size > limit else ''}]"
