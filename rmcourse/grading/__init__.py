"""Exercise generation and the autograder: ``rmcourse exercises`` and ``rmcourse grade``.

Knows notebooks (nbformat, nbclient), not the ML code; :mod:`rmcourse.grading.checks` is the
comparison namespace that solution and exercise notebooks bind to ``_grader``. The two commands'
functions are imported on first use, so ``import rmcourse.grading.checks`` in a notebook stays
light:

- :func:`rmcourse.grading.generate.generate_exercises` -- ``rmcourse exercises``;
- :func:`rmcourse.grading.command.grade_command` -- ``rmcourse grade``.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "generate_exercises":
        from rmcourse.grading.generate import generate_exercises

        return generate_exercises
    if name == "grade_command":
        from rmcourse.grading.command import grade_command

        return grade_command
    raise AttributeError(f"module 'rmcourse.grading' has no attribute {name!r}")
