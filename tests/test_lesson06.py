"""Lesson 06's exercise graded as a submission: the solution earns full marks, the untouched
exercise nothing, and the central pitfall of each exercise loses its points; the lesson's
your-turn checkers judge answers."""

from __future__ import annotations

import functools
import math

import pytest
from helpers import SOLUTIONS, filled_exercise, grade_submissions, untouched_exercise

from rmcourse import tasks
from rmcourse.grading.source import load_assignment

SOLUTION = SOLUTIONS / "06_best_of_n.ipynb"
PITFALLS = {
    # log n alone: the − (n − 1)/n term forgotten
    "bon_kl": "def bon_kl(n):\n    if n < 1:\n        raise ValueError(n)\n"
    "    return float(np.log(n))\n",
    # the argmax over prompts instead of over each prompt's answers
    "best_of_n": "def best_of_n(candidates, scores):\n"
    "    return [candidates[i][0] for i in np.argmax(scores, axis=0)]\n",
    # the answer of best GOLD kept in each group: best-of-n never sees the gold reward
    "gold_curve": "def bon_gold_curve(proxy, gold, ns):\n"
    "    proxy, gold = np.asarray(proxy, float), np.asarray(gold, float)\n"
    "    P, N = proxy.shape\n"
    "    out = {'n': np.array(ns), 'kl': np.array([bon_kl(n) for n in ns]),\n"
    "           'gold': np.empty(len(ns)), 'proxy': np.empty(len(ns))}\n"
    "    for j, n in enumerate(ns):\n"
    "        g = N // n\n"
    "        p = proxy[:, :g * n].reshape(P, g, n)\n"
    "        q = gold[:, :g * n].reshape(P, g, n)\n"
    "        k = np.argmax(q, axis=2)[..., None]\n"
    "        out['gold'][j] = np.take_along_axis(q, k, 2).mean()\n"
    "        out['proxy'][j] = np.take_along_axis(p, k, 2).mean()\n"
    "    return out\n",
}


@functools.cache
def _graded():
    results = grade_submissions("06_best_of_n", {
        "solved": filled_exercise("06_best_of_n"),
        "untouched": untouched_exercise("06_best_of_n"),
        "pitfalls": filled_exercise("06_best_of_n", PITFALLS),
    })  # fmt: skip
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
    assert by_id["gold_curve"].points == 0.0
    feedback = " ".join(str(e) for e in results["pitfalls"].exercises)
    assert "the − (n − 1)/n term is missing" in feedback
    assert "axis=1" in feedback
    assert "best-of-n never sees the gold reward" in feedback


# ----- the lesson's your-turn checkers


def test_unanswered_tasks_say_so():
    for task_id in [t for t in tasks.load_tasks() if t.startswith("06-")]:
        result = tasks.check(task_id, ...)
        assert result.status == "unanswered" and "not answered yet" in str(result)


@pytest.mark.parametrize(
    ("task_id", "right", "wrong", "hint"),
    [("06-1", math.log(16) - 15 / 16, math.log(16), "(n − 1)/n term is missing"),
     ("06-1", 1.8351, 3.0, "natural log"),
     ("06-3", 0.4, -0.4, "r*'s view alone"),
     ("06-3", 0.4, 0.8, "length bias alone"),
     ("06-2", "b", "a", "from what height"),
     ("06-2", "b", "c", "far apart or close"),
     ("06-4", "d", "a", "their mean"),
     ("06-4", "d", "b", "least of them"),
     ("06-4", "d", "c", "disagreement")],
)  # fmt: skip
def test_checkers_judge_the_answer(task_id, right, wrong, hint):
    assert tasks.check(task_id, right).correct
    result = tasks.check(task_id, wrong)
    assert result.status == "wrong" and hint in result.message
    if isinstance(right, float):  # the hint does not give the answer away
        assert f"{right:.2f}".rstrip("0") not in result.message


def test_the_kl_of_best_of_16_counts_with_its_terms_rounded_first():
    # log 16 − 15/16 = 1.8351; 2.77 − 0.94 = 1.83 rounds each term first and is right too
    assert tasks.check("06-1", 1.83).correct
    assert tasks.check("06-1", 1.84).correct
    assert not tasks.check("06-1", 1.82).correct


def test_answers_of_the_wrong_kind_get_one_line_saying_what_to_give():
    quoted = tasks.check("06-1", "1.8")
    assert quoted.status == "invalid" and "without quotes" in quoted.message
    unknown = tasks.check("06-4", "e")
    assert unknown.status == "invalid" and "has no option 'e'" in unknown.message
    with pytest.raises(ValueError, match="no task"):
        tasks.check("06-nope", 1.0)
