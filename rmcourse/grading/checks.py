"""The helpers test cells call as ``_grader``: ``close``, ``call``, ``np``, ``torch``,
``reference``.

A solution notebook's setup cell does ``from rmcourse.grading.checks import checks as _grader``
and its test cells use only ``_grader.close``, ``_grader.call``, ``_grader.np``, ``_grader.torch``
and ``_grader.reference`` (the trusted rmcourse modules: ``np_loss``, ``torch_loss``, ``bt_fit``,
``data``, ``model``, ``scoring``, ``train``). In hidden tests every call of the student's code
sits inside a described check -- a ``close(..., what=...)``, an ``assert`` with a message, or,
where the result is used later, ``call(f, ..., what=...)`` -- so that feedback on an exception
can say what was being checked (:mod:`rmcourse.grading.feedback`).

When a submission is graded, the grader re-binds ``_grader`` to a fresh object made by
:func:`make_checks` (captured before any student code ran) right before every test cell, so a
student who overwrote ``_grader`` or numpy's functions gains nothing.

:func:`make_checks` captures every numpy function and the ``AssertionError`` class that ``close``
uses at the time it is called; a later monkey-patch of ``numpy`` does not reach them.

The ``reference`` modules and ``torch`` are imported on first attribute access
(:mod:`rmcourse.grading.references`), so a lesson that never touches torch never imports it.
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from rmcourse.grading.references import REFERENCE_MODULES, import_torch, reference_module


class _Reference:
    """Lazy attribute access to the trusted rmcourse modules, e.g. ``reference.np_loss``."""

    def __init__(self, reference_module: Callable[[str], types.ModuleType]) -> None:
        self._module_named = reference_module

    def __getattr__(self, name: str) -> types.ModuleType:
        if name.startswith("_") or name not in REFERENCE_MODULES:
            raise AttributeError(
                f"no reference module {name!r}; available: {', '.join(REFERENCE_MODULES)}"
            )
        return self._module_named(name)

    def __dir__(self) -> list[str]:
        return list(REFERENCE_MODULES)


class Checks:
    """The namespace bound to ``_grader`` in notebooks: ``close``, ``call``, ``np``, ``torch``,
    ``reference``.

    Make one with :func:`make_checks`; the module-level :data:`checks` is one made at import.
    """

    def __init__(
        self,
        close: Callable[..., None],
        numpy_module: types.ModuleType,
        reference_module: Callable[[str], types.ModuleType],
        import_torch: Callable[[], types.ModuleType],
    ) -> None:
        self.close = close
        self.np = numpy_module
        self.reference = _Reference(reference_module)
        self._import_torch = import_torch

    @staticmethod
    def call(function: Callable[..., Any], /, *args: Any, what: str, **kwargs: Any) -> Any:
        """Return ``function(*args, **kwargs)``, passing its exceptions on unchanged.

        ``what`` is not used at run time: feedback reads it from the hidden code's source and
        names it when the call's line raises, so write it as a plain string (values formatted
        into an f-string would show as ``…``).

        Examples
        --------
        >>> checks.call(divmod, 7, 2, what="divmod of 7 by 2")
        (3, 1)
        """
        return function(*args, **kwargs)

    @property
    def torch(self) -> types.ModuleType:
        """The torch module, imported on first use (``ModuleNotFoundError`` when not installed)."""
        return self._import_torch()

    def __repr__(self) -> str:
        return "<rmcourse grading checks: close, call, np, torch, reference>"


def _as_array(value: Any, what: str, assertion_error: type[AssertionError]) -> np.ndarray:
    """``value`` as a float64 NumPy array; torch tensors are detached and moved to the CPU."""
    if value is None:
        raise assertion_error(f"{what}: got None (does the function return its result?)")
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise assertion_error(
            f"{what}: expected numbers, got {type(value).__name__} ({exc})"
        ) from None


def make_checks() -> Checks:
    """A fresh :class:`Checks` whose ``close`` uses the numpy functions as they are right now.

    Returns
    -------
    Checks
        ``close`` (see below), ``np`` (numpy), ``torch`` (lazy), ``reference`` (lazy rmcourse
        modules).

    Notes
    -----
    ``close(actual, expected, rtol=1e-6, atol=1e-9, what="value")`` passes silently when
    ``actual`` and ``expected`` (numbers, sequences, arrays or tensors) have the same shape, the
    same NaN positions and ``|actual - expected| <= atol + rtol * |expected|`` everywhere; else it
    raises ``AssertionError`` saying what differed (shape, NaNs, or the worst element). A negative
    or non-finite ``rtol``/``atol`` is a ``ValueError``.

    Examples
    --------
    >>> c = make_checks()
    >>> c.close([1.0, 2.0], [1.0, 2.0 + 1e-9], what="loss")
    >>> c.close([1.0, 2.5], [1.0, 2.0], what="loss")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: loss: 1 of 2 elements differ; worst at index (1,): got 2.5, expected 2 ...
    >>> c.close(1.0, [1.0, 1.0], what="gradient")
    Traceback (most recent call last):
    ...
    AssertionError: gradient: shape () differs from the expected shape (2,)
    >>> dir(c.reference)
    ['bt_fit', 'data', 'model', 'np_loss', 'scoring', 'torch_loss', 'train']
    """
    # Captured now: a student's later ``np.allclose = ...`` or ``builtins.AssertionError = ...``
    # does not reach this closure.
    assertion_error = builtins.AssertionError
    value_error = builtins.ValueError
    isfinite, isnan, abs_, argmax = np.isfinite, np.isnan, np.abs, np.argmax
    array_equal, unravel_index, any_, sum_ = np.array_equal, np.unravel_index, np.any, np.sum
    where = np.where
    as_array = _as_array

    def close(
        actual: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-9, what: str = "value"
    ) -> None:
        for name, tol in (("rtol", rtol), ("atol", atol)):
            if not (isinstance(tol, (int, float)) and tol >= 0 and bool(isfinite(tol))):
                raise value_error(f"{name} must be a finite number >= 0, got {tol!r}")
        got = as_array(actual, what, assertion_error)
        want = as_array(expected, f"{what} (expected)", assertion_error)
        if got.shape != want.shape:
            raise assertion_error(
                f"{what}: shape {got.shape} differs from the expected shape {want.shape}"
            )
        if not array_equal(isnan(got), isnan(want)):
            raise assertion_error(f"{what}: NaN where a number was expected (or the reverse)")
        nan = isnan(want)
        got_f, want_f = where(nan, 0.0, got), where(nan, 0.0, want)
        with np.errstate(invalid="ignore"):
            excess = abs_(got_f - want_f) - (atol + rtol * abs_(want_f))
        excess = where((got_f == want_f) & ~isfinite(want_f), 0.0, excess)  # equal infinities
        excess = where(isnan(excess), 1.0, excess)  # inf vs. -inf or vs. a finite number
        bad = excess > 0
        if any_(bad):
            worst = unravel_index(int(argmax(excess)), got.shape) if got.ndim else ()
            g, w = got[worst], want[worst]
            raise assertion_error(
                f"{what}: {int(sum_(bad))} of {got.size} elements differ; worst at index "
                f"{tuple(int(i) for i in worst)}: got {g:.6g}, expected {w:.6g} "
                f"(abs diff {abs(g - w):.3g}, rtol {rtol:g}, atol {atol:g})"
            )

    return Checks(close, np, reference_module, import_torch)


checks = make_checks()
