"""Lesson 07 (DPO): three your-turn tasks, each committed unanswered with its answer behind a
reveal; the quiz cell shows the DPO questions; the key cells keep their checked outputs."""

import re
from pathlib import Path

import nbformat
import pytest

from rmcourse.quiz import tasks

LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "07_dpo.ipynb"
CHECK_CALL = re.compile(r"tasks\.check\(\s*\"([0-9a-z-]+)\"")


@pytest.fixture(scope="module")
def cells():
    return nbformat.read(LESSON, as_version=4).cells


def test_three_your_turn_tasks_committed_unanswered_with_a_reveal(cells):
    found = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or "your-turn" not in cell.metadata.get("tags", []):
            continue
        (task_id,) = CHECK_CALL.findall(cell.source)
        assert task_id.startswith("07-") and task_id in tasks.TASKS
        text = "".join(
            o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs
        )
        assert f"{task_id}: not answered yet" in text
        reveal = next(c for c in cells[i + 1 :] if c.cell_type == "markdown").source
        assert "<details>" in reveal and "</details>" in reveal
        task = tasks.task_by_id(task_id)
        if isinstance(task, tasks.ChoiceTask):
            assert f"({task.answer})" in reveal
        found.append(task_id)
    assert found == ["07-shifted-reward", "07-first-dpo-loss", "07-largest-kl"]


def test_the_lesson_shows_the_dpo_quiz_and_has_objectives_and_a_summary(cells):
    assert any('quiz.show("dpo")' in c.source for c in cells if c.cell_type == "code")
    assert "Learning objectives" in cells[0].source
    assert any(c.source.startswith("## Summary") for c in cells if c.cell_type == "markdown")


def test_every_code_cell_ran_without_error_and_key_cells_are_checked(cells):
    code = [c for c in cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "commit the lesson executed"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    checked = [c for c in code if "nbval-check-output" in c.metadata.get("tags", [])]
    assert len(checked) >= 6 and all(c.outputs for c in checked)
