"""Task content: one JSON file a lesson (``data/NN.json``), validated and made into tasks.

Each file follows ``tasks.schema.json`` beside this module; :func:`parse_lesson` then checks what
a schema cannot: every id starts with the lesson's digits and is used once, every formula
evaluates (:mod:`rmcourse.tasks.formulas`), no listed mistake is accepted as right, a choice's
answer has no hint, every function named exists (:mod:`rmcourse.tasks.functions`) and takes the
probes and options given. Bad content raises ``ValueError`` naming the file, the task and the
field.

Examples
--------
>>> lesson = {"lesson": "99", "tasks": [{"id": "99-sum", "kind": "number", "answer": "1 + 1",
...                                      "hint": "Add them."}]}
>>> parse_lesson(lesson)["99-sum"].answer
2.0
>>> lesson["tasks"][0]["answer"] = "1 +"
>>> parse_lesson(lesson, "99.json")
Traceback (most recent call last):
...
ValueError: 99.json: task '99-sum': answer: '1 +' is not a formula: invalid syntax
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from functools import lru_cache, partial
from importlib import resources
from typing import Any

from rmcourse.tasks.formulas import evaluate
from rmcourse.tasks.functions import FUNCTIONS, Probes
from rmcourse.tasks.kinds import ChoiceTask, CodeTask, NumberTask, Task
from rmcourse.validate import against_schema

DEFAULT_TOLERANCE = 5e-3
"""A number task's tolerance unless its data gives one: 2 decimals."""


class _Bad(ValueError):
    """Bad content in one field of one task; :func:`parse_lesson` adds the file and task."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")


def load_tasks() -> dict[str, Task]:
    """Every lesson's tasks from the package's ``data/NN.json``, by id (read once per process).

    Examples
    --------
    >>> tasks = load_tasks()
    >>> tasks["01-3"].answer in tasks["01-3"].hints
    False
    """
    return dict(_package_tasks())


@lru_cache(maxsize=1)
def _package_tasks() -> tuple[tuple[str, Task], ...]:
    found: dict[str, Task] = {}
    data = resources.files("rmcourse.tasks").joinpath("data")
    for entry in sorted(data.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        source = f"rmcourse/tasks/data/{entry.name}"
        try:
            content = json.loads(entry.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{source}: not valid JSON: {err}") from None
        if isinstance(content, Mapping) and content.get("lesson") != entry.name[:2]:
            raise ValueError(
                f"{source}: lesson {content.get('lesson')!r} does not match the file's name"
            )
        for task_id, task in parse_lesson(content, source).items():
            if task_id in found:
                raise ValueError(f"{source}: task {task_id!r}: the id is used in another file")
            found[task_id] = task
    return tuple(found.items())


def parse_lesson(content: Any, source: str = "task content") -> dict[str, Task]:
    """Validate one lesson's content (the ``data/NN.json`` format) and build its tasks.

    Raises
    ------
    ValueError
        ``"<source>: task '<id>': <field>: <problem>"`` for the first problem found: a schema
        violation, a repeated id or one of another lesson, a formula that does not evaluate, a
        mistake the answer's tolerance accepts, a choice answer with a hint, an unknown function,
        probes or options the function does not take.
    """
    _validate_schema(content, source)
    tasks: dict[str, Task] = {}
    for raw in content["tasks"]:
        where = f"{source}: task {raw['id']!r}"
        if not raw["id"].startswith(content["lesson"] + "-"):
            raise ValueError(f"{where}: id: does not start with the lesson {content['lesson']!r}")
        if raw["id"] in tasks:
            raise ValueError(f"{where}: id: used twice")
        try:
            tasks[raw["id"]] = _BUILDERS[raw["kind"]](raw)
        except _Bad as err:
            raise ValueError(f"{where}: {err}") from None
    return tasks


def _number_task(raw: Mapping[str, Any]) -> NumberTask:
    tolerance = raw.get("tolerance", DEFAULT_TOLERANCE)
    answer = _number(raw["answer"], "answer")
    mistakes = []
    for i, mistake in enumerate(raw.get("mistakes", [])):
        value = _number(mistake["value"], f"mistakes/{i}/value")
        if abs(value - answer) <= tolerance:
            raise _Bad(
                f"mistakes/{i}/value",
                f"{value:g} is within the tolerance {tolerance:g} "
                f"of the answer {answer:g}, so its hint would never be shown",
            )
        mistakes.append((value, mistake["hint"]))
    return NumberTask(
        raw["id"], answer=answer, hint=raw["hint"], mistakes=tuple(mistakes), tolerance=tolerance
    )


def _choice_task(raw: Mapping[str, Any]) -> ChoiceTask:
    if raw["answer"] in raw["hints"]:
        raise _Bad(
            f"hints/{raw['answer']}",
            "the answer's option has a hint; only the wrong options have one",
        )
    return ChoiceTask(raw["id"], answer=raw["answer"], hints=dict(raw["hints"]))


def _code_task(raw: Mapping[str, Any]) -> CodeTask:
    reference = _function(raw["reference"], "reference")
    for i, probe in enumerate(raw["probes"]):
        _takes(reference, probe, {}, f"probes/{i}")
    mistakes = []
    for i, mistake in enumerate(raw.get("mistakes", [])):
        options = mistake.get("options", {})
        wrong = _function(mistake["function"], f"mistakes/{i}/function")
        _takes(wrong, raw["probes"][0], options, f"mistakes/{i}/options")
        mistakes.append((partial(wrong, **options) if options else wrong, mistake["hint"]))
    probes = Probes(raw["probes"], raw.get("inputs", "numpy"))
    return CodeTask(
        raw["id"],
        reference=reference,
        probes=probes,
        mistakes=tuple(mistakes),
        nonfinite_hint=raw.get("nonfinite_hint", ""),
        rtol=raw.get("rtol", 1e-9),
    )


_BUILDERS = {"number": _number_task, "choice": _choice_task, "function": _code_task}


def _number(value: Any, field: str) -> float:
    try:
        return evaluate(value)
    except ValueError as err:
        raise _Bad(field, str(err)) from None


def _function(name: str, field: str) -> Any:
    if name not in FUNCTIONS:
        raise _Bad(field, f"no function {name!r}; known: {sorted(FUNCTIONS)}")
    return FUNCTIONS[name]


def _takes(function: Any, probe: list[Any], options: Mapping[str, Any], field: str) -> None:
    try:
        inspect.signature(function).bind(*probe, **options)
    except TypeError as err:
        raise _Bad(
            field,
            f"the function does not take {len(probe)} arguments with options "
            f"{dict(options)}: {err}",
        ) from None


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("rmcourse.tasks").joinpath("tasks.schema.json").read_text("utf-8")
    return json.loads(text)


def _validate_schema(content: Any, source: str) -> None:
    if not isinstance(content, Mapping):
        raise TypeError(f"{source}: task content must be a mapping, got {type(content).__name__}")
    against_schema(content, _schema(), source, "tasks", "task")
