"""Exercise 07 (DPO) graded as a submission by `rmcourse grade`: the solution earns full marks,
the untouched exercise earns nothing, and a dpo_loss that forgets the reference fails."""

from __future__ import annotations

import functools

import pytest
from helpers import SOLUTIONS, filled_exercise, grade_submissions, untouched_exercise

from rmcourse.grading.results import SubmissionResult
from rmcourse.grading.source import load_assignment

pytestmark = pytest.mark.slow

SOLUTION = SOLUTIONS / "07_dpo.ipynb"
NO_REFERENCE = """def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
             ref_rejected_logps, beta):
    if not beta > 0:
        raise ValueError("beta")
    return bt_loss(beta * policy_chosen_logps, beta * policy_rejected_logps)
"""


@functools.cache
def _graded() -> dict[str, SubmissionResult]:
    return grade_submissions("07_dpo", {
        "solved": filled_exercise("07_dpo"),
        "untouched": untouched_exercise("07_dpo"),
        "no_reference": filled_exercise("07_dpo", {"dpo_loss": NO_REFERENCE}),
    })  # fmt: skip


def test_the_solution_earns_full_marks():
    assignment = load_assignment(SOLUTION)
    solved = _graded()["solved"]
    assert [(e.exercise, e.points) for e in solved.exercises] == [
        (e.grade_id, e.max_points) for e in assignment.exercises
    ], solved
    # the solution's own longer functions are flagged for review (pasted), keeping their points
    assert {e.status for e in solved.exercises} <= {"passed", "review"}, solved
    assert solved.points == assignment.max_points == 12


def test_the_untouched_exercise_earns_nothing():
    untouched = _graded()["untouched"]
    assert [(e.points, e.status) for e in untouched.exercises] == [(0.0, "unanswered")] * 3


def test_a_loss_without_the_reference_log_probs_fails_its_exercise_only():
    got = {e.exercise: e.points for e in _graded()["no_reference"].exercises}
    assert got["dpo_loss"] == 0 and got["sequence_logprobs"] == 4
