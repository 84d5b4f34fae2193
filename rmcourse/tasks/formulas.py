"""Numbers in task content written as formulas over the course's library.

A number task's ``answer`` and each mistake's ``value`` is a JSON number or a formula such as
``"bt_loss([0.2], [1.2])"``: numbers, lists, ``+ - * / **``, indexing with an integer and calls
of the functions in :data:`NAMES` (no other names, no attributes, no keywords), so the number a
task accepts is computed by the code the lesson teaches, never copied by hand.

Examples
--------
>>> round(evaluate("bt_loss([0.2], [1.2])"), 4)
1.3133
>>> evaluate("4 * 64"), evaluate(0.25)
(256.0, 0.25)
>>> round(evaluate("mean(sigmoid([1.5, -1.0] - [0.5, 1.0]))"), 4)
0.4251
>>> evaluate("__import__('os')")
Traceback (most recent call last):
...
ValueError: "__import__('os')": __import__ is not one of the functions a formula may call: ...
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from rmcourse.np_loss import bt_loss, bt_loss_grad, ranking_loss, sigmoid

NAMES: dict[str, Callable[..., Any]] = {
    "bt_loss": bt_loss, "bt_loss_grad": bt_loss_grad, "ranking_loss": ranking_loss,
    "sigmoid": sigmoid, "exp": np.exp, "log": np.log, "log1p": np.log1p, "log2": np.log2,
    "log10": np.log10, "mean": np.mean, "sum": np.sum,
}  # fmt: skip
"""The functions a formula may call: the loss of :mod:`rmcourse.np_loss` and a few of NumPy's."""

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}  # fmt: skip


def evaluate(formula: str | float) -> float:
    """The number a formula (or a plain number) stands for.

    Raises
    ------
    ValueError
        If ``formula`` does not parse, uses anything but the allowed forms, or is not one finite
        number.
    """
    if isinstance(formula, int | float) and not isinstance(formula, bool):
        return float(formula)
    if not isinstance(formula, str):
        raise ValueError(f"{formula!r} is neither a number nor a formula")
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as err:
        raise ValueError(f"{formula!r} is not a formula: {err.msg}") from None
    with np.errstate(all="ignore"):
        value = np.asarray(_value(tree.body, formula), dtype=float)
    if value.size != 1 or not np.isfinite(value).all():
        raise ValueError(f"{formula!r} is {value.tolist()}, not one finite number")
    return float(value.reshape(()))


def _value(node: ast.AST, formula: str) -> Any:
    match node:
        case ast.Constant(value=int() | float() as number) if not isinstance(number, bool):
            return number
        case ast.List(elts=items) | ast.Tuple(elts=items):
            return [_value(item, formula) for item in items]
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -_array(_value(operand, formula))
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            return _BINARY[type(op)](_array(_value(left, formula)), _array(_value(right, formula)))
        case ast.Subscript(value=value, slice=ast.Constant(value=int() as index)):
            return _value(value, formula)[index]
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]):
            if name not in NAMES:
                raise ValueError(
                    f"{formula!r}: {name} is not one of the functions a formula may "
                    f"call: {sorted(NAMES)}"
                )
            return NAMES[name](*(_value(arg, formula) for arg in args))
    raise ValueError(
        f"{formula!r}: {ast.unparse(node)!r} is not allowed; a formula has numbers, "
        f"lists, + - * / **, [integer] and calls of {sorted(NAMES)}"
    )


def _array(value: Any) -> Any:
    return np.asarray(value, dtype=float) if isinstance(value, list) else value
