"""What grading produces: a status per (student, exercise) row and the result types.

Every status says what it means for the row's points (:meth:`Status.allows`), and a result whose
points contradict its status cannot be made:

- ``not_a_notebook``, ``empty`` (the file), ``grader_error`` (the grader broke on this file),
  ``copied`` (a function the exercise asks for comes from rmcourse, or is not the code of the
  notebook's cells), ``unanswered`` (no code for the exercise): the row has 0 points;
- ``tampered`` (a test's guard call did not answer), ``memory_limit``, ``timeout``,
  ``kernel_died`` (a test or the student's cell hit the memory cap, a time limit, or killed its
  kernel), ``solution_error`` (the exercise's solution cell raised): points were lost through
  that problem, so the row has fewer than its maximum;
- ``review`` (a function matches the course library's or the solution's beyond what a short
  answer shares: pasted, for the instructor to judge): the points the tests gave;
- ``passed`` (all points), ``partial`` (some), ``failed`` (none, for nothing worse than wrong
  results).

A row shows the first status of this order that applies; a student's status is ``ok`` when every
row passed, else the distinct other statuses of their rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    """The status of one (student, exercise) row, most specific first."""

    NOT_A_NOTEBOOK = "not_a_notebook"
    EMPTY = "empty"
    GRADER_ERROR = "grader_error"
    COPIED = "copied"
    UNANSWERED = "unanswered"
    TAMPERED = "tampered"
    MEMORY_LIMIT = "memory_limit"
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel_died"
    SOLUTION_ERROR = "solution_error"
    REVIEW = "review"
    PASSED = "passed"
    PARTIAL = "partial"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @property
    def zeroes_points(self) -> bool:
        """Whether a row with this status always has 0 points."""
        return self in _ZERO

    def allows(self, points: float, max_points: float) -> bool:
        """Whether ``points`` of ``max_points`` agree with this status.

        Examples
        --------
        >>> Status.PASSED.allows(3, 3), Status.MEMORY_LIMIT.allows(3, 3)
        (True, False)
        >>> Status.COPIED.allows(0, 3), Status.TIMEOUT.allows(1, 3), Status.FAILED.allows(1, 3)
        (True, True, False)
        >>> Status.REVIEW.allows(3, 3), Status.REVIEW.allows(0, 3)
        (True, True)
        """
        if not 0 <= points <= max_points:
            return False
        if self is Status.REVIEW:
            return True
        if self in _ZERO or self is Status.FAILED:
            return points == 0 and (self is not Status.FAILED or max_points > 0)
        if self is Status.PASSED:
            return points == max_points
        return points < max_points and (self is not Status.PARTIAL or points > 0)


_ZERO = frozenset(
    {Status.NOT_A_NOTEBOOK, Status.EMPTY, Status.GRADER_ERROR, Status.COPIED, Status.UNANSWERED}
)


def by_points(points: float, max_points: float) -> Status:
    """``passed``, ``partial`` or ``failed``: the status of a row with no problem but its results.

    Examples
    --------
    >>> by_points(2, 2), by_points(1, 2), by_points(0, 2)
    (<Status.PASSED: 'passed'>, <Status.PARTIAL: 'partial'>, <Status.FAILED: 'failed'>)
    """
    if points == max_points:
        return Status.PASSED
    return Status.PARTIAL if points > 0 else Status.FAILED


@dataclass(frozen=True)
class CheckResult:
    """One test cell's outcome for one student; ``feedback`` is safe to show the student."""

    test: str
    points: float
    max_points: float
    feedback: str

    @property
    def passed(self) -> bool:
        """Whether the test earned its points."""
        return self.points == self.max_points


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise's points, status, note and per-test results for one student.

    Examples
    --------
    >>> ExerciseResult("f", 2.0, 2.0, Status.TIMEOUT, "", ())
    Traceback (most recent call last):
    ...
    ValueError: exercise 'f': status timeout contradicts 2 of 2 points
    """

    exercise: str
    points: float
    max_points: float
    status: Status
    note: str
    checks: tuple[CheckResult, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        if not self.status.allows(self.points, self.max_points):
            raise ValueError(
                f"exercise {self.exercise!r}: status {self.status} contradicts "
                f"{self.points:g} of {self.max_points:g} points"
            )


@dataclass(frozen=True)
class SubmissionResult:
    """A student's graded submission; ``box`` is the box its kernels ran in (``none``: none)."""

    student: str
    assignment: str
    exercises: tuple[ExerciseResult, ...]
    box: str = "none"

    @property
    def points(self) -> float:
        """Total points earned."""
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        """Total points available."""
        return sum(e.max_points for e in self.exercises)

    @property
    def status(self) -> str:
        """``ok`` when every exercise passed, else the distinct other statuses, ``+``-joined.

        Examples
        --------
        >>> rows = (ExerciseResult("f", 0.0, 1.0, "timeout", "", ()),
        ...         ExerciseResult("g", 0.0, 1.0, "copied", "", ()))
        >>> SubmissionResult("ann", "01", rows).status
        'copied+timeout'
        """
        bad = {e.status for e in self.exercises} - {Status.PASSED}
        return "+".join(s.value for s in Status if s in bad) or "ok"


def zero_result(
    student: str, assignment: str, exercises: dict[str, float], status: Status, note: str
) -> SubmissionResult:
    """0 points and ``status`` for every exercise (exercise -> max points) of a file not graded.

    Examples
    --------
    >>> zero_result("bob", "01", {"f": 2.0}, Status.EMPTY, "an empty file").points
    0.0
    """
    return SubmissionResult(
        student,
        assignment,
        tuple(ExerciseResult(e, 0.0, m, status, note, ()) for e, m in exercises.items()),
    )
