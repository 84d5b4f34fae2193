"""Exercise 07 (DPO) graded as a submission by `rmcourse grade`: the solution earns full marks,
the untouched exercise earns nothing, and a dpo_loss that forgets the reference fails."""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

from rmcourse.grading import command
from rmcourse.grading.execute import Limits
from rmcourse.grading.generate import make_exercise
from rmcourse.grading.grade import SubmissionResult
from rmcourse.grading.source import is_solution, load_assignment, nbgrader

pytestmark = pytest.mark.slow

SOLUTION = Path(__file__).resolve().parents[1] / "solutions" / "07_dpo.ipynb"
LIMITS = Limits(cell_timeout=60, submission_timeout=300)
NO_REFERENCE = '''def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
             ref_rejected_logps, beta):
    if not beta > 0:
        raise ValueError("beta")
    return bt_loss(beta * policy_chosen_logps, beta * policy_rejected_logps)
'''


def _filled(answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
    solution = nbformat.read(SOLUTION, as_version=4)
    code = {nbgrader(c)["grade_id"]: c.source for c in solution.cells if is_solution(c)}
    code.update(answers or {})
    nb = make_exercise(solution)
    for cell in nb.cells:
        if is_solution(cell):
            cell.source = code[nbgrader(cell)["grade_id"]]
    return nb


@functools.cache
def _graded() -> dict[str, SubmissionResult]:
    folder = Path(tempfile.mkdtemp(prefix="grading-07-"))
    nbformat.write(_filled(), folder / "solved.ipynb")
    nbformat.write(make_exercise(nbformat.read(SOLUTION, as_version=4)), folder / "untouched.ipynb")
    nbformat.write(_filled({"dpo_loss": NO_REFERENCE}), folder / "no_reference.ipynb")
    results = command.grade_folder(
        sorted(folder.glob("*.ipynb")), SOLUTION, folder / "gradebook.csv", LIMITS
    )
    shutil.rmtree(folder)
    return {r.student: r for r in results}


def test_the_solution_earns_full_marks():
    assignment = load_assignment(SOLUTION)
    solved = _graded()["solved"]
    assert [(e.exercise, e.points, e.status) for e in solved.exercises] == [
        (e.grade_id, e.max_points, "passed") for e in assignment.exercises
    ], solved
    assert solved.points == assignment.max_points == 12


def test_the_untouched_exercise_earns_nothing():
    untouched = _graded()["untouched"]
    assert [(e.points, e.status) for e in untouched.exercises] == [(0.0, "unanswered")] * 3


def test_a_loss_without_the_reference_log_probs_fails_its_exercise_only():
    got = {e.exercise: e.points for e in _graded()["no_reference"].exercises}
    assert got["dpo_loss"] == 0 and got["sequence_logprobs"] == 4
