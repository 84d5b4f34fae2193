"""The cells that grade one submission, built from the :class:`Assignment` and the student's work.

In order: the source's setup cells, the guard install (given the code of the student's cells and
of the instructor's, to tell where functions come from), then the source's cells with the
student's cells where they stand (see :mod:`rmcourse.grading.submission`), and before every
visible and every hidden test part a guard call that must answer a fresh HMAC challenge, which
names the exercise's functions: each must be the code of the student's cells, and may not be or
reach the course library's functions the exercise re-implements
(:func:`rmcourse.grading.anticopy.forbidden_functions`). The tests of an unanswered
exercise are not run. Hidden parts run only when their visible part passed, and stay
out of the kernel's input history.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass

from rmcourse.grading.anticopy import forbidden_functions
from rmcourse.grading.execute import Step
from rmcourse.grading.feedback import unstated
from rmcourse.grading.pycode import definitions_only
from rmcourse.grading.source import Assignment, Exercise, GradeCell, LockedCell
from rmcourse.grading.submission import StudentCell, StudentWork


@dataclass(frozen=True)
class Role:
    """What a planned step is for.

    ``kind``: setup, install, cell (a locked cell after the install), solution, own (a cell the
    student added), guard, visible or hidden; ``exercises``: the exercises it belongs to (for an
    ``own`` cell, the one whose part of the notebook it stands in); ``test``: the test cell's
    grade_id; ``cell``: the student's cell number.
    """

    kind: str
    exercises: tuple[str, ...] = ()
    test: str = ""
    cell: int = 0


@dataclass(frozen=True)
class Plan:
    """The steps to run, what each is for, and the secrets the guard answers with."""

    steps: tuple[Step, ...]
    roles: tuple[Role, ...]
    key: bytes
    challenges: dict[int, str]  # step index -> challenge, for guard steps
    secret_lines: frozenset[str]  # hidden-test lines that feedback must not quote


class _Builder:
    def __init__(self, key: bytes, assignment: Assignment) -> None:
        self.guard_name = f"_rmcourse_guard_{secrets.token_hex(8)}"
        self.key = key
        self.names = {e.grade_id: e.names for e in assignment.exercises}
        self.forbidden = forbidden_functions(assignment)
        self.steps: list[Step] = []
        self.roles: list[Role] = []
        self.challenges: dict[int, str] = {}

    def add(self, step: Step, role: Role) -> int:
        self.steps.append(step)
        self.roles.append(role)
        return len(self.steps) - 1

    def install(self, own: tuple[str, ...], instructor: tuple[str, ...]) -> None:
        # The key travels in this cell only: kept out of the history (secret) and of linecache
        # (the cell drops its own entry), never in a file (see docs/grading.md).
        code = (
            "from rmcourse.grading.guard import install as _rmcourse_install\n"
            f"{self.guard_name} = _rmcourse_install(get_ipython(), {self.key!r}, "
            f"own={own!r}, instructor={instructor!r})\n"
            "__import__('linecache').cache.pop(__import__('sys')._getframe().f_code.co_filename,"
            " None)\n"
            "del _rmcourse_install"
        )
        self.add(Step(code, replay=True, secret=True), Role("install"))

    def guarded(self, code: str, role: Role, requires: int | None = None) -> int:
        names = ",".join(n for e in role.exercises for n in self.names.get(e, ()))
        forbidden = ",".join(sorted({f for e in role.exercises for f in self.forbidden[e]}))
        challenge = f"{secrets.token_hex(16)}:{names};{forbidden}"
        self.challenges[len(self.steps)] = challenge
        call = f"{self.guard_name}({challenge!r})"
        guard = self.add(Step(call, requires=requires), Role("guard", role.exercises, role.test))
        return self.add(Step(code, requires=guard, secret=role.kind == "hidden"), role)

    def student(self, cell: StudentCell, region: str) -> None:
        step = Step(cell.code, replay=True, definitions=definitions_only(cell.code))
        if cell.exercises:
            self.add(step, Role("solution", cell.exercises, cell=cell.number))
        else:
            self.add(step, Role("own", (region,), cell=cell.number))

    def test(self, test: GradeCell) -> None:
        shown = self.guarded(test.visible, Role("visible", (test.exercise,), test.grade_id))
        if test.hidden:  # runs only when the visible part passed
            role = Role("hidden", (test.exercise,), test.grade_id)
            self.guarded(test.hidden, role, requires=shown)


def _section(assignment: Assignment, index: int) -> str:
    """The exercise whose part of the notebook a cell after ``layout[index]`` stands in: that of
    the next solution or test cell, else the last exercise."""
    for item in assignment.layout[index + 1 :]:
        if isinstance(item, (Exercise, GradeCell)):
            return item.grade_id if isinstance(item, Exercise) else item.exercise
    return assignment.exercises[-1].grade_id


def plan(assignment: Assignment, work: StudentWork) -> Plan:
    """The steps that grade ``work`` against ``assignment``; the guard install's cell carries
    the plan's fresh key.

    Examples
    --------
    >>> import nbformat
    >>> from rmcourse.grading.source import nbgrader_cell, parse_assignment
    >>> from rmcourse.grading.submission import StudentCell, StudentWork
    >>> assignment = parse_assignment("09_demo", nbformat.v4.new_notebook(cells=[
    ...     nbgrader_cell("import math", "setup"),
    ...     nbgrader_cell("def f(x):\\n    ### BEGIN SOLUTION\\n    return x\\n"
    ...                   "    ### END SOLUTION", "f", solution=True),
    ...     nbgrader_cell("assert f(1) == 1\\n### BEGIN HIDDEN TESTS\\nassert f(2) == 2\\n"
    ...                   "### END HIDDEN TESTS", "f_test", points=1)]))
    >>> work = StudentWork((StudentCell("h = 1", (), -1, 1), StudentCell("def f(x): return x",
    ...                     ("f",), 1, 2)), frozenset(), {}, {})
    >>> p = plan(assignment, work)
    >>> [(role.kind, role.cell) for role in p.roles]  # doctest: +NORMALIZE_WHITESPACE
    [('setup', 0), ('install', 0), ('own', 1), ('solution', 2), ('guard', 0), ('visible', 0),
     ('guard', 0), ('hidden', 0)]
    >>> p.steps[-1].code, p.steps[-1].secret, p.steps[-1].requires, len(p.challenges)
    ('assert f(2) == 2', True, 6, 2)
    """
    layout = assignment.layout
    first = next(i for i, item in enumerate(layout) if not isinstance(item, LockedCell))
    placed: dict[int, list[StudentCell]] = defaultdict(list)
    for cell in work.cells:  # none before the guard install
        placed[max(cell.after, first - 1)].append(cell)
    key = secrets.token_bytes(32)
    build = _Builder(key, assignment)
    own = tuple(code for cell in work.cells for code in (cell.code, definitions_only(cell.code)))
    instructor = tuple(item.code for item in layout if isinstance(item, LockedCell))
    for index in range(-1, len(layout)):
        item = layout[index] if index >= 0 else None
        if isinstance(item, LockedCell):
            build.add(Step(item.code, replay=True), Role("setup" if index < first else "cell"))
        elif isinstance(item, GradeCell) and item.exercise not in work.unanswered:
            build.test(item)
        if index == first - 1:
            build.install(tuple(dict.fromkeys(c for c in own if c)), instructor)
        for cell in placed[index]:
            build.student(cell, _section(assignment, index))
    return Plan(
        tuple(build.steps),
        tuple(build.roles),
        key,
        build.challenges,
        unstated(
            assignment.secret_lines, [t.hidden for e in assignment.exercises for t in e.tests]
        ),
    )
