"""Reading a submitted notebook: which of its cells are the student's work, and where they run.

A submission's code cells fall into three kinds:

- the instructor's cells (setup, data, tests): recognised by their ``grade_id``, or -- when an
  editor dropped the metadata -- by their code, whatever its formatting. They are never run from
  the submission: the grader runs the source's version, so edited or deleted tests are restored;
- solution cells: the cells carrying an exercise's ``grade_id`` (all of them, when a student copied
  one: a top-to-bottom run defines what the last one defines). When no cell carries it (lost
  metadata, a fresh notebook), the cells the student added that define one of the exercise's
  functions are its solution cells. An untouched stub is not the student's work and does not run;
- cells the student added: their work too, run where they stand.

The student's cells run in their order, each after the instructor's cell that precedes it in the
submission (those before the first exercise run right after the grader's guard is installed).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import nbformat

from rmcourse.grading.pycode import defined_functions, fingerprint, parse, unix_newlines
from rmcourse.grading.source import (
    BEGIN_HIDDEN,
    Assignment,
    Exercise,
    LockedCell,
    nbgrader,
    read_notebook,
    split_hidden,
)


@dataclass(frozen=True)
class StudentCell:
    """A code cell of the student's.

    ``exercises``: those it is the solution cell of (``()`` for a cell the student added);
    ``after``: the index in ``Assignment.layout`` of the instructor's cell it follows (-1: none);
    ``number``: its position in the submitted notebook, counting every cell from 1.
    """

    code: str
    exercises: tuple[str, ...]
    after: int
    number: int


@dataclass(frozen=True)
class StudentWork:
    """The student's cells in order, the exercises with no code, and how cells were matched.

    ``duplicates``: exercise -> the numbers of the cells carrying its ``grade_id``, where more
    than one does; ``by_name``: exercise -> the numbers of the cells matched by function name.
    """

    cells: tuple[StudentCell, ...]
    unanswered: frozenset[str]
    duplicates: dict[str, tuple[int, ...]]
    by_name: dict[str, tuple[int, ...]]


def read_submission(path: Path) -> tuple[nbformat.NotebookNode | None, str, str]:
    """Read a submitted file.

    Returns
    -------
    tuple
        (notebook or None, problem, note): problem ``""``, ``empty`` or ``not_a_notebook``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "ann.ipynb").write_text("my answers are 1, 2, 3")
    >>> nb, problem, note = read_submission(folder / "ann.ipynb")
    >>> nb, problem
    (None, 'not_a_notebook')
    """
    try:
        return read_notebook(path), "", ""
    except ValueError as exc:
        return None, "empty" if "empty file" in str(exc) else "not_a_notebook", str(exc)


def _blank(code: str) -> bool:
    """Whether a cell holds nothing to run (blank, or comments only)."""
    tree = parse(code)
    return tree is not None and not tree.body


def _test_key(visible: str, hidden: str) -> str:
    return fingerprint(visible) + "\n### hidden\n" + fingerprint(hidden)


def _keys(code: str) -> tuple[str, ...]:
    """The fingerprints a cell is looked up by among the instructor's cells: its code and, for a
    test cell copied from the solution notebook (hidden blocks and all), its visible and hidden
    parts together, then its visible part alone."""
    if BEGIN_HIDDEN in code:
        try:
            visible, hidden = split_hidden(code)
        except ValueError:  # unbalanced markers: not the instructor's cell
            return (fingerprint(code),)
        return (_test_key(visible, hidden), fingerprint(visible), fingerprint(code))
    return (fingerprint(code),)


def _instructor_cells(assignment: Assignment) -> tuple[dict[str, int], dict[str, int]]:
    """(grade_id -> layout index, code fingerprint -> layout index) of the instructor's cells."""
    by_id: dict[str, int] = {}
    by_code: dict[str, int] = {}
    for index, item in enumerate(assignment.layout):
        if isinstance(item, Exercise):
            by_id[item.grade_id] = index
            by_code.setdefault(fingerprint(item.stub), index)
            continue
        if item.grade_id:
            by_id[item.grade_id] = index
        shipped = item.code if isinstance(item, LockedCell) else item.visible
        if not isinstance(item, LockedCell) and item.hidden:
            by_code.setdefault(_test_key(item.visible, item.hidden), index)
        if not _blank(shipped):  # a cell of comments only says nothing about where it stands
            by_code.setdefault(fingerprint(shipped), index)
    return by_id, by_code


def student_work(submission: nbformat.NotebookNode, assignment: Assignment) -> StudentWork:
    """The student's cells of ``submission`` and the exercises they answer.

    Examples
    --------
    >>> from rmcourse.grading.source import nbgrader_cell, parse_assignment
    >>> source = nbformat.v4.new_notebook(cells=[
    ...     nbgrader_cell("def f(x):\\n    ### BEGIN SOLUTION\\n    return x\\n"
    ...                   "    ### END SOLUTION", "f", solution=True),
    ...     nbgrader_cell("assert f(1) == 1", "f_test", points=1)])
    >>> assignment = parse_assignment("09_demo", source)
    >>> mine = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_code_cell("def helper(x):\\r\\n    return x"),
    ...     nbformat.v4.new_code_cell("def f(x):\\n    return helper(x)"),
    ...     nbformat.v4.new_code_cell("assert f(1) == 1  # the test, metadata lost")])
    >>> work = student_work(mine, assignment)
    >>> [(c.exercises, c.after, c.number) for c in work.cells], work.by_name
    ([((), -1, 1), (('f',), -1, 2)], {'f': (2,)})
    """
    by_id, by_code = _instructor_cells(assignment)
    exercises = {e.grade_id: e for e in assignment.exercises}
    found: list[tuple[str, tuple[str, ...], int, int]] = []  # code, exercises, after, number
    carried: dict[str, list[int]] = defaultdict(list)
    after = -1
    for number, cell in enumerate(submission.cells, start=1):
        if cell.cell_type != "code" or not isinstance(cell.get("source"), str):
            continue
        grade_id = nbgrader(cell).get("grade_id")
        grade_id = grade_id if isinstance(grade_id, str) else ""
        code = unix_newlines(cell.source)
        keys = _keys(code)
        known = next((by_code[key] for key in keys if key in by_code), None)
        if grade_id in exercises:
            if keys[-1] != fingerprint(exercises[grade_id].stub):  # not before its own place
                found.append((code, (grade_id,), max(after, by_id[grade_id] - 1), number))
                carried[grade_id].append(number)
            after = max(after, by_id[grade_id])
        elif grade_id in by_id or known is not None:
            after = max(after, by_id[grade_id] if grade_id in by_id else known)
        elif not _blank(code):
            found.append((code, (), after, number))
    with_id = {number for numbers in carried.values() for number in numbers}
    by_name: dict[str, list[int]] = defaultdict(list)
    for exercise in assignment.exercises:
        if exercise.grade_id in carried:
            continue
        for i, (code, answers, where, number) in enumerate(found):
            if number not in with_id and set(defined_functions(code)) & set(exercise.names):
                where = max(where, by_id[exercise.grade_id] - 1)  # not before its own place
                found[i] = (code, answers + (exercise.grade_id,), where, number)
                by_name[exercise.grade_id].append(number)
    return StudentWork(
        cells=tuple(StudentCell(*item) for item in found),
        unanswered=frozenset(exercises) - set(carried) - set(by_name),
        duplicates={e: tuple(ns) for e, ns in carried.items() if len(ns) > 1},
        by_name={e: tuple(ns) for e, ns in by_name.items()},
    )
