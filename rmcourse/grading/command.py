"""``rmcourse grade SUBMISSIONS_DIR --assignment NAME``: the instructors' one command.

Grades every ``*.ipynb`` of the folder (file stem = student id) against
``solutions/NAME.ipynb``, one fresh kernel per submission (see :mod:`rmcourse.grading.grade`),
shows a progress bar over students, records each student as soon as they are graded (see
:mod:`rmcourse.grading.gradebook`) and ends with a summary table.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from rmcourse.grading.execute import Limits
from rmcourse.grading.grade import SubmissionResult, grade_submission, zero_result
from rmcourse.grading.gradebook import read_rows, record
from rmcourse.grading.source import load_assignment

# A submission may use this many cell timeouts in all (and at least a minute).
SUBMISSION_TIMEOUTS = 10


def summary_table(results: Sequence[SubmissionResult]) -> str:
    """A plain-text table: student, total, max, status.

    Examples
    --------
    >>> from rmcourse.grading.grade import ExerciseResult
    >>> r = SubmissionResult("ann", "a", (ExerciseResult("f", 1.5, 2.0, "partial", "", ()),))
    >>> print(summary_table([r]))
    student  total  max  status
    ann        1.5    2  partial
    """
    rows = [("student", "total", "max", "status")]
    rows += [(r.student, f"{r.points:g}", f"{r.max_points:g}", r.status) for r in results]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{s:<{width[0]}}  {t:>{width[1]}}  {m:>{width[2]}}  {status}" for s, t, m, status in rows
    )


def grade_folder(
    submissions: Sequence[Path], solution: Path, out: Path, limits: Limits
) -> list[SubmissionResult]:
    """Grade each submission and record it in the gradebook ``out`` before the next one.

    A submission that breaks the grader itself is recorded as ``grader_error`` and grading goes
    on; an interrupt (Ctrl-C) stops after the students already recorded.

    Examples
    --------
    >>> import tempfile, rmcourse
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "cid.ipynb").write_text("{}")
    >>> solution = Path(rmcourse.__file__).parents[1] / "solutions" / "02_numpy_loss.ipynb"
    >>> [r] = grade_folder([folder / "cid.ipynb"], solution, folder / "g.csv", Limits())
    >>> r.status, (folder / "g.csv").exists()
    ('not_a_notebook', True)
    """
    assignment = load_assignment(solution)
    results = []
    for path in tqdm(submissions, desc=f"grading {assignment.name}", unit="student"):
        try:
            result = grade_submission(path, assignment, limits)
        except Exception as exc:  # one student's problem must not stop the class
            result = zero_result(
                path.stem, assignment, "grader_error", f"{type(exc).__name__}: {exc}"
            )
        record(out, result)
        results.append(result)
    return results


def grade_command(
    submissions_dir: Path, assignment: str, solutions_dir: Path, out: Path, timeout: float
) -> int:
    """The ``rmcourse grade`` command; returns its exit status (2 for bad arguments).

    Parameters
    ----------
    submissions_dir : Path
        Folder of ``*.ipynb`` files, one per student (file stem = student id).
    assignment : str
        Stem of the solution notebook in ``solutions_dir``, e.g. ``02_numpy_loss``.
    solutions_dir : Path
        Folder of the solution notebooks.
    out : Path
        The gradebook CSV; its JSON twin and ``feedback/`` are written beside it.
    timeout : float
        Seconds per cell; a submission gets ``SUBMISSION_TIMEOUTS`` times that (at least 60).

    Examples
    --------
    >>> grade_command(Path("."), "99_none", Path("solutions"), Path("g.csv"), 30.0)
    2
    """
    submissions_dir, solution = Path(submissions_dir), Path(solutions_dir) / f"{assignment}.ipynb"
    problem = ""
    if not solution.is_file():
        found = sorted(p.stem for p in Path(solutions_dir).glob("*.ipynb"))
        problem = f"no solution notebook {solution} (assignments: {', '.join(found) or 'none'})"
    elif not submissions_dir.is_dir():
        problem = f"submissions folder {submissions_dir} does not exist"
    if problem:
        print(f"rmcourse grade: error: {problem}", file=sys.stderr)
        return 2
    submissions = sorted(submissions_dir.glob("*.ipynb"))
    ignored = sorted(p.name for p in submissions_dir.iterdir() if p.suffix != ".ipynb")
    if ignored:
        print(f"ignored (not .ipynb): {', '.join(ignored)}", file=sys.stderr)
    if not submissions:
        print(f"rmcourse grade: error: no .ipynb files in {submissions_dir}", file=sys.stderr)
        return 2
    try:
        read_rows(Path(out))  # an existing file must be a gradebook before anyone is graded
        limits = Limits(
            cell_timeout=timeout, submission_timeout=max(60.0, SUBMISSION_TIMEOUTS * timeout)
        )
        results = grade_folder(submissions, solution, Path(out), limits)
    except ValueError as exc:
        print(f"rmcourse grade: error: {exc}", file=sys.stderr)
        return 2
    print(summary_table(results))
    print(
        f"\ngradebook: {out} (feedback per check: {Path(out).with_suffix('.json')}, "
        f"pages for students: {Path(out).parent / 'feedback' / assignment})"
    )
    return 0
