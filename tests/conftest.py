"""Fixtures, paths and helpers shared by the test files."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import torch

from rmcourse.data import PreferenceWorld
from rmcourse.grading.generate import make_exercise
from rmcourse.grading.source import is_solution, nbgrader

# The tests' models are tiny: one thread is faster than two, and leaves the other core to a
# second pytest worker (make test and make test-fast run two).
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
"""The repository's root folder (notebooks/, solutions/, exercises/ live there)."""

SOLUTIONS = ROOT / "solutions"


@pytest.fixture(scope="session")
def world() -> PreferenceWorld:
    """The colour world every lesson uses (seed 0)."""
    return PreferenceWorld(seed=0)


def assignment_names() -> list[str]:
    """The stems of every solution notebook, in order (e.g. ``02_numpy_loss``)."""
    return sorted(path.stem for path in SOLUTIONS.glob("[0-9]*.ipynb"))


def solution_code(name: str) -> dict[str, str]:
    """grade_id -> code of each solution cell of ``solutions/NAME.ipynb``."""
    nb = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    return {nbgrader(cell)["grade_id"]: cell.source for cell in nb.cells if is_solution(cell)}


def filled_exercise(
    name: str, answers: dict[str, str | None] | None = None
) -> nbformat.NotebookNode:
    """The exercise notebook of ``solutions/NAME.ipynb`` filled in with the solution code,
    ``answers`` (grade_id -> code) replacing it, or deleting the cell where the code is None."""
    nb = make_exercise(nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4))
    code = {**solution_code(name), **(answers or {})}
    cells = []
    for cell in nb.cells:
        if is_solution(cell):
            if code[nbgrader(cell)["grade_id"]] is None:
                continue
            cell.source = code[nbgrader(cell)["grade_id"]]
        cells.append(cell)
    nb.cells = cells
    return nb
