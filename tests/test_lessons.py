"""Lessons 01-03 keep the promises the course makes about them.

nbval re-executes the lessons and compares their key numbers (cells tagged ``nbval-check-output``).
These tests check what nbval cannot: lessons 01 and 02 need no torch, every lesson opens with
learning objectives and ends with a summary, its key numbers really are compared, its figures are
titled and labelled. The "your turn" tasks and their checkers are tested in test_your_turn.py.
"""

import ast

import nbformat
import pytest
from helpers import ROOT

NOTEBOOKS = ROOT / "notebooks"
NUMPY_LESSONS = ["01_bradley_terry.ipynb", "02_numpy_loss.ipynb"]
LESSONS = NUMPY_LESSONS + ["03_pytorch_loss.ipynb"]
CHECK_TAG = "nbval-check-output"


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _imported_modules(nb: nbformat.NotebookNode) -> set[str]:
    modules = set()
    for cell in _code_cells(nb):
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("name", NUMPY_LESSONS)
def test_numpy_lessons_do_not_need_torch(name):
    modules = _imported_modules(_read(name))
    assert "numpy" in modules
    assert "torch" not in modules, f"{name} imports torch; lessons 01-02 must run without it"


def test_pytorch_lesson_uses_the_torch_library():
    modules = _imported_modules(_read("03_pytorch_loss.ipynb"))
    assert {"torch", "rmcourse"} <= modules


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_opens_with_objectives_and_ends_with_a_summary(name):
    nb = _read(name)
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown" and first.source.startswith("# Lesson ")
    assert "**Learning objectives**" in first.source, f"{name} does not open with its objectives"
    assert last.cell_type == "markdown" and last.source.startswith("## Summary"), (
        f"{name} does not end with a summary"
    )


@pytest.mark.parametrize("name", LESSONS)
def test_key_numbers_are_compared_by_nbval(name):
    checked = [c for c in _code_cells(_read(name)) if CHECK_TAG in c.metadata.get("tags", [])]
    assert len(checked) >= 3, f"{name} has only {len(checked)} cells whose output nbval compares"
    for cell in checked:
        streams = [o for o in cell.outputs if o.output_type == "stream"]
        assert streams and all(o.name == "stdout" for o in streams), (
            f"{name}: checked cell {cell.source[:40]!r} must print to stdout and nothing else"
        )


@pytest.mark.parametrize("name", LESSONS)
def test_figures_are_titled_and_labelled(name):
    figure_cells = [
        cell
        for cell in _code_cells(_read(name))
        if any("image/png" in o.get("data", {}) for o in cell.outputs)
    ]
    assert figure_cells, f"{name} draws no figure"
    for cell in figure_cells:
        for word in ("title=", "xlabel=", "ylabel="):
            assert word in cell.source, f"{name}: figure cell {cell.source[:40]!r} lacks {word}"
