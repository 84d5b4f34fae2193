"""Every solution notebook graded as a submission: full marks for the solutions, zero for the
untouched exercises, and (lesson 03) torch monkey-patches that earn nothing. Lesson 02's
corpus of broken and adversarial submissions is in test_grading_corpus.py; honest work of every
kind, graded against what the solution earns, in test_grading_fairness.py."""

from __future__ import annotations

import functools

import pytest
from helpers import (
    SOLUTIONS,
    assignment_names,
    filled_exercise,
    grade_submissions,
    untouched_exercise,
)

from rmcourse.grading.anticopy import pasted_exercises
from rmcourse.grading.results import SubmissionResult
from rmcourse.grading.source import Assignment, load_assignment
from rmcourse.grading.submission import student_work

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

ASSIGNMENTS = assignment_names()  # every solution notebook, present and future
TORCH_PATCHES = (
    "import torch\n"
    "torch.allclose = lambda *a, **k: True\n"
    "torch.Tensor.__eq__ = lambda a, b: True\n"
    "torch.Tensor.item = lambda self: 0.0\n"
    "torch.testing.assert_close = lambda *a, **k: None\n"
    "def ranking_loss(rewards):\n"
    "    return torch.zeros(())\n"
)


@functools.cache
def _graded(name: str) -> tuple[Assignment, dict[str, SubmissionResult]]:
    """Grade the solved, the untouched and (lesson 03) a torch-patching submission of ``name``."""
    notebooks = {"solved": filled_exercise(name), "untouched": untouched_exercise(name)}
    if name == "03_pytorch_loss":
        notebooks["torch_cheat"] = filled_exercise(name, {"ranking_loss": TORCH_PATCHES})
    return load_assignment(SOLUTIONS / f"{name}.ipynb"), grade_submissions(name, notebooks)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_solution_earns_full_marks(name):
    assignment, results = _graded(name)
    solved = results["solved"]
    # the solution's own longer functions are recognised as pasted: status review, full points
    pasted = pasted_exercises(student_work(filled_exercise(name), assignment), assignment)
    assert [(e.exercise, e.points, e.status) for e in solved.exercises] == [
        (e.grade_id, e.max_points, "review" if e.grade_id in pasted else "passed")
        for e in assignment.exercises
    ], solved
    assert solved.points == assignment.max_points > 0


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_untouched_exercise_earns_nothing(name):
    assignment, results = _graded(name)
    assert [(e.points, e.status) for e in results["untouched"].exercises] == [
        (0.0, "unanswered")
    ] * len(assignment.exercises)


def test_torch_monkey_patches_earn_nothing():
    _, results = _graded("03_pytorch_loss")
    got = {e.exercise: (e.points, e.status) for e in results["torch_cheat"].exercises}
    assert got == {
        "accuracy": (3, "passed"),
        "bt_loss": (6, "review"),  # the solution's code: recognised as pasted
        "ranking_loss": (0, "failed"),
    }
