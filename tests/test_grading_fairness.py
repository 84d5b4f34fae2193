"""The grader is fair to honest notebooks, built from the real solution of every assignment.

Honest work as students produce it: cells they add (helpers above the answer), a notebook saved
with Windows line endings, tabs, comments, blank lines and trailing spaces, cell metadata lost in a
fresh notebook, an old attempt kept above the final one (a copied cell), a cell that kills its
kernel. Each is read statically for every assignment (cheap), then graded end to end. Hidden
tests: their feedback shows the instructor's descriptions and no line of hidden code reaches the
feedback, the gradebook or the kernel's history, even when student code spies on the tests.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable

import nbformat
import pytest
from conftest import SOLUTIONS, assignment_names, filled_exercise, solution_code

from rmcourse.grading.anticopy import copied_exercises
from rmcourse.grading.execute import Limits
from rmcourse.grading.plan import plan
from rmcourse.grading.source import Assignment, is_solution, load_assignment, nbgrader
from rmcourse.grading.submission import student_work

ASSIGNMENTS = assignment_names()
LIMITS = Limits(cell_timeout=120, submission_timeout=900)


def _assignment(name: str) -> Assignment:
    return load_assignment(SOLUTIONS / f"{name}.ipynb")


# --- harmless reformattings -------------------------------------------------------------------


def _tokens(code: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(code).readline))


def _line_ends(code: str) -> set[int]:
    """Lines that end outside any string: a comment or spaces may follow them."""
    return {t.start[0] for t in _tokens(code) if t.type in (tokenize.NEWLINE, tokenize.NL)}


def _in_strings(code: str) -> set[int]:
    """Lines inside a multi-line string (after its first line)."""
    return {
        line
        for t in _tokens(code)
        if t.type == tokenize.STRING
        for line in range(t.start[0] + 1, t.end[0] + 1)
    }


def crlf(code: str) -> str:
    return code.replace("\n", "\r\n")


def tabs(code: str) -> str:
    inside = _in_strings(code)
    lines = code.split("\n")
    for i, line in enumerate(lines):
        if i + 1 not in inside:
            indent = len(line) - len(line.lstrip(" "))
            lines[i] = "\t" * (indent // 4) + " " * (indent % 4) + line[indent:]
    return "\n".join(lines)


def comments(code: str) -> str:
    ends = _line_ends(code)
    lines = code.split("\n")
    lines = [f"{line}  # checked" if i + 1 in ends else line for i, line in enumerate(lines)]
    return "# my work on this exercise\n" + "\n".join(lines)


def blank_lines(code: str) -> str:
    ends = {t.start[0] for t in _tokens(code) if t.type == tokenize.NEWLINE}
    lines = code.split("\n")
    return "\n".join(line + ("\n" if i + 1 in ends else "") for i, line in enumerate(lines))


def whitespace(code: str) -> str:
    ends = _line_ends(code)
    lines = code.split("\n")
    return "\n".join(line + "   " if i + 1 in ends else line for i, line in enumerate(lines))


REFORMATS: dict[str, Callable[[str], str]] = {
    "crlf": crlf,
    "tabs": tabs,
    "comments": comments,
    "blank_lines": blank_lines,
    "whitespace": whitespace,
    "all": lambda code: crlf(tabs(whitespace(blank_lines(comments(code))))),
}


def _reformatted(nb: nbformat.NotebookNode, style: str) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code":
            new = REFORMATS[style](cell.source)
            # harmless: the same program (the test's own check of its reformattings)
            assert ast.dump(ast.parse(new)) == ast.dump(ast.parse(cell.source)), new
            cell.source = new
    return nb


def _without_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def _roles(assignment: Assignment, nb: nbformat.NotebookNode) -> list[tuple]:
    steps = plan(assignment, student_work(nb, assignment), "key")
    return [(r.kind, r.exercises, r.test) for r in steps.roles]


@pytest.mark.parametrize("style", sorted(REFORMATS))
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_a_reformatted_solution_is_the_solution_and_never_copied(name, style):
    assignment = _assignment(name)
    nb = _reformatted(filled_exercise(name), style)
    work = student_work(nb, assignment)
    assert [c.exercises for c in work.cells] == [(e.grade_id,) for e in assignment.exercises]
    assert not work.unanswered and not work.duplicates and not work.by_name
    assert copied_exercises(work, assignment) == {}
    assert _roles(assignment, nb) == _roles(assignment, filled_exercise(name))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_without_metadata_solution_cells_are_found_by_function_name(name):
    assignment = _assignment(name)
    nb = _without_metadata(_reformatted(filled_exercise(name), "all"))
    work = student_work(nb, assignment)
    numbers = {
        nbgrader(cell)["grade_id"]: n
        for n, cell in enumerate(filled_exercise(name).cells, start=1)
        if is_solution(cell)
    }
    named = [e.grade_id for e in assignment.exercises if e.names]
    assert work.by_name == {e: (numbers[e],) for e in named}
    assert work.unanswered == {e.grade_id for e in assignment.exercises if not e.names}
    assert copied_exercises(work, assignment) == {}
    # the instructor's cells are recognised by their code: the same cells run, in the same order
    assert _roles(assignment, nb) == _roles(assignment, filled_exercise(name))


def _renamed(code: str, names: tuple[str, ...], prefix: str) -> str:
    for name in names:
        code = re.sub(rf"^def {name}\(", f"def {prefix}{name}(", code, flags=re.MULTILINE)
    return code


def _delegating(names: tuple[str, ...], prefix: str) -> str:
    return "\n".join(
        f"def {n}(*args, **kwargs):\n    return {prefix}{n}(*args, **kwargs)\n" for n in names
    )


def _ordinary(name: str) -> nbformat.NotebookNode:
    """How students work: each answer delegates to a helper in a cell of their own above it,
    an old attempt (a copy of the answer cell) stays above the final one, and the notebook is
    saved with CRLF, tabs, comments, blank lines and trailing spaces."""
    assignment = _assignment(name)
    code = solution_code(name)
    nb = filled_exercise(name)
    cells = []
    for cell in nb.cells:
        if is_solution(cell):
            exercise = next(
                e for e in assignment.exercises if e.grade_id == nbgrader(cell)["grade_id"]
            )
            cells.append(
                nbformat.v4.new_code_cell(
                    _renamed(code[exercise.grade_id], exercise.names, "_mine_")
                )
            )
            old = nbformat.v4.new_code_cell(
                "\n".join(f"def {n}(*args, **kwargs):\n    return None\n" for n in exercise.names),
                metadata=cell.metadata,
            )
            cells.append(old)
            cell.source = _delegating(exercise.names, "_mine_")
        cells.append(cell)
    nb.cells = cells
    return _reformatted(nb, "all")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_own_cells_and_old_attempts_run_where_they_stand(name):
    assignment = _assignment(name)
    nb = _ordinary(name)
    work = student_work(nb, assignment)
    expected = []
    for exercise in assignment.exercises:  # own helper, old attempt, final answer
        expected += [("own", (exercise.grade_id,)), ("solution", (exercise.grade_id,))] + [
            ("solution", (exercise.grade_id,))
        ]
    roles = _roles(assignment, nb)
    assert [(k, e) for k, e, _ in roles if k in ("own", "solution")] == expected
    assert set(work.duplicates) == {e.grade_id for e in assignment.exercises}
    assert not work.unanswered and copied_exercises(work, assignment) == {}
    for exercise in assignment.exercises:  # all three cells run before the exercise's tests
        first_test = roles.index(("visible", (exercise.grade_id,), exercise.tests[0].grade_id))
        mine = [
            i
            for i, (k, e, _) in enumerate(roles)
            if e == (exercise.grade_id,) and k != "guard" and k in ("own", "solution")
        ]
        assert max(mine) < first_test
