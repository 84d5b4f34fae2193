"""The three kinds of "your turn" task and how each judges a student's answer.

A lesson's ``your-turn`` cell holds ``my_answer = ...`` and ``tasks.check("NN-name", my_answer)``.
Left as ``...`` (or ``None``) the answer is *not answered yet*, which is not an error, so the
committed lesson runs clean. A right answer is confirmed; a wrong one gets a hint that points at
the mistake without giving the answer (the lesson has the answer behind a ``<details>`` reveal).
An answer of the wrong form (a quoted number, an array where one number is asked, a number where
an option letter is asked, ...) gets one line saying what is expected: never a traceback.

:class:`NumberTask` (predict or compute a number), :class:`ChoiceTask` (pick an explanation) and
:class:`CodeTask` (write a function; it is run on probe inputs). The tasks themselves are data,
``data/NN.json`` beside this module, read by :mod:`rmcourse.tasks.content`.

Examples
--------
>>> table = {"t": NumberTask("t", answer=2.0, hint="Add 1 and 1.", mistakes=[(11.0, "Binary?")])}
>>> print(judge(table, "t", ...))
t: not answered yet. Replace ... with your answer and run the cell again.
>>> print(judge(table, "t", 11))
t: not quite. Binary?
>>> judge(table, "t", 2.001).status
'right'
>>> print(judge(table, "t", "2"))
t: expects a number, got the string '2': write it without quotes, my_answer = 2
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TaskResult:
    """The verdict on one answer: ``status`` is ``"unanswered"``, ``"right"``, ``"wrong"`` or
    ``"invalid"`` (the answer is not of the form the task asks for; the message says which)."""

    task_id: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == "right"

    def __str__(self) -> str:
        return f"{self.task_id}: {self.message}"

    __repr__ = __str__


class _Invalid(Exception):
    """An answer of the wrong form; its message says what the task expects."""


@dataclass(frozen=True)
class NumberTask:
    """A number to predict or compute; ``mistakes`` maps a typical wrong value to its hint.

    An answer counts as right within ``tolerance``. A value written with fewer decimals than the
    tolerance needs, that rounds the right answer, is told so (e.g. ``1.3`` for 1.3133); one
    that is the rounding of exactly one listed mistake (not half a unit from it) gets that
    mistake's hint (``0.693`` for ln 2, where the tolerance is 1e-6), one that could be the
    rounding of several is asked for more decimals.
    """

    id: str
    answer: float
    hint: str
    mistakes: Sequence[tuple[float, str]] = ()
    tolerance: float = 5e-3

    def judge(self, answer: Any) -> tuple[bool | None, str]:
        value, decimals = _one_number(answer)
        if abs(value - self.answer) <= self.tolerance:
            return True, "right."
        for wrong, hint in self.mistakes:
            if abs(value - wrong) <= self.tolerance:
                return False, f"not quite. {hint}"
        needed = self.decimals_needed
        if 1 <= decimals < needed and _rounds_to(self.answer, value, decimals):
            if any(_rounds_to(wrong, value, decimals) for wrong, _ in self.mistakes):
                return False, (
                    f"{value:.{decimals}f} has too few decimals to tell the right "
                    f"answer from a wrong one: give {needed} decimals."
                )
            return False, (
                f"right to the {decimals} decimal{'s' * (decimals > 1)} you gave; "
                f"give {needed} decimals (answers within ±{self.tolerance:g} count)."
            )
        if 1 <= decimals < needed:
            # the mistakes this value is a rounding of (a value half a unit away is not)
            near = [hint for wrong, hint in self.mistakes if _nearest(wrong, value, decimals)]
            if len(near) == 1:
                return False, f"not quite. {near[0]}"
            if near:
                return False, (
                    f"{value:.{decimals}f} has too few decimals to tell what was computed: "
                    f"give {needed} decimals."
                )
        return False, f"not quite. {self.hint} (Answers within ±{self.tolerance:g} count.)"

    @property
    def decimals_needed(self) -> int:
        """The fewest decimals whose rounding error (half a unit) stays within the tolerance."""
        return next(d for d in range(16) if 0.5 * 10.0**-d <= self.tolerance + 1e-15)


@dataclass(frozen=True)
class ChoiceTask:
    """Pick one option; ``hints`` holds the hint for each wrong option key."""

    id: str
    answer: str
    hints: Mapping[str, str]

    def judge(self, answer: Any) -> tuple[bool | None, str]:
        keys = ", ".join(f'"{k}"' for k in sorted([*self.hints, self.answer]))
        if not isinstance(answer, str):
            raise _Invalid(
                f"expects the letter of one option ({keys}), in quotes; got {_describe(answer)}"
            )
        key = answer.strip().strip("()").strip().lower()
        if key == self.answer:
            return True, "right."
        if key not in self.hints:
            raise _Invalid(f"has no option {answer!r}: give one of {keys}")
        return False, f"not quite. {self.hints[key]}"


@dataclass(frozen=True)
class CodeTask:
    """Write a function, run on probe inputs and compared with ``reference``.

    ``probes`` holds argument tuples. On the first probe where the student's function disagrees,
    the message says what it returned and what was right; a hint follows only when the answer
    shows the mistake the hint names: ``mistakes`` are ``(wrong function, hint)`` pairs, and
    ``nonfinite_hint`` is added when the function returns inf or nan where the right value is
    finite. Results are compared at ``rtol`` in float64 and at float32's precision otherwise
    (a float32 tensor, a Python float), since a cast to float32 is a right answer too.
    """

    id: str
    reference: Callable[..., Any]
    probes: Sequence[tuple[Any, ...]] = field(default_factory=tuple)
    mistakes: Sequence[tuple[Callable[..., Any], str]] = ()
    nonfinite_hint: str = ""
    rtol: float = 1e-9

    def judge(self, answer: Any) -> tuple[bool | None, str]:
        if not callable(answer):
            raise _Invalid(
                f"expects a function; got {_describe(answer)}. Pass the function "
                "itself (its name, without calling it)."
            )
        if _is_stub(answer):
            return None, UNANSWERED
        for args in self.probes:
            try:
                with np.errstate(all="ignore"):
                    result = answer(*args)
            except Exception as err:  # noqa: BLE001 - a student's function may fail any way
                text = f"not quite: on {_show_args(args)} it raised {type(err).__name__}: {err}"
                if "truth value of an array" in str(err) or "Boolean value of Tensor" in str(err):
                    text += f". {_ELEMENTWISE}"
                elif "NoneType" in str(err):
                    text += ". Some arguments can be None: handle that case."
                return False, text
            if result is None:
                return False, (
                    "your function returned None: it needs a `return` statement "
                    "that gives back the result."
                )
            if result is Ellipsis:
                return None, UNANSWERED
            got, rtol = _as_float_array(result, self.rtol)
            want = np.asarray(as_numpy(self.reference(*args)), dtype=float)
            if got is None:
                return False, (
                    f"your function returned {_describe(result)}; it should return "
                    f"{_describe_shape(want.shape)}."
                )
            if got.size == want.size == 1:
                got = got.reshape(want.shape)
            if got.shape != want.shape:
                return False, (
                    f"not quite: on {_show_args(args)} your function returned "
                    f"{_describe_shape(got.shape)}; it should return "
                    f"{_describe_shape(want.shape)}."
                )
            if _close(got, want, rtol):
                continue
            text = (
                f"not quite: on {_show_args(args)} your function returned {_show(got)}; "
                f"the right value is {_show(want)}."
            )
            if np.all(np.isfinite(want)) and not np.all(np.isfinite(got)) and self.nonfinite_hint:
                return False, f"{text} {self.nonfinite_hint}"
            for wrong, hint in self.mistakes:
                with np.errstate(all="ignore"):
                    mistaken = np.asarray(as_numpy(wrong(*args)), dtype=float)
                if mistaken.shape == got.shape and _close(got, mistaken, rtol):
                    return False, f"{text} {hint}"
            dtype = str(getattr(result, "dtype", ""))
            if "float16" in dtype:  # float16 or bfloat16: 11 or 8 significant bits
                return False, (
                    f"{text} Your function returns {dtype}, which keeps only 2-3 "
                    "significant digits: return float32 or float64."
                )
            return False, text
        return True, "right."


def as_numpy(value: Any) -> Any:
    """A torch tensor as a float64 NumPy array (without importing torch); anything else as is."""
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        return value.detach().cpu().double().numpy()
    return value


_ELEMENTWISE = (
    "The input is an array: use element-wise operations (np.where, np.minimum, "
    "torch.where), not if/else on the whole array."
)
UNANSWERED = "not answered yet. Replace ... with your answer and run the cell again."
_FLOAT32_RTOL = 1e-5  # float32 keeps ~7 significant digits; a mean of a few values loses ~1


def _stub() -> None: ...


def _is_stub(function: Callable[..., Any]) -> bool:
    """True for a function whose body is only ``...`` or ``pass`` (the untouched task cell)."""
    code = getattr(function, "__code__", None)
    return code is not None and code.co_code == _stub.__code__.co_code


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {value!r}"
    if callable(value):
        return f"the function {getattr(value, '__name__', type(value).__name__)}"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, int | float | np.number):
        return f"the number {value}"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)}"
    return f"a {type(value).__name__}"


def _describe_shape(shape: tuple[int, ...]) -> str:
    if len(shape) == 0:
        return "one number (a scalar)"
    return f"an array of shape {shape}"


def _one_number(answer: Any) -> tuple[float, int]:
    """The number in ``answer`` and the decimals it is written with (16 when not short)."""
    if isinstance(answer, str):
        try:
            float(answer.strip())
        except ValueError:
            letter = " (an option letter?)" if len(answer.strip("() ")) == 1 else ""
            raise _Invalid(
                f"expects a number, got {_describe(answer)}{letter}: this task asks "
                "for a number, e.g. my_answer = 0.5"
            ) from None
        raise _Invalid(
            f"expects a number, got {_describe(answer)}: write it without quotes, "
            f"my_answer = {answer.strip()}"
        )
    if isinstance(answer, bool) or callable(answer):
        raise _Invalid(f"expects a number, got {_describe(answer)}")
    array = as_numpy(answer)
    if isinstance(array, list | tuple):
        try:
            array = np.asarray(array, dtype=float)
        except (TypeError, ValueError):
            raise _Invalid(f"expects a number, got {_describe(answer)}") from None
    if not isinstance(array, int | float | np.number | np.ndarray):
        raise _Invalid(f"expects a number, got {_describe(answer)}")
    array = np.asarray(array)
    if array.dtype.kind not in "iuf":
        raise _Invalid(f"expects a number, got {_describe(answer)}")
    if array.size != 1:
        raise _Invalid(
            f"expects one number, got {array.size} numbers (shape {array.shape}): "
            "give the single number the task asks for"
        )
    scalar = array.reshape(()).item() if hasattr(answer, "detach") else array.reshape(())[()]
    value = float(scalar)
    if not math.isfinite(value):
        raise _Invalid(f"expects a finite number, got {value}")
    return value, _decimals(scalar)


def _decimals(scalar: Any) -> int:
    """How many decimals the shortest repr of ``scalar`` has (in its own float type)."""
    if isinstance(scalar, int | np.integer):
        return 0
    text = np.format_float_positional(scalar, trim="-")
    return len(text.split(".")[1]) if "." in text else 0


def _rounds_to(value: float, written: float, decimals: int) -> bool:
    return abs(value - written) <= 0.5 * 10.0**-decimals + 1e-12


def _nearest(value: float, written: float, decimals: int) -> bool:
    """``written`` is ``value`` rounded to ``decimals``, and the only such rounding (a value
    exactly half a unit away, like 0.75 from 0.7 and 0.8, rounds to neither)."""
    return abs(value - written) < 0.5 * 10.0**-decimals - 1e-12


def _as_float_array(result: Any, rtol: float) -> tuple[np.ndarray | None, float]:
    """The result as a float64 array and the tolerance its precision allows (None if no number)."""
    dtype = getattr(result, "dtype", None)
    array = as_numpy(result)
    try:
        array = np.asarray(array)
    except Exception:  # noqa: BLE001 - e.g. a list of tensors of different shapes
        return None, rtol
    if array.dtype.kind not in "iuf" or isinstance(result, bool):
        return None, rtol
    exact = str(dtype) in ("float64", "torch.float64") and array.dtype == np.float64
    return array.astype(float), rtol if exact else max(rtol, _FLOAT32_RTOL)


def _close(got: np.ndarray, want: np.ndarray, rtol: float) -> bool:
    return bool(np.allclose(got, want, rtol=rtol, atol=0.0, equal_nan=True))


def _show(array: np.ndarray) -> str:
    if array.ndim == 0:
        return f"{float(array):.6g}"
    return "[" + ", ".join(f"{v:.6g}" for v in array.ravel()) + "]"


def _show_args(args: tuple[Any, ...]) -> str:
    return ", ".join(
        "None" if a is None else _show(np.asarray(as_numpy(a), dtype=float)) for a in args
    )


Task = NumberTask | ChoiceTask | CodeTask
"""Any kind of task."""


def find_task(table: Mapping[str, Task], task_id: str) -> Task:
    """The task with this id in ``table``; ``ValueError`` listing the known ids otherwise."""
    if task_id not in table:
        raise ValueError(f"no task with id {task_id!r}; known ids: {sorted(table)}")
    return table[task_id]


def judge(table: Mapping[str, Task], task_id: str, answer: Any) -> TaskResult:
    """The verdict on ``answer`` to the task ``task_id`` of ``table`` (see :func:`check`)."""
    task = find_task(table, task_id)
    if answer is None or answer is Ellipsis:
        return TaskResult(task_id, "unanswered", UNANSWERED)
    try:
        correct, message = task.judge(answer)
    except _Invalid as err:
        return TaskResult(task_id, "invalid", str(err))
    status = "unanswered" if correct is None else "right" if correct else "wrong"
    return TaskResult(task_id, status, message)
