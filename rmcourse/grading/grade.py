"""Grading one submitted notebook against an assignment, in six steps.

1. :func:`~rmcourse.grading.submission.read_submission` -- an empty file or one that is not a
   notebook gets that status and 0 points;
2. :func:`~rmcourse.grading.submission.student_work` -- the student's cells: solution cells by
   ``grade_id`` (or by function name when the metadata is lost) and the cells they added; the
   instructor's cells always come from the source;
3. :func:`~rmcourse.grading.anticopy.copied_exercises` -- the anti-copy rule;
4. :func:`~rmcourse.grading.plan.plan` -- the cells to run, with a guard call before every test;
5. :func:`~rmcourse.grading.execute.run_steps` -- a fresh kernel in a box
   (:mod:`~rmcourse.grading.box`) that sees only a scratch copy of the submission, under time,
   memory and output limits; a dead or hung kernel is replaced and the student's cells replayed;
6. :func:`~rmcourse.grading.verdict.score` -- points, status and feedback per exercise.

What the grader defends against, and what it does not, is written up in ``docs/grading.md``.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rmcourse.grading.anticopy import copied_exercises
from rmcourse.grading.box import NO_BOX, remove_tree, resolve
from rmcourse.grading.execute import Limits, run_steps
from rmcourse.grading.plan import plan
from rmcourse.grading.results import Status, SubmissionResult, zero_result
from rmcourse.grading.source import Assignment
from rmcourse.grading.submission import read_submission, student_work
from rmcourse.grading.verdict import score

LOG = logging.getLogger(__name__)


def ungraded(student: str, assignment: Assignment, status: Status, note: str) -> SubmissionResult:
    """0 points and ``status`` on every exercise of ``assignment`` (a file that was not graded)."""
    points = {e.grade_id: e.max_points for e in assignment.exercises}
    return zero_result(student, assignment.name, points, status, note)


def _fresh_scratch(path: Path, top: Path) -> Callable[[], None]:
    """What runs before every kernel start: ``top/work``, the kernel's only writable host
    folder, becomes a folder holding just a copy of the submission (never ``path`` itself).
    What an earlier kernel left there (a planted ``numpy.py`` or config file that a new
    kernel's start-up or setup cell would load before the guard) is moved aside, out of the
    box's sight, and removed with ``top`` at the end."""
    starts = itertools.count()

    def fresh() -> None:
        workdir = top / "work"
        if os.path.lexists(workdir):
            workdir.rename(top / f"left-by-kernel-{next(starts)}")
        workdir.mkdir()
        shutil.copyfile(path, workdir / path.name)

    return fresh


def grade_submission(path: Path, assignment: Assignment, limits: Limits) -> SubmissionResult:
    """Grade the notebook at ``path`` (file stem = student id) in a scratch folder.

    Parameters
    ----------
    path : Path
        The submitted file (any content: broken files get a status, not an exception).
    assignment : Assignment
        The parsed solution notebook (:func:`~rmcourse.grading.source.load_assignment`).
    limits : Limits
        Time, memory and output limits of the kernel.

    Returns
    -------
    SubmissionResult
        Points, status, notes and per-test feedback of every exercise.

    Examples
    --------
    >>> import nbformat
    >>> from rmcourse.grading.source import nbgrader_cell, parse_assignment
    >>> assignment = parse_assignment("09_demo", nbformat.v4.new_notebook(cells=[
    ...     nbgrader_cell("def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION",
    ...                   "f", solution=True),
    ...     nbgrader_cell("assert f() == 1", "f_test", points=2)]))
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "bob.ipynb").write_text("")
    >>> result = grade_submission(folder / "bob.ipynb", assignment, Limits())
    >>> result.student, result.points, result.max_points, result.status
    ('bob', 0.0, 2.0, 'empty')
    """
    path = Path(path)
    limits = replace(limits, box=resolve(limits.box))
    boxed = limits.box or NO_BOX
    submission, problem, note = read_submission(path)  # 1
    if submission is None:
        return replace(ungraded(path.stem, assignment, Status(problem), note), box=boxed)
    work = student_work(submission, assignment)  # 2
    copied = copied_exercises(work, assignment)  # 3
    steps = plan(assignment, work)  # 4
    top = Path(tempfile.mkdtemp(prefix="rmcourse-grade-"))  # private (0700), not in the box
    try:
        results = run_steps(  # 5
            steps.steps, top / "work", limits, before_start=_fresh_scratch(path, top)
        )
    finally:
        problem = remove_tree(top)
        if problem:  # the grade stands: a cleanup problem is the grading machine's
            LOG.warning("rmcourse grade: scratch folder of %s: %s", path.name, problem)
    exercises = score(assignment, steps, results, work, copied, limits.cell_timeout)  # 6
    return SubmissionResult(path.stem, assignment.name, exercises, box=boxed)
