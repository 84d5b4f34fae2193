"""``rmcourse grade SUBMISSIONS_DIR --assignment NAME``: the instructors' one command.

Grades every ``*.ipynb`` of the folder (file stem = student id) against ``NAME.ipynb`` of the
course's ``solutions/`` folder, ``--jobs`` submissions at once (one fresh kernel each, see
:mod:`rmcourse.grading.grade`), shows a progress bar counting the students graded, records each
student as soon as they are graded (see :mod:`rmcourse.grading.gradebook`) and ends with a summary
table. The results do not depend on ``--jobs``: each submission is graded alone, and the
gradebook is kept sorted by student.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from rmcourse.grading import box
from rmcourse.grading.execute import Limits
from rmcourse.grading.grade import grade_submission, ungraded
from rmcourse.grading.gradebook import read_rows, record
from rmcourse.grading.results import Status, SubmissionResult
from rmcourse.grading.source import Assignment, load_assignment
from rmcourse.grading.worker import start as start_worker

# A submission may use this many cell timeouts in all (and at least a minute).
SUBMISSION_TIMEOUTS = 10


def cpu_count() -> int:
    """The CPUs this process may run on: the default number of ``--jobs``."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def summary_table(results: Sequence[SubmissionResult]) -> str:
    """A plain-text table: student, total, max, status.

    Examples
    --------
    >>> from rmcourse.grading.results import ExerciseResult
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


def _grade_one(path: Path, assignment: Assignment, limits: Limits) -> SubmissionResult:
    """Grade one file; a submission that breaks the grader itself is a ``grader_error``."""
    try:
        return grade_submission(path, assignment, limits)
    except Exception as exc:  # one student's problem must not stop the class
        note = f"{type(exc).__name__}: {exc}"
        return replace(ungraded(path.stem, assignment, Status.GRADER_ERROR, note), box=_box(limits))


def _box(limits: Limits) -> str:
    return limits.box or box.NO_BOX


def _in_worker(grade: Callable[[Path], SubmissionResult], path: Path) -> SubmissionResult:
    """``grade(path)`` in a pool worker; after a SIGTERM has unwound it (kernel shut down), the
    worker ends instead of taking the next submission from the pool's queue."""
    try:
        return grade(path)
    except SystemExit:
        os._exit(1)


# Seconds a worker gets, after each of two SIGTERMs, to shut its kernel down; then SIGKILL.
STOP_GRACE_S = 10.0


def _stop(workers: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """End ``workers``: SIGTERM unwinds their grading (kernels shut down, scratch removed); sent
    twice, since Python drops an exception a signal handler raises inside an at-fork callback
    or a ``__del__`` (a SIGTERM that lands while a worker starts a kernel is lost); then SIGKILL
    (their kernels die with them)."""
    for _ in range(2):
        alive = [w for w in workers if w.is_alive()]
        for worker in alive:
            worker.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for worker in alive:
            worker.join(max(0.0, deadline - time.monotonic()))
    for worker in workers:
        if worker.is_alive():
            worker.kill()
            worker.join()


def _pooled(
    paths: Sequence[Path], grade: Callable[[Path], SubmissionResult], workers: int
) -> Generator[SubmissionResult, None, list[Path]]:
    """Grade ``paths`` with ``grade`` (picklable) in ``workers`` fresh processes, yielding
    results as they finish; returns the paths not graded because a grading process died (the
    pool is then broken). An interrupt ends every worker (:func:`_stop`) before it goes on."""
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    before = set(multiprocessing.active_children())
    executor = ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker)
    lost: list[Path] = []
    try:
        futures = {executor.submit(_in_worker, grade, p): p for p in paths}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                lost.append(futures[future])
                continue
            yield result
    except BaseException:  # an interrupt: the workers shut their kernels down and exit
        _stop(list(set(multiprocessing.active_children()) - before))
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return sorted(lost)


def _graded(
    paths: Sequence[Path], assignment: Assignment, limits: Limits, jobs: int
) -> Iterator[SubmissionResult]:
    """The results of ``paths`` as they are ready: in order, in this process, with one job (or one
    path); else as they finish, in ``min(jobs, len(paths))`` worker processes.

    With workers, a cell that kills its kernel's parent kills only a worker: the submissions it
    took down with it (every one not yet finished) are graded again one at a time, each in a
    process of its own, and one whose process dies again is a ``grader_error``.
    """
    grade = functools.partial(_grade_one, assignment=assignment, limits=limits)
    if jobs == 1 or len(paths) == 1:
        for path in paths:
            yield grade(path)
        return
    lost = yield from _pooled(paths, grade, min(jobs, len(paths)))
    for path in lost:
        again = yield from _pooled([path], grade, 1)
        if again:
            note = (
                "the process grading this notebook died, twice (the second time grading it "
                "alone): a cell may end its kernel's parent process, or the machine ran out "
                "of memory"
            )
            yield replace(ungraded(path.stem, assignment, Status.GRADER_ERROR, note),
                          box=_box(limits))  # fmt: skip


def grade_folder(
    submissions: Sequence[Path], solution: Path, out: Path, limits: Limits, jobs: int = 1
) -> list[SubmissionResult]:
    """Grade each submission, ``jobs`` at once, recording each in the gradebook ``out`` as soon
    as it is graded; returns the results in the order of ``submissions``.

    A submission that breaks the grader itself is recorded as ``grader_error`` and grading goes
    on; an interrupt (Ctrl-C) stops grading and keeps every student already recorded.

    Examples
    --------
    >>> import tempfile
    >>> import nbformat
    >>> from rmcourse.grading.source import nbgrader_cell
    >>> folder = Path(tempfile.mkdtemp())
    >>> answer = "def g(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION"
    >>> cells = [nbgrader_cell(answer, "g", solution=True), nbgrader_cell("g(1)", "t", points=1)]
    >>> solution = nbformat.v4.new_notebook(cells=cells)
    >>> nbformat.write(solution, folder / "09_demo.ipynb")
    >>> _ = (folder / "cid.ipynb").write_text("{}")
    >>> [r] = grade_folder([folder / "cid.ipynb"], folder / "09_demo.ipynb", folder / "g.csv",
    ...                    Limits())
    >>> r.status, (folder / "g.csv").exists()
    ('not_a_notebook', True)
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    assignment = load_assignment(solution)
    limits = replace(limits, box=box.resolve(limits.box))  # once, not in every worker
    paths = [Path(p) for p in submissions]
    done: dict[str, SubmissionResult] = {}
    progress = tqdm(total=len(paths), desc=f"grading {assignment.name}", unit="student")
    with progress, closing(_graded(paths, assignment, limits, jobs)) as graded:
        for result in graded:
            record(out, result)
            done[result.student] = result
            progress.update()
    return [done[path.stem] for path in paths]


def find_solutions(assignment: str, solutions_dir: Path | None) -> tuple[Path | None, str]:
    """(the solution notebook of ``assignment``, or None and why).

    Without ``solutions_dir``, the course's ``solutions/`` folder is looked for in the current
    directory, then in the checkout the package was installed from.

    Examples
    --------
    >>> find_solutions("99_none", Path("no-such-folder"))
    (None, 'no solution notebook no-such-folder/99_none.ipynb (assignments: none)')
    """
    if solutions_dir is not None:
        folders = [Path(solutions_dir)]
    else:
        package_checkout = Path(__file__).resolve().parents[2]
        folders = [Path.cwd() / "solutions", package_checkout / "solutions"]
    for folder in folders:
        if (folder / f"{assignment}.ipynb").is_file():
            return folder / f"{assignment}.ipynb", ""
    existing = [folder for folder in folders if folder.is_dir()]
    names = sorted({p.stem for folder in existing for p in folder.glob("[0-9]*.ipynb")})
    where = " or ".join(str(folder / f"{assignment}.ipynb") for folder in folders)
    return None, f"no solution notebook {where} (assignments: {', '.join(names) or 'none'})"


def grade_command(
    submissions_dir: Path,
    assignment: str,
    solutions_dir: Path | None,
    out: Path,
    timeout: float,
    jobs: int | None = None,
    sandbox: bool = True,
) -> int:
    """The ``rmcourse grade`` command; returns its exit status (2 for bad arguments).

    Parameters
    ----------
    submissions_dir : Path
        Folder of ``*.ipynb`` files, one per student (file stem = student id).
    assignment : str
        Stem of the solution notebook, e.g. ``02_numpy_loss``.
    solutions_dir : Path or None
        Folder of the solution notebooks; None: see :func:`find_solutions`.
    out : Path
        The gradebook CSV; its JSON twin and ``feedback/`` are written beside it.
    timeout : float
        Seconds per cell; a submission gets ``SUBMISSION_TIMEOUTS`` times that (at least 60).
    jobs : int or None
        Submissions graded at once; None: the number of CPUs.
    sandbox : bool
        Run every kernel in a box (:mod:`rmcourse.grading.box`); where none can be made the
        command refuses in one line, and grades unboxed only with ``sandbox=False``
        (``--no-sandbox``).

    Examples
    --------
    >>> grade_command(Path("."), "99_none", Path("no-such-folder"), Path("g.csv"), 30.0)
    2
    """
    submissions_dir = Path(submissions_dir)
    solution, problem = find_solutions(assignment, solutions_dir)
    jobs = cpu_count() if jobs is None else jobs
    if solution is not None and not submissions_dir.is_dir():
        problem = f"submissions folder {submissions_dir} does not exist"
    elif solution is not None and (isinstance(jobs, bool) or jobs < 1):
        problem = f"--jobs must be at least 1, got {jobs}"
    if problem:
        print(f"rmcourse grade: error: {problem}", file=sys.stderr)
        return 2
    kind, why = box.available() if sandbox else (None, "")
    if sandbox and kind is None:
        print(box.REFUSAL.format(why=why), file=sys.stderr)
        return 2
    if not sandbox:
        print("rmcourse grade: --no-sandbox: student code runs as you, with your files",
              file=sys.stderr)  # fmt: skip
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
            cell_timeout=timeout,
            submission_timeout=max(60.0, SUBMISSION_TIMEOUTS * timeout),
            box=kind,
        )
        results = grade_folder(submissions, solution, Path(out), limits, jobs)
    except ValueError as exc:
        print(f"rmcourse grade: error: {exc}", file=sys.stderr)
        return 2
    print(summary_table(results))
    print(
        f"\ngradebook: {out} (feedback per check: {Path(out).with_suffix('.json')}, "
        f"pages for students: {Path(out).parent / 'feedback' / assignment})"
    )
    return 0
