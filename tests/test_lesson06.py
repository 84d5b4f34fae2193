"""Lesson 06's exercise graded as a submission: the solution earns full marks, the untouched
exercise nothing, and the central pitfall of each exercise loses its points; the lesson's
your-turn checkers judge answers."""

from __future__ import annotations

import functools
import math

import pytest

from conftest import SOLUTIONS, filled_exercise, grade_submissions, untouched_exercise
from rmcourse.grading.execute import Limits
from rmcourse.grading.source import load_assignment
from rmcourse.quiz import lesson06_tasks as tasks

SOLUTION = SOLUTIONS / "06_best_of_n.ipynb"
LIMITS = Limits(cell_timeout=60, submission_timeout=300)
PITFALLS = {
    # log n alone: the − (n − 1)/n term forgotten
    "bon_kl": "def bon_kl(n):\n    if n < 1:\n        raise ValueError(n)\n"
              "    return float(np.log(n))\n",
    # the argmax over prompts instead of over each prompt's answers
    "best_of_n": "def best_of_n(candidates, scores):\n"
                 "    return [candidates[i][0] for i in np.argmax(scores, axis=0)]\n",
}


@functools.cache
def _graded():
    results = grade_submissions("06_best_of_n", {
        "solved": filled_exercise("06_best_of_n"),
        "untouched": untouched_exercise("06_best_of_n"),
        "pitfalls": filled_exercise("06_best_of_n", PITFALLS),
    }, LIMITS)  # fmt: skip
    return load_assignment(SOLUTION), results


@pytest.mark.slow
def test_the_solution_earns_full_marks():
    assignment, results = _graded()
    solved = results["solved"]
    assert [(e.exercise, e.points) for e in solved.exercises] == [
        (e.grade_id, e.max_points) for e in assignment.exercises
    ], solved
    # the solution's own longer functions are flagged for review (pasted), keeping their points
    assert {e.status for e in solved.exercises} <= {"passed", "review"}, solved
    assert solved.points == assignment.max_points == 11


@pytest.mark.slow
def test_the_untouched_exercise_earns_nothing():
    assignment, results = _graded()
    assert [(e.points, e.status) for e in results["untouched"].exercises] == [
        (0.0, "unanswered")
    ] * len(assignment.exercises)


@pytest.mark.slow
def test_the_central_pitfalls_lose_their_points():
    _, results = _graded()
    by_id = {e.exercise: e for e in results["pitfalls"].exercises}
    assert by_id["bon_kl"].points == 0.0
    assert by_id["best_of_n"].points == 0.0
    assert by_id["gold_curve"].points == 5.0  # the third exercise is the solution's
    feedback = " ".join(str(e) for e in results["pitfalls"].exercises)
    assert "the − (n − 1)/n term is missing" in feedback
    assert "axis=1" in feedback


# ----- the lesson's your-turn checkers


def test_unanswered_tasks_say_so():
    for task_id in tasks.TASKS:
        result = tasks.check(task_id, ...)
        assert result.status == "unanswered" and "not answered yet" in str(result)


@pytest.mark.parametrize(
    ("task_id", "right", "wrong", "hint"),
    [("06-kl-best-of-16", math.log(16) - 15 / 16, math.log(16), "(n − 1)/n term is missing"),
     ("06-kl-best-of-16", 1.8351, 3.0, "natural log"),
     ("06-filler-logit", 0.4, -0.4, "r*'s view alone"),
     ("06-filler-logit", 0.4, 0.8, "length bias alone"),
     ("06-first-to-peak", "a", "c", "over-rates"),
     ("06-shared-bias", "c", "b", "least of them")],
)  # fmt: skip
def test_checkers_judge_the_answer(task_id, right, wrong, hint):
    assert tasks.check(task_id, right).correct
    result = tasks.check(task_id, wrong)
    assert result.status == "wrong" and hint in result.message
    if isinstance(right, float):  # the hint does not give the answer away
        assert f"{right:.2f}".rstrip("0") not in result.message


def test_checkers_reject_answers_of_the_wrong_kind():
    with pytest.raises(TypeError):
        tasks.check("06-kl-best-of-16", "1.8")
    with pytest.raises(ValueError, match="options are"):
        tasks.check("06-shared-bias", "e")
    with pytest.raises(ValueError, match="no task"):
        tasks.check("06-nope", 1.0)
