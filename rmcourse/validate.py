"""Checks written once: numbers given as options, the shape of a ranking, content against a schema.

One wording for every ``TypeError``/``ValueError`` they raise, whichever module calls them.

Examples
--------
>>> finite_number(0.5, "l2", lower=0.0)
0.5
>>> positive_int(3, "steps")
3
>>> finite_number(float("nan"), "margin")
Traceback (most recent call last):
...
ValueError: margin must be a finite number, got nan
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any


def finite_number(
    value: object, name: str, lower: float | None = None, strict: bool = False
) -> float:
    """``value`` as a finite float; ``> lower`` (``strict``) or ``>= lower`` if ``lower`` is given.

    Booleans are refused (``True`` is an int to Python, never a number to a user).

    Examples
    --------
    >>> finite_number(2, "tol", lower=0.0, strict=True)
    2.0
    >>> finite_number(0.0, "tol", lower=0.0, strict=True)
    Traceback (most recent call last):
    ...
    ValueError: tol must be a finite number > 0.0, got 0.0
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if lower is None:
        if not math.isfinite(number):
            raise ValueError(f"{name} must be a finite number, got {number}")
        return number
    if not math.isfinite(number) or number < lower or (strict and number == lower):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be a finite number {relation} {lower}, got {number}")
    return number


def positive_int(value: object, name: str) -> int:
    """``value`` as an int ``>= 1`` (NumPy integers too, booleans not).

    Examples
    --------
    >>> positive_int(0, "n_bins")
    Traceback (most recent call last):
    ...
    ValueError: n_bins must be a positive integer, got 0
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def ranking_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(B, K)`` of a batch of rankings: B >= 1 prompts, K >= 2 responses each, best first.

    Examples
    --------
    >>> ranking_shape((4, 3))
    (4, 3)
    >>> ranking_shape((3, 1))
    Traceback (most recent call last):
    ...
    ValueError: rewards needs K >= 2 responses per prompt to rank, got K = 1
    """
    shape = tuple(shape)
    if len(shape) != 2:
        raise ValueError(
            f"rewards must be 2-D of shape (B, K), got shape {shape}; one prompt's ranking of K "
            "rewards is a (1, K) row, r.reshape(1, -1)"
        )
    n_prompts, k = shape
    if k < 2:
        raise ValueError(f"rewards needs K >= 2 responses per prompt to rank, got K = {k}")
    if n_prompts == 0:
        raise ValueError("rewards is empty: got B = 0 prompts")
    return n_prompts, k


def against_schema(
    content: object, schema: Mapping[str, Any], where: str, entries: str, noun: str
) -> None:
    """Raise ``ValueError`` naming the place where ``content`` first breaks the JSON ``schema``.

    ``where`` names the content (a file, "quiz content"); an error inside one entry of the list
    ``content[entries]`` names that entry by its ``id``, as ``{noun} 'id'``. jsonschema is
    imported on first use, without its IRI grammar (:func:`rmcourse.imports.import_jsonschema`).

    Examples
    --------
    >>> schema = {"type": "object", "properties": {"items": {"type": "array",
    ...           "items": {"type": "object", "required": ["id", "x"]}}}}
    >>> against_schema({"items": [{"id": "a", "x": 1}]}, schema, "demo.json", "items", "item")
    >>> against_schema({"items": [{"id": "a"}]}, schema, "demo.json", "items", "item")
    Traceback (most recent call last):
    ...
    ValueError: demo.json: item 'a': (top level): 'x' is a required property
    """
    from rmcourse.imports import import_jsonschema

    if not isinstance(content, Mapping):
        raise TypeError(f"{where} must be a mapping, got {type(content).__name__}")
    jsonschema = import_jsonschema()
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(content),
        key=lambda e: [(isinstance(p, str), p) for p in e.absolute_path],
    )
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] == entries:
        raw = content[entries][path[1]]
        entry = raw.get("id", f"#{path[1]}") if isinstance(raw, Mapping) else f"#{path[1]}"
        where = f"{where}: {noun} {entry!r}"
        path = path[2:]
    field = "/".join(str(p) for p in path) or "(top level)"
    raise ValueError(f"{where}: {field}: {error.message}")
