"""``rmcourse exercises``: write the student notebooks of ``exercises/`` from ``solutions/``.

Each solution notebook becomes an exercise notebook by four steps: solution blocks become stubs
raising ``NotImplementedError`` with the hint, hidden-test blocks are removed, outputs and execution
counts are cleared, and test cells are tagged ``raises-exception`` (so ``pytest --nbval-lax`` passes
on the shipped exercises: only test cells may fail). The output depends on the input only.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from rmcourse.grading.source import (
    is_solution,
    is_test,
    load_assignment,
    split_hidden,
    stub_solution,
)
from rmcourse.notebooks import clean_notebook

RAISES_TAG = "raises-exception"


def make_exercise(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The exercise notebook of a solution notebook (a new notebook; ``solution`` is unchanged).

    Examples
    --------
    >>> from rmcourse.grading.source import nbgrader_cell
    >>> code = "def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION"
    >>> sol = nbgrader_cell(code, "f", solution=True)
    >>> test = nbgrader_cell(
    ...     "assert f() == 1\\n### BEGIN HIDDEN TESTS\\nassert f() > 0\\n### END HIDDEN TESTS",
    ...     "f_t", points=1)
    >>> nb = make_exercise(nbformat.v4.new_notebook(cells=[sol, test]))
    >>> print(nb.cells[0].source)
    def f():
        # YOUR CODE HERE
        raise NotImplementedError()
    >>> nb.cells[1].source, nb.cells[1].metadata.tags
    ('assert f() == 1', ['raises-exception'])
    """
    nb = clean_notebook(copy.deepcopy(solution))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if is_solution(cell):
            cell.source = stub_solution(cell.source)
        elif is_test(cell):
            cell.source = split_hidden(cell.source)[0]
            tags = cell.metadata.setdefault("tags", [])
            if RAISES_TAG not in tags:
                tags.append(RAISES_TAG)
        cell.outputs = []
        cell.execution_count = None
    return nb


def solution_paths(solutions_dir: Path) -> list[Path]:
    """The solution notebooks (``NN_name.ipynb``) of ``solutions_dir``, sorted by name.

    Examples
    --------
    >>> solution_paths(Path("no-such-folder"))
    Traceback (most recent call last):
    ...
    ValueError: solutions folder no-such-folder does not exist
    """
    solutions_dir = Path(solutions_dir)
    if not solutions_dir.is_dir():
        raise ValueError(f"solutions folder {solutions_dir} does not exist")
    return sorted(solutions_dir.glob("[0-9]*.ipynb"))


def generate_exercises(solutions_dir: Path, out_dir: Path) -> list[Path]:
    """Write one exercise notebook per solution notebook of ``solutions_dir`` into ``out_dir``.

    Every solution notebook is checked against the conventions first (``ValueError`` naming the
    notebook and cell otherwise), so nothing is written from a broken source. Returns the written
    paths, in order.

    Examples
    --------
    >>> import tempfile
    >>> from rmcourse.grading.source import nbgrader_cell
    >>> folder = Path(tempfile.mkdtemp())
    >>> solution = nbformat.v4.new_notebook(cells=[nbgrader_cell(
    ...     "def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION", "f",
    ...     solution=True)])
    >>> nbformat.write(solution, folder / "09_demo.ipynb")
    >>> [path] = generate_exercises(folder, folder / "exercises")
    >>> print(nbformat.read(path, as_version=4).cells[0].source)
    def f():
        # YOUR CODE HERE
        raise NotImplementedError()
    """
    sources = [load_assignment(path) for path in solution_paths(solutions_dir)]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for assignment in sources:
        exercise = make_exercise(assignment.notebook)
        nbformat.validate(exercise)
        path = out_dir / f"{assignment.name}.ipynb"
        nbformat.write(exercise, path)
        written.append(path)
    return written
