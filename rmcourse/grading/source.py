"""Reading instructor notebooks: nbgrader cell roles, solution and hidden-test blocks, exercises.

A solution notebook (``solutions/NN_name.ipynb``) is the single source of an assignment. Its cells
carry nbgrader metadata (schema 3); an exercise is one solution cell followed by its test cells:

- solution cell: ``solution: true``; its code holds ``### BEGIN SOLUTION`` / ``### END SOLUTION``
  blocks, whose first ``# HINT:`` lines become the stub's message;
- test cell: ``grade: true`` with ``points``; visible asserts, optionally a
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` block.

An exercise's points are those of the test cells between its solution cell and the next one.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HINT_PREFIX = "# HINT:"
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class LockedCell:
    """A code cell of the instructor's that students do not write (setup, data)."""

    grade_id: str
    code: str


@dataclass(frozen=True)
class GradeCell:
    """One graded test cell of ``exercise``: ``visible`` code (shipped), ``hidden`` ("" if none)."""

    grade_id: str
    exercise: str
    points: float
    visible: str
    hidden: str


@dataclass(frozen=True)
class Exercise:
    """One solution cell (``grade_id``): the names it must ``def``, the ``stub`` students get,
    and the tests that follow it."""

    grade_id: str
    names: tuple[str, ...]
    stub: str
    tests: tuple[GradeCell, ...]

    @property
    def max_points(self) -> float:
        """The sum of the points of the exercise's test cells."""
        return sum(test.points for test in self.tests)


@dataclass(frozen=True)
class Assignment:
    """A parsed solution notebook: its name (file stem), notebook, exercises, and ``layout``:
    its code cells in order, each a :class:`LockedCell`, an :class:`Exercise` (its solution
    cell) or a :class:`GradeCell`."""

    name: str
    notebook: nbformat.NotebookNode
    exercises: tuple[Exercise, ...]
    layout: tuple[LockedCell | Exercise | GradeCell, ...]

    @property
    def max_points(self) -> float:
        """The sum of the exercises' points."""
        return sum(exercise.max_points for exercise in self.exercises)

    @property
    def secret_lines(self) -> frozenset[str]:
        """Lines of hidden-test code (stripped, 8+ characters) that no shipped cell contains."""
        shipped = "\n".join(code for item in self.layout for code in _shipped_code(item))
        return frozenset(
            line.strip()
            for exercise in self.exercises
            for test in exercise.tests
            for line in test.hidden.splitlines()
            if len(line.strip()) >= 8 and line.strip() not in shipped
        )


def _shipped_code(item: LockedCell | Exercise | GradeCell) -> tuple[str, ...]:
    if isinstance(item, LockedCell):
        return (item.code,)
    return (item.stub,) if isinstance(item, Exercise) else (item.visible,)


def nbgrader(cell: nbformat.NotebookNode) -> dict:
    """The cell's nbgrader metadata (``{}`` when it has none).

    Examples
    --------
    >>> cell = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "a"}})
    >>> nbgrader(cell)["grade_id"], nbgrader(nbformat.v4.new_code_cell("y"))
    ('a', {})
    """
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """Whether ``cell`` is a code cell students write (nbgrader ``solution: true``).

    Examples
    --------
    >>> meta = {"nbgrader": {"solution": True, "grade": False}}
    >>> is_solution(nbformat.v4.new_code_cell("", metadata=meta)), is_test(
    ...     nbformat.v4.new_code_cell("", metadata=meta))
    (True, False)
    """
    return cell.cell_type == "code" and bool(nbgrader(cell).get("solution"))


def is_test(cell: nbformat.NotebookNode) -> bool:
    """Whether ``cell`` is a graded test cell (nbgrader ``grade: true``, not a solution)."""
    return cell.cell_type == "code" and bool(nbgrader(cell).get("grade")) and not is_solution(cell)


def nbgrader_cell(
    source: str, grade_id: str, *, solution: bool = False, points: float | None = None
) -> nbformat.NotebookNode:
    """A code cell with nbgrader metadata (schema 3): a solution cell, a test cell worth
    ``points``, or (neither) a locked cell.

    Examples
    --------
    >>> cell = nbgrader_cell("assert f() == 1", "f_test", points=2)
    >>> is_test(cell), is_solution(cell), nbgrader(cell)["points"]
    (True, False, 2)
    """
    meta = {
        "schema_version": 3,
        "grade_id": grade_id,
        "solution": solution,
        "grade": points is not None,
        "locked": not solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta})


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook; ``ValueError`` saying why when ``path`` is not one.

    Examples
    --------
    >>> import tempfile
    >>> bad = Path(tempfile.mkdtemp()) / "x.ipynb"
    >>> _ = bad.write_text("")
    >>> read_notebook(bad)
    Traceback (most recent call last):
    ...
    ValueError: ...x.ipynb is an empty file, not a notebook
    """
    path = Path(path)
    text = path.read_bytes().decode("utf-8", errors="replace")
    if not text.strip():
        raise ValueError(f"{path} is an empty file, not a notebook")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except (json.JSONDecodeError, nbformat.ValidationError, nbformat.reader.NotJSONError) as exc:
        raise ValueError(f"{path} is not a valid notebook: {str(exc).splitlines()[0]}") from None
    except (AttributeError, KeyError, TypeError) as exc:  # JSON, but not notebook-shaped
        raise ValueError(f"{path} is not a valid notebook: {exc!r}") from None
    return nb


def _blocks(source: str, begin: str, end: str) -> list[tuple[int, int]]:
    """(begin line, end line) index pairs of the marker blocks in ``source``; checks nesting."""
    lines = source.splitlines()
    pairs, start = [], None
    for i, line in enumerate(lines):
        marker = line.strip()
        if marker == begin:
            if start is not None:
                raise ValueError(f"{begin!r} on line {i + 1} inside an open block")
            start = i
        elif marker == end:
            if start is None:
                raise ValueError(f"{end!r} on line {i + 1} without {begin!r}")
            pairs.append((start, i))
            start = None
    if start is not None:
        raise ValueError(f"{begin!r} on line {start + 1} is never closed by {end!r}")
    return pairs


def stub_solution(source: str) -> str:
    """``source`` with each solution block replaced by a stub raising ``NotImplementedError``.

    The block's leading ``# HINT:`` lines become the exception's message; indentation is kept.

    Examples
    --------
    >>> src = "def f(x):\\n    ### BEGIN SOLUTION\\n    # HINT: square it\\n    return x * x\\n"
    >>> print(stub_solution(src + "    ### END SOLUTION\\n"))
    def f(x):
        # YOUR CODE HERE
        raise NotImplementedError("square it")
    """
    lines = source.splitlines()
    out, last = [], 0
    for begin, end in _blocks(source, BEGIN_SOLUTION, END_SOLUTION):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        hints = []
        for line in lines[begin + 1 : end]:
            if not line.strip().startswith(HINT_PREFIX):
                break
            hints.append(line.strip()[len(HINT_PREFIX) :].strip())
        message = json.dumps(" ".join(hints), ensure_ascii=False) if hints else ""
        out += lines[last:begin]
        out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError({message})"]
        last = end + 1
    return "\n".join(out + lines[last:])


def split_hidden(source: str) -> tuple[str, str]:
    """(visible code, hidden code) of a test cell: the hidden blocks' contents, markers dropped.

    Examples
    --------
    >>> split_hidden("assert 1\\n### BEGIN HIDDEN TESTS\\nassert 2\\n### END HIDDEN TESTS")
    ('assert 1', 'assert 2')
    """
    lines = source.splitlines()
    visible, hidden, last = [], [], 0
    for begin, end in _blocks(source, BEGIN_HIDDEN, END_HIDDEN):
        visible += lines[last:begin]
        hidden += lines[begin + 1 : end]
        last = end + 1
    return "\n".join(visible + lines[last:]).rstrip(), "\n".join(hidden).rstrip()


def _layout(nb: nbformat.NotebookNode) -> tuple[LockedCell | Exercise | GradeCell, ...]:
    seen: set[str] = set()
    layout: list[LockedCell | Exercise | GradeCell] = []
    tests: dict[str, list[GradeCell]] = {}  # exercise -> its test cells
    for index, cell in enumerate(nb.cells):
        meta = nbgrader(cell)
        grade_id = meta.get("grade_id")
        if not (is_solution(cell) or is_test(cell)):
            if grade_id is not None:
                seen.add(str(grade_id))
            if cell.cell_type == "code":
                layout.append(LockedCell(str(grade_id or ""), cell.source))
            continue
        if not isinstance(grade_id, str) or not GRADE_ID.match(grade_id) or grade_id in seen:
            raise ValueError(
                f"cell {index} has a missing, malformed or duplicate grade_id {grade_id!r}"
            )
        seen.add(grade_id)
        if is_solution(cell):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError as exc:
                raise ValueError(f"solution cell {grade_id!r} is not Python: {exc}") from None
            names = tuple(
                node.name
                for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            )
            tests[grade_id] = []
            layout.append(Exercise(grade_id, names, stub_solution(cell.source), ()))
            continue
        points = meta.get("points")
        if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
            raise ValueError(f"test cell {grade_id!r} has invalid points {points!r}")
        if not tests:
            raise ValueError(f"test cell {grade_id!r} comes before any solution cell")
        exercise = list(tests)[-1]
        visible, hidden = split_hidden(cell.source)
        tests[exercise].append(GradeCell(grade_id, exercise, float(points), visible, hidden))
        layout.append(tests[exercise][-1])
    return tuple(
        replace(item, tests=tuple(tests[item.grade_id])) if isinstance(item, Exercise) else item
        for item in layout
    )


def parse_assignment(name: str, nb: nbformat.NotebookNode) -> Assignment:
    r"""The :class:`Assignment` of the solution notebook ``nb`` called ``name``.

    Raises ``ValueError`` naming the cell when the notebook breaks the conventions (duplicate or
    malformed grade_id, test before any solution, bad points, unbalanced markers).

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbgrader_cell("import math", "setup"),
    ...     nbgrader_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
    ...                   "f", solution=True),
    ...     nbgrader_cell("assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 2\n"
    ...                   "### END HIDDEN TESTS", "f_test", points=2)])
    >>> a = parse_assignment("09_demo", nb)
    >>> [type(item).__name__ for item in a.layout], a.max_points
    (['LockedCell', 'Exercise', 'GradeCell'], 2.0)
    >>> a.exercises[0].names, a.exercises[0].tests[0].hidden
    (('f',), 'assert f(2) == 2')
    >>> print(a.exercises[0].stub)
    def f(x):
        # YOUR CODE HERE
        raise NotImplementedError()
    """
    layout = _layout(nb)
    exercises = tuple(item for item in layout if isinstance(item, Exercise))
    if not exercises:
        raise ValueError("the notebook has no exercise (no cell with nbgrader solution: true)")
    return Assignment(name, nb, exercises, layout)


def load_assignment(path: Path) -> Assignment:
    """Parse the solution notebook at ``path`` (see :func:`parse_assignment`); its name is the
    file's stem, and a ``ValueError`` names the file."""
    path = Path(path)
    nb = read_notebook(path)
    try:
        return parse_assignment(path.stem, nb)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
