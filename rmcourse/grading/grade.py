"""``rmcourse grade``: grade every submitted notebook of a folder against a solution notebook.

One submission is graded by a chain of small steps:

1. :func:`read_submission` -- an empty file or one that is not a notebook gets that status and 0;
2. :func:`solution_code` -- the student's code is the contents of their solution cells, matched by
   ``grade_id`` (the first code cell with that id); a missing cell or an untouched stub is
   ``unanswered`` (0 points). Nothing else comes from the submission: locked cells, test cells
   and hidden tests come from the instructor's source, so edited or deleted tests are restored;
3. :func:`copied_names` -- the anti-copy rule (0 points, status ``copied``);
4. :func:`plan` -- the cells to run: the source's setup cells, the guard install, then the source
   cells in order with the student's solution code in place, a guard call before every visible
   and every hidden test part;
5. :func:`rmcourse.grading.execute.run_steps` -- a fresh kernel in a scratch folder, with per-cell
   and per-submission time limits, a memory cap and an output cap; a dead or timed-out kernel is
   replaced and the student's solution cells replayed, so later exercises still count;
6. :func:`score` -- a test cell's points are earned when its visible part and its hidden part both
   ended with an ``ok`` execute reply and no error output, right after a guard call that answered
   its HMAC challenge. Printed text never counts.

What is defended (see :mod:`rmcourse.grading.guard` for how): redefined numpy functions, test
helpers (``_grader``) or builtins (``builtins.AssertionError = ...``, ``__builtins__.abs``,
``f.__code__`` swaps in numpy/torch/rmcourse), fake "passed" output, ``set_custom_exc`` or
``sys.excepthook`` swallowing errors, input/AST transformers and ``pre_run_cell`` hooks, trace and
profile hooks, edited or deleted test cells, importing the answer from rmcourse, ``os._exit`` or
a crash in a test (the test fails; the kernel is replaced), infinite loops, memory blow-ups,
output floods, broken files. Exit hooks change nothing (results never come from the kernel's exit).

Not defended -- student code runs in the same process as the tests, so code written to attack
the grader can still: read the guard's key out of its closure via ``gc`` and answer challenges
itself after replacing it; patch tests from a background thread between the guard and the test;
rewrite ipykernel's message handling so an error reply is sent as ``ok``; patch C-level state of
extension modules. These need deliberate work against this grader; the feedback and the
gradebook make such submissions stand out (status ``tampered`` when the guard fails).
Hidden test source never reaches feedback: a hidden failure reports only its exception type,
and only when that is a built-in one; hidden parts stay out of the kernel's input history; any
message or note quoting a line of hidden code verbatim is withheld (student code can read the
code calling it from frames and ``linecache``, and raise it in a later visible test). Not
defended: such a message in an encoded form, or written to a file outside the scratch folder.

This is a referee against cheating, not a security sandbox: the kernel runs as the grader's
user with its file system and network, so grade untrusted submissions inside a container or a
throw-away account.

Statuses, per (student, exercise) row, most specific first: ``not_a_notebook`` / ``empty`` (the
file; 0 everywhere), ``grader_error`` (the grader broke on this file; 0), ``copied`` (0),
``unanswered`` (0), ``tampered`` (a guard call did not answer: that test scores 0),
``memory_limit``, ``timeout``, ``kernel_died`` (a test or the solution cell hit the memory cap, a
time limit, or killed its kernel), ``solution_error`` (the solution cell raised), then ``passed``,
``partial``, ``failed`` by points. Points are the sum of the passed tests' points, except for
``copied`` and ``unanswered``. A student's status is ``ok`` or their rows' other statuses.
"""

from __future__ import annotations

import builtins
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from rmcourse.grading.anticopy import copied_names
from rmcourse.grading.execute import DIED, NOT_RUN, OK, TIMEOUT, Limits, Step, StepResult, run_steps
from rmcourse.grading.source import (
    Assignment,
    Exercise,
    is_solution,
    is_test,
    nbgrader,
    read_notebook,
    split_hidden,
    stub_solution,
)

# Exercise statuses, most specific first (an exercise shows the first that applies).
STATUS_ORDER = (
    "not_a_notebook",
    "empty",
    "grader_error",
    "copied",
    "unanswered",
    "tampered",
    "memory_limit",
    "timeout",
    "kernel_died",
    "solution_error",
    "passed",
    "partial",
    "failed",
)
# A hidden test's failure is reported by exception type only, and only for built-in types:
# a student's own exception class could carry the hidden code in its name.
BUILTIN_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
MESSAGE_CHARS = 600


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
    """One exercise's points, status and per-test results for one student."""

    exercise: str
    points: float
    max_points: float
    status: str
    note: str
    checks: tuple[CheckResult, ...]


@dataclass(frozen=True)
class SubmissionResult:
    """A student's graded submission."""

    student: str
    assignment: str
    exercises: tuple[ExerciseResult, ...]

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
        """``ok`` when every exercise passed, else the distinct other statuses, ``+``-joined."""
        bad = {e.status for e in self.exercises} - {"passed"}
        return "+".join(s for s in STATUS_ORDER if s in bad) or "ok"


@dataclass(frozen=True)
class Role:
    """What a planned step is for: its kind, exercise and test (``""`` when none)."""

    kind: str  # setup, install, cell, solution, guard, visible, hidden
    exercise: str = ""
    test: str = ""


@dataclass(frozen=True)
class Plan:
    """The steps to run, what each is for, and the secrets the guard answers with."""

    steps: tuple[Step, ...]
    roles: tuple[Role, ...]
    key: bytes
    challenges: dict[int, str]  # step index -> challenge, for guard steps
    secret_lines: frozenset[str]  # hidden-test lines that feedback must not quote


def read_submission(path: Path) -> tuple[nbformat.NotebookNode | None, str, str]:
    """Read a submitted file.

    Returns
    -------
    tuple
        (notebook or None, status, note): status ``ok``, ``empty`` or ``not_a_notebook``.

    Examples
    --------
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "ann.ipynb").write_text("my answers are 1, 2, 3")
    >>> nb, status, note = read_submission(folder / "ann.ipynb")
    >>> nb, status
    (None, 'not_a_notebook')
    """
    try:
        return read_notebook(path), OK, ""
    except ValueError as exc:
        return None, "empty" if "empty file" in str(exc) else "not_a_notebook", str(exc)


def solution_code(submission: nbformat.NotebookNode, assignment: Assignment) -> dict[str, str]:
    """The student's code per exercise, for the answered exercises only.

    A solution cell is found by its ``grade_id`` (the first code cell with that id); an
    exercise whose cell is missing or still holds the generated stub is left out.

    Examples
    --------
    >>> import rmcourse.grading.generate as gen
    >>> import rmcourse
    >>> from rmcourse.grading.source import load_assignment
    >>> solutions = Path(rmcourse.__file__).parents[1] / "solutions"
    >>> assignment = load_assignment(solutions / "02_numpy_loss.ipynb")
    >>> submission = gen.make_exercise(assignment.notebook)
    >>> submission.cells[3].source = "def log_sigmoid(x):\\n    return x"
    >>> solution_code(submission, assignment)
    {'log_sigmoid': 'def log_sigmoid(x):\\n    return x'}
    """
    stubs = {
        nbgrader(cell)["grade_id"]: stub_solution(cell.source)
        for cell in assignment.notebook.cells
        if is_solution(cell)
    }
    found: dict[str, str] = {}
    for cell in submission.cells:
        grade_id = nbgrader(cell).get("grade_id")
        if cell.cell_type == "code" and grade_id in stubs and grade_id not in found:
            found[grade_id] = cell.source
    return {g: code for g, code in found.items() if code.strip() != stubs[g].strip()}


def copied_exercises(submission: nbformat.NotebookNode, assignment: Assignment) -> dict[str, str]:
    """Exercise -> why, for the exercises whose must-write functions come from rmcourse.

    Every code cell of the submission is searched (see :func:`copied_names`).

    Examples
    --------
    >>> import rmcourse.grading.generate as gen
    >>> import rmcourse
    >>> from rmcourse.grading.source import load_assignment
    >>> solutions = Path(rmcourse.__file__).parents[1] / "solutions"
    >>> assignment = load_assignment(solutions / "02_numpy_loss.ipynb")
    >>> submission = gen.make_exercise(assignment.notebook)
    >>> submission.cells.append(nbformat.v4.new_code_cell("from rmcourse.np_loss import *"))
    >>> sorted(copied_exercises(submission, assignment))
    ['bt_loss', 'bt_loss_grad', 'log_sigmoid', 'ranking_loss']
    """
    sources = [cell.source for cell in submission.cells if cell.cell_type == "code"]
    trusted = [cell.source for cell in assignment.notebook.cells if cell.cell_type == "code"]
    names = {name for exercise in assignment.exercises for name in exercise.names}
    copied = copied_names(sources, names, trusted)
    return {
        exercise.grade_id: "; ".join(
            f"{name}: {copied[name]}" for name in exercise.names if name in copied
        )
        for exercise in assignment.exercises
        if any(name in copied for name in exercise.names)
    }


def plan(assignment: Assignment, answers: dict[str, str], key_file: str) -> Plan:
    """The steps that grade ``answers`` (exercise -> code) against ``assignment``.

    The source's setup cells, the guard install (reading its key from ``key_file``), then the
    source's code cells in order with the answers in place of the solution cells, and a guard
    call before every visible and every hidden test part.

    Examples
    --------
    >>> import rmcourse
    >>> from rmcourse.grading.source import load_assignment
    >>> solutions = Path(rmcourse.__file__).parents[1] / "solutions"
    >>> assignment = load_assignment(solutions / "02_numpy_loss.ipynb")
    >>> p = plan(assignment, {"log_sigmoid": "def log_sigmoid(x):\\n    return x"}, "key")
    >>> [role.kind for role in p.roles][:8]
    ['setup', 'install', 'solution', 'guard', 'visible', 'guard', 'visible', 'guard']
    >>> [role.kind for role in p.roles].count("hidden"), len(p.challenges)
    (4, 12)
    """
    guard_name = f"_rmcourse_guard_{secrets.token_hex(8)}"
    install = (
        "from rmcourse.grading.guard import install as _rmcourse_install\n"
        f"{guard_name} = _rmcourse_install(get_ipython(), {key_file!r})\n"
        "del _rmcourse_install"
    )
    steps: list[Step] = []
    roles: list[Role] = []
    challenges: dict[int, str] = {}

    def add(step: Step, role: Role) -> None:
        steps.append(step)
        roles.append(role)

    def add_guarded(code: str, role: Role, requires: int | None = None) -> int:
        challenge = secrets.token_hex(16)
        challenges[len(steps)] = challenge
        call = f"{guard_name}({challenge!r})"
        add(Step(call, requires=requires), Role("guard", role.exercise, role.test))
        add(Step(code, requires=len(steps) - 1, secret=role.kind == "hidden"), role)
        return len(steps) - 1

    installed, exercise = False, ""
    for cell in assignment.notebook.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader(cell)
        if not installed and (is_solution(cell) or is_test(cell)):
            add(Step(install, replay=True), Role("install"))
            installed = True
        if is_solution(cell):
            exercise = meta["grade_id"]
            if exercise in answers:
                add(Step(answers[exercise], replay=True), Role("solution", exercise))
        elif is_test(cell):
            visible, hidden = split_hidden(cell.source)
            shown = add_guarded(visible, Role("visible", exercise, meta["grade_id"]))
            if hidden:  # runs only when the visible part passed
                add_guarded(hidden, Role("hidden", exercise, meta["grade_id"]), requires=shown)
        else:
            add(Step(cell.source, replay=True), Role("setup" if not installed else "cell"))
    return Plan(
        tuple(steps), tuple(roles), secrets.token_bytes(32), challenges, assignment.secret_lines
    )


def _digest(key: bytes, challenge: str) -> str:
    import hashlib
    import hmac

    return repr(hmac.new(key, challenge.encode(), hashlib.sha256).hexdigest())


def withhold_secrets(text: str, secret_lines: frozenset[str]) -> str:
    """``text``, or a notice instead when it quotes a line of hidden-test code.

    Student code can read the hidden tests it is called from (frames, ``linecache``) and raise
    them as a visible test's message; such a message is not shown.

    Examples
    --------
    >>> secret = frozenset({"assert f(1e4) == 0"})
    >>> withhold_secrets("AssertionError: f(0) should be 1", secret)
    'AssertionError: f(0) should be 1'
    >>> withhold_secrets("boom: assert f(1e4) == 0", secret)
    '(message withheld: it quotes hidden test code)'
    """
    if any(line in text for line in secret_lines):
        return "(message withheld: it quotes hidden test code)"
    return text


def _safe_name(ename: str) -> str:
    return ename if ename in BUILTIN_EXCEPTIONS else "an exception of the notebook's own type"


def _problem(result: StepResult) -> str:
    """The status a failed step points to."""
    if result.outcome == TIMEOUT or (result.outcome == NOT_RUN and result.ename == "TimeoutError"):
        return "timeout"
    if result.outcome in (DIED, NOT_RUN):
        return "kernel_died"
    if result.ename == "MemoryError":
        return "memory_limit"
    return ""


def _describe(result: StepResult, hidden: bool, cell_timeout: float) -> str:
    if result.outcome == TIMEOUT:
        return f"ran past the time limit of {cell_timeout:g} s per cell (an endless loop?)"
    if result.outcome == DIED:
        return "the kernel died while running it (os._exit, a crash, or the memory cap)"
    if result.outcome == NOT_RUN:
        return f"not run: {result.evalue}"
    if hidden:
        return f"a hidden test failed: {_safe_name(result.ename)}"
    return f"{result.ename}: {result.evalue}" if result.evalue else result.ename


def _score_exercise(
    exercise: Exercise,
    indices: list[int],
    plan_: Plan,
    results: Sequence[StepResult],
    cell_timeout: float,
) -> tuple[list[CheckResult], set[str], str]:
    """(checks, problems seen, notes for the student) of one exercise's steps."""
    problems: set[str] = set()
    notes: list[str] = []
    outcome: dict[str, tuple[bool, str]] = {t.grade_id: (True, "") for t in exercise.tests}
    for i in indices:
        role, result = plan_.roles[i], results[i]
        if result.truncated and role.kind in ("solution", "visible"):
            notes.append(
                f"{role.test or 'your solution cell'} printed more output than the grader"
                " keeps; the rest was dropped."
            )
        if role.kind == "solution" and result.outcome != OK:
            problems.add(_problem(result) or "solution_error")
            notes.append("your solution cell failed: " + _describe(result, False, cell_timeout))
            continue
        if role.kind not in ("guard", "visible", "hidden") or not outcome[role.test][0]:
            continue
        if role.kind == "guard":
            if result.outcome == OK and result.result_text == _digest(
                plan_.key, plan_.challenges[i]
            ):
                continue
            failed = _problem(result)
            problems.add(failed or "tampered")
            outcome[role.test] = (
                False,
                _describe(result, False, cell_timeout)
                if failed
                else "the grader could not restore a trusted state before this test "
                "(the notebook interferes with the grader's checks)",
            )
        elif result.outcome != OK:
            problems.add(_problem(result))
            outcome[role.test] = (False, _describe(result, role.kind == "hidden", cell_timeout))
    secret = plan_.secret_lines
    checks = [
        CheckResult(
            t.grade_id,
            t.points if outcome[t.grade_id][0] else 0.0,
            t.points,
            withhold_secrets(outcome[t.grade_id][1], secret)[:MESSAGE_CHARS] or "passed",
        )
        for t in exercise.tests
    ]
    return checks, problems - {""}, [withhold_secrets(n, secret)[:MESSAGE_CHARS] for n in notes]


def score(
    assignment: Assignment,
    plan_: Plan,
    results: Sequence[StepResult],
    unanswered: set[str],
    copied: dict[str, str],
    cell_timeout: float,
) -> tuple[ExerciseResult, ...]:
    """Each exercise's result from the step results, the unanswered and the copied exercises."""
    exercises = []
    for exercise in assignment.exercises:
        indices = [i for i, r in enumerate(plan_.roles) if r.exercise == exercise.grade_id]
        checks, problems, notes = _score_exercise(exercise, indices, plan_, results, cell_timeout)
        points = sum(c.points for c in checks)
        if exercise.grade_id in copied:
            problems.add("copied")
            notes.insert(
                0,
                "0 points: the function must be your own work, not taken from "
                f"rmcourse ({copied[exercise.grade_id]}).",
            )
        if exercise.grade_id in unanswered:
            problems.add("unanswered")
            notes.insert(0, "0 points: not answered (solution cell missing or still the stub).")
        if problems & {"copied", "unanswered"}:
            points = 0.0
        if points == exercise.max_points:
            problems.add("passed")
        problems.add("partial" if points > 0 else "failed")
        status = next(s for s in STATUS_ORDER if s in problems)
        exercises.append(
            ExerciseResult(
                exercise.grade_id,
                points,
                exercise.max_points,
                status,
                " ".join(notes),
                tuple(checks),
            )
        )
    return tuple(exercises)


def zero_result(student: str, assignment: Assignment, status: str, note: str) -> SubmissionResult:
    """A result with 0 points and ``status`` for every exercise (a submission that did not run)."""
    return SubmissionResult(
        student,
        assignment.name,
        tuple(
            ExerciseResult(e.grade_id, 0.0, e.max_points, status, note, ())
            for e in assignment.exercises
        ),
    )


def grade_submission(path: Path, assignment: Assignment, limits: Limits) -> SubmissionResult:
    """Grade the notebook at ``path`` (file stem = student id) in a scratch folder.

    Parameters
    ----------
    path : Path
        The submitted file (any content: broken files get a status, not an exception).
    assignment : Assignment
        The parsed solution notebook (:func:`load_assignment`).
    limits : Limits
        Time, memory and output limits of the kernel.

    Returns
    -------
    SubmissionResult
        Points, status, notes and per-test feedback of every exercise.

    Examples
    --------
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "bob.ipynb").write_text("")
    >>> import rmcourse
    >>> from rmcourse.grading.source import load_assignment
    >>> solutions = Path(rmcourse.__file__).parents[1] / "solutions"
    >>> assignment = load_assignment(solutions / "02_numpy_loss.ipynb")
    >>> result = grade_submission(folder / "bob.ipynb", assignment, Limits())
    >>> result.student, result.points, result.max_points, result.status
    ('bob', 0.0, 15.0, 'empty')
    """
    path = Path(path)
    submission, status, note = read_submission(path)
    if submission is None:
        return zero_result(path.stem, assignment, status, note)
    answers = solution_code(submission, assignment)
    unanswered = {e.grade_id for e in assignment.exercises} - set(answers)
    copied = copied_exercises(submission, assignment)
    with tempfile.TemporaryDirectory(prefix="rmcourse-grade-") as scratch:
        workdir = Path(scratch)
        shutil.copyfile(path, workdir / path.name)
        key_file = workdir / ".grader-key"
        plan_ = plan(assignment, answers, str(key_file))

        def write_key() -> None:  # read and deleted by the guard install in every new kernel
            key_file.write_bytes(plan_.key)

        results = run_steps(plan_.steps, workdir, limits, before_start=write_key)
    exercises = score(assignment, plan_, results, unanswered, copied, limits.cell_timeout)
    return SubmissionResult(path.stem, assignment.name, exercises)
