"""Points and status of each exercise, from the results of the planned steps.

A test cell's points are earned when its visible part and its hidden part both ended with an ``ok``
execute reply and no error output, right after a guard call that answered its HMAC challenge;
printed text never counts. Then, per exercise (see :class:`rmcourse.grading.results.Status`):

- ``grader_error``: 0 points when the guard's install, which runs before any student code, did
  not end ``ok`` (every guard call would fail: the grader's fault, not ``tampered``);
- ``copied`` or ``unanswered``: 0 points -- ``copied`` also when the guard reported that an
  exercise's function, or what it calls, is not the code of the notebook's cells
  (:mod:`rmcourse.grading.origin`);
- a solution cell that ran past its time limit or killed its kernel: 0 points, with that status
  (its definitions were replayed, so the later exercises are graded on their own merit);
- else the sum of the earned points, and the status of the most specific problem that cost
  points (a failed guard, the memory cap, a time limit, a dead kernel, a solution cell that
  raised), or ``review`` when a function matches the course library's or the solution's
  (:func:`rmcourse.grading.anticopy.pasted_exercises`), or ``passed`` / ``partial`` / ``failed``.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from rmcourse.grading import feedback
from rmcourse.grading.anticopy import pasted_exercises
from rmcourse.grading.execute import DIED, NOT_RUN, OK, SKIPPED, TIMEOUT, StepResult
from rmcourse.grading.plan import Plan
from rmcourse.grading.results import CheckResult, ExerciseResult, Status, by_points
from rmcourse.grading.source import Assignment, Exercise
from rmcourse.grading.submission import StudentWork


def _problem(result: StepResult) -> Status | None:
    """The status a failed step points to (None: a plain failure)."""
    if result.outcome == TIMEOUT or (result.outcome == NOT_RUN and result.ename == "TimeoutError"):
        return Status.TIMEOUT
    if result.outcome in (DIED, NOT_RUN):
        return Status.KERNEL_DIED
    if result.ename == "MemoryError":
        return Status.MEMORY_LIMIT
    return None


def _sign(plan: Plan, message: str) -> str:
    return hmac.new(plan.key, message.encode(), hashlib.sha256).hexdigest()


def _answer(plan: Plan, index: int, result: StepResult) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """Whether a guard call answered its challenge, and the functions it reported as coming
    from elsewhere than the notebook's cells: ``(name, origin)`` pairs, signed with the key."""
    challenge = plan.challenges[index]
    if result.outcome != OK:
        return False, ()
    if result.result_text == repr(_sign(plan, challenge)):
        return True, ()
    try:
        answer = ast.literal_eval(result.result_text)
        digest, _, text = answer.partition("\n")
        report = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, AttributeError, MemoryError, RecursionError):
        return False, ()
    expected = _sign(plan, f"{challenge}\n{text}")
    if not hmac.compare_digest(digest.encode("utf-8", "replace"), expected.encode()):
        return False, ()
    return True, tuple((str(name), str(where)) for name, where in report)


@dataclass
class _Outcome:
    """What the steps of one exercise said: per test (passed, feedback), problems, notes."""

    tests: dict[str, tuple[bool, str]]
    problems: set[Status]
    notes: list[str]
    crashed: Status | None = None  # a solution cell ran past its time limit or killed its kernel
    foreign: dict[str, str] = field(default_factory=dict)  # what the guard found elsewhere


def _read_steps(
    exercise: Exercise, plan: Plan, results: Sequence[StepResult], cell_timeout: float
) -> _Outcome:
    tests = {test.grade_id: test for test in exercise.tests}
    out = _Outcome({t: (True, "") for t in tests}, set(), [])
    for i, (role, result) in enumerate(zip(plan.roles, results, strict=True)):
        if exercise.grade_id not in role.exercises:
            continue
        if role.kind in ("solution", "own"):
            name = feedback.cell_name(role.kind, role.cell)
            if result.truncated:
                out.notes.append(feedback.truncated_note(name))
            if result.outcome not in (OK, SKIPPED):
                out.notes.append(feedback.cell_failed_note(name, result, cell_timeout))
                problem = _problem(result)
                if role.kind == "solution" and result.outcome in (TIMEOUT, DIED, NOT_RUN):
                    out.crashed = out.crashed or problem
                elif role.kind == "solution":
                    out.problems.add(problem or Status.SOLUTION_ERROR)
            continue
        if not out.tests[role.test][0]:
            continue  # this test already failed
        if role.kind == "visible" and result.truncated:
            out.notes.append(feedback.truncated_note(role.test))
        if role.kind == "guard":
            answered, report = _answer(plan, i, result)
            for where in report:
                out.foreign.setdefault(where[1], where[0])
            if answered:
                continue
            problem = _problem(result)
            out.problems.add(problem or Status.TAMPERED)
            why = feedback.step_failure(result, cell_timeout) if problem else feedback.GUARD_FAILED
            out.tests[role.test] = (False, why)
        elif result.outcome != OK:
            if (problem := _problem(result)) is not None:
                out.problems.add(problem)
            test = tests[role.test]
            why = (
                feedback.hidden_failure(result, test.hidden, test.visible)
                if role.kind == "hidden" and result.outcome not in (TIMEOUT, DIED, NOT_RUN)
                else feedback.step_failure(result, cell_timeout)
            )
            out.tests[role.test] = (False, why)
    return out


def _score_exercise(
    exercise: Exercise,
    out: _Outcome,
    install: StepResult | None,
    work: StudentWork,
    copied: dict[str, str],
    pasted: str,
    secret_lines: frozenset[str],
) -> ExerciseResult:
    """One exercise's points, status, note and checks, from what its steps said (``out``) and
    the guard's install step; ``pasted`` says what a function of the student's matches (the
    course library's or the solution's), for review; feedback quotes no ``secret_lines``."""
    grade_id = exercise.grade_id
    notes = [feedback.withhold_secrets(n, secret_lines) for n in out.notes]
    if grade_id in work.duplicates:
        notes.insert(0, feedback.duplicate_note(work.duplicates[grade_id]))
    if grade_id in work.by_name:
        notes.insert(0, feedback.by_name_note(work.by_name[grade_id], exercise.names))
    zeroed = ""
    if install is not None and install.outcome != OK:  # before any student code: not theirs
        out.problems.add(Status.GRADER_ERROR)
        notes.insert(0, feedback.install_failed_note(install))
        zeroed = "the grader's checks did not start"
    if pasted:
        out.problems.add(Status.REVIEW)
        notes.insert(0, feedback.review_note(pasted))
    if out.foreign:
        out.problems.add(Status.COPIED)
        notes.insert(0, feedback.foreign_note(tuple(out.foreign)))
        zeroed = "the function is not the code of the notebook's cells"
    if grade_id in copied:
        out.problems.add(Status.COPIED)
        notes.insert(0, feedback.copied_note(copied[grade_id]))
        zeroed = "the function comes from rmcourse"
    if grade_id in work.unanswered:
        out.problems.add(Status.UNANSWERED)
        notes.insert(0, feedback.UNANSWERED_NOTE)
    elif out.crashed is not None:
        out.problems.add(out.crashed)
        zeroed = "the solution cell did not finish"
    checks = []
    for test in exercise.tests:
        passed, why = out.tests[test.grade_id]
        if grade_id in work.unanswered:
            passed, why = False, feedback.NOT_ANSWERED
        elif zeroed and passed:
            passed, why = False, feedback.not_counted(zeroed)
        text = "passed" if passed else feedback.withhold_secrets(why, secret_lines)
        checks.append(CheckResult(test.grade_id, test.points if passed else 0.0, test.points, text))
    points = sum(c.points for c in checks)
    status = next(
        (s for s in Status if s in out.problems and s.allows(points, exercise.max_points)),
        by_points(points, exercise.max_points),
    )
    return ExerciseResult(
        grade_id, points, exercise.max_points, status, " ".join(notes), tuple(checks)
    )


def score(
    assignment: Assignment,
    plan: Plan,
    results: Sequence[StepResult],
    work: StudentWork,
    copied: dict[str, str],
    cell_timeout: float,
) -> tuple[ExerciseResult, ...]:
    """Each exercise's points, status, note and checks, in the assignment's order.

    The guard's install is one step for all exercises. ``copied`` maps an exercise whose function
    comes from rmcourse to how (:func:`rmcourse.grading.anticopy.copied_exercises`); a function
    of the student's that matches the course library's or the solution's
    (:func:`rmcourse.grading.anticopy.pasted_exercises`) marks its exercise for review.
    """
    roles = zip(plan.roles, results, strict=True)
    install = next((result for role, result in roles if role.kind == "install"), None)
    pasted = pasted_exercises(work, assignment)
    return tuple(
        _score_exercise(
            exercise,
            _read_steps(exercise, plan, results, cell_timeout),
            install,
            work,
            copied,
            pasted.get(exercise.grade_id, ""),
            plan.secret_lines,
        )
        for exercise in assignment.exercises
    )
