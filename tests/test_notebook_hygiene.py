"""Committed notebooks are in the state students and CI rely on.

Lessons (notebooks/) are committed executed top to bottom, so they read rendered; solutions/ and
exercises/ are committed without outputs. None carries widget state or volatile metadata.
"""

from pathlib import Path

import nbformat
import pytest
from helpers import ROOT

from rmcourse.notebooks import (
    ANSWER_REVEAL_TAG,
    VOLATILE_CELL_METADATA,
    VOLATILE_NOTEBOOK_METADATA,
    WIDGET_VIEW_MIME,
)

LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOURCES = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted(
    (ROOT / "exercises").glob("*.ipynb")
)
ALL = LESSONS + SOURCES


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_notebook_is_valid_and_free_of_volatile_metadata(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    stale = [key for key in VOLATILE_NOTEBOOK_METADATA if key in nb.metadata]
    assert not stale, f"{path.name} carries notebook metadata {stale}: run `make notebooks`"
    for index, cell in enumerate(nb.cells):
        volatile = [key for key in VOLATILE_CELL_METADATA if key in cell.metadata]
        assert not volatile, f"{path.name} cell {index} carries volatile metadata {volatile}"
        for output in cell.get("outputs", []):
            assert WIDGET_VIEW_MIME not in output.get("data", {}), (
                f"{path.name} cell {index} shows a widget whose state is not saved"
            )


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lesson_is_committed_executed_in_order(path):
    nb = nbformat.read(path, as_version=4)
    counts = [cell.execution_count for cell in _code_cells(nb) if cell.source.strip()]
    assert counts, f"{path.name} has no code"
    assert None not in counts, f"{path.name} has cells never run: run `make notebooks`"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name} was not executed top to bottom in one kernel (execution counts {counts})"
    )
    errors = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and "raises-exception" not in cell.metadata.get("tags", [])
        and any(output.output_type == "error" for output in cell.outputs)
    ]
    assert not errors, f"{path.name} has error outputs in cells {errors}"


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_cells_that_reveal_a_task_answer_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    shown = [
        index
        for index, cell in enumerate(nb.cells)
        if ANSWER_REVEAL_TAG in cell.metadata.get("tags", []) and cell.get("outputs")
    ]
    assert not shown, (
        f"{path.name}: cells {shown} tagged {ANSWER_REVEAL_TAG!r} show their "
        "output: run `make notebooks` (rmcourse refresh strips it)"
    )
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        assert not (ANSWER_REVEAL_TAG in tags and "nbval-check-output" in tags), (
            f"{path.name}: a cell without committed output cannot be compared by nbval"
        )


def test_the_lessons_use_the_answer_reveal_tag():
    tagged = {
        path.name
        for path in LESSONS
        if any(
            ANSWER_REVEAL_TAG in cell.metadata.get("tags", [])
            for cell in nbformat.read(path, as_version=4).cells
        )
    }
    assert {"01_bradley_terry.ipynb", "08_trl.ipynb"} <= tagged, tagged


@pytest.mark.parametrize("path", SOURCES, ids=_ids(SOURCES))
def test_exercise_sources_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(_code_cells(nb)):
        assert cell.execution_count is None and not cell.outputs, (
            f"{path.name} code cell {index} has outputs: exercise notebooks are committed cleared"
        )


def test_the_lessons_are_numbered_in_order():
    stems = [p.stem for p in LESSONS]
    assert len(stems) >= 5, stems
    assert [s[:2] for s in stems] == [f"{i:02d}" for i in range(1, len(stems) + 1)], stems
