"""Paths and helpers shared by the test files: ``from helpers import ROOT, filled_exercise``.

A plain module, not ``conftest.py``: pytest puts ``tests/`` on ``sys.path`` (rootdir-relative
"prepend" import mode, no ``__init__.py``), so the test files import it by name; fixtures stay in
``tests/conftest.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import pickle
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import nbformat
from filelock import FileLock

from rmcourse.grading import command
from rmcourse.grading.execute import Limits
from rmcourse.grading.generate import make_exercise
from rmcourse.grading.results import SubmissionResult
from rmcourse.grading.source import is_solution, nbgrader

ROOT = Path(__file__).resolve().parents[1]
"""The repository's root folder (notebooks/, solutions/, exercises/ live there)."""

SOLUTIONS = ROOT / "solutions"

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium, which the browser tests drive (they skip without it)."""

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def load_script(name: str) -> Any:
    """The module of ``scripts/NAME.py`` (the set-up's scripts are no package), freshly loaded."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assignment_names() -> list[str]:
    """The stems of every solution notebook, in order (e.g. ``02_numpy_loss``)."""
    return sorted(path.stem for path in SOLUTIONS.glob("[0-9]*.ipynb"))


def solution_code(name: str) -> dict[str, str]:
    """grade_id -> code of each solution cell of ``solutions/NAME.ipynb``."""
    nb = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    return {nbgrader(cell)["grade_id"]: cell.source for cell in nb.cells if is_solution(cell)}


def filled_exercise(
    name: str, answers: dict[str, str | None] | None = None
) -> nbformat.NotebookNode:
    """The exercise notebook of ``solutions/NAME.ipynb`` filled in with the solution code,
    ``answers`` (grade_id -> code) replacing it, or deleting the cell where the code is None."""
    nb = untouched_exercise(name)
    code = {**solution_code(name), **(answers or {})}
    cells = []
    for cell in nb.cells:
        if is_solution(cell):
            if code[nbgrader(cell)["grade_id"]] is None:
                continue
            cell.source = code[nbgrader(cell)["grade_id"]]
        cells.append(cell)
    nb.cells = cells
    return nb


def untouched_exercise(name: str) -> nbformat.NotebookNode:
    """The exercise notebook of ``solutions/NAME.ipynb`` as a student receives it."""
    return make_exercise(nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4))


def answered_exercise(name: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The exercise notebook of ``solutions/NAME.ipynb`` with only ``answers`` (grade_id ->
    code) filled in: every other solution cell stays the stub students receive, an unanswered
    exercise whose tests the grader does not run."""
    nb = untouched_exercise(name)
    for cell in nb.cells:
        if is_solution(cell) and nbgrader(cell)["grade_id"] in answers:
            cell.source = answers[nbgrader(cell)["grade_id"]]
    return nb


SLOW_TO_GRADE = ("04_train_reward_model", "07_dpo")
"""The assignments whose whole notebook takes several seconds of kernel time to grade (their
later exercises train models), while the tests of their first exercise are quick and it calls
no other exercise's function: a test that needs one exercise graded, not all, answers only the
first there (:func:`answered_exercise`); the other assignments' tests grade whole notebooks."""


GRADING_LIMITS = Limits(cell_timeout=120, submission_timeout=900)
"""The limits the tests grade whole notebooks with: generous, for a loaded two-core machine."""

SHARED_GRADES: Path | None = None
"""The folder where the workers of one pytest-xdist run keep the submissions they graded (set by
``tests/conftest.py``; ``None`` without workers)."""

_graded: dict[str, SubmissionResult] = {}


def _grading_key(name: str, notebook: nbformat.NotebookNode, limits: Limits) -> str:
    """What a grading depends on: the solution notebook, the submission and the limits."""
    digest = hashlib.sha256((SOLUTIONS / f"{name}.ipynb").read_bytes())
    digest.update(nbformat.writes(notebook).encode())
    digest.update(repr(limits).encode())
    return digest.hexdigest()[:32]


def grade_submissions(
    name: str, submissions: dict[str, nbformat.NotebookNode], limits: Limits = GRADING_LIMITS
) -> dict[str, SubmissionResult]:
    """Grade each submission (student -> notebook) against ``solutions/NAME.ipynb`` the way
    ``rmcourse grade`` does; the results by student.

    A submission is graded on its own (its result depends on it, the solution and the limits
    only), so a notebook graded before in this test run, by this process or another worker
    (:data:`SHARED_GRADES`), is not graded again: the test files that grade the solution, the
    untouched exercise, ... of an assignment share one kernel run of each. Each notebook is
    graded under a lock of its own, so a worker waits only while another grades that notebook,
    not its whole batch."""
    keys = {student: _grading_key(name, nb, limits) for student, nb in submissions.items()}
    first: dict[str, str] = {}  # notebook -> the first student who handed it in
    for student, key in keys.items():
        first.setdefault(key, student)
    for key, student in first.items():
        if key in _graded:
            continue
        if SHARED_GRADES is None:
            _graded[key] = _grade_one(name, student, submissions[student], limits)
            continue
        with FileLock(SHARED_GRADES / f"{key}.lock"):  # one worker grades it, the others wait
            stored = SHARED_GRADES / f"{key}.pickle"
            if stored.exists():
                _graded[key] = pickle.loads(stored.read_bytes())
            else:
                _graded[key] = _grade_one(name, student, submissions[student], limits)
                stored.write_bytes(pickle.dumps(_graded[key]))
    return {student: replace(_graded[key], student=student) for student, key in keys.items()}


def _grade_one(
    name: str, student: str, notebook: nbformat.NotebookNode, limits: Limits
) -> SubmissionResult:
    """``notebook`` handed in by ``student``, graded as ``rmcourse grade`` does, in a folder
    of its own."""
    with tempfile.TemporaryDirectory(prefix=f"grading-{name}-") as tmp:
        path = Path(tmp) / f"{student}.ipynb"
        nbformat.write(notebook, path)
        [result] = command.grade_folder(
            [path], SOLUTIONS / f"{name}.ipynb", Path(tmp) / "gradebook.csv", limits
        )
    return result


def check_figure_shown(page: Any, figure: Any, screenshot: Path) -> None:
    """Scroll a quiz figure (a Playwright ``<img>`` locator) into view, assert that the browser
    decoded it at full width, and save a screenshot of ``page``."""
    figure.scroll_into_view_if_needed()
    assert figure.evaluate("img => img.complete && img.naturalWidth") > 300
    page.screenshot(path=str(screenshot))


def press(control: Any, key: str, times: int) -> None:
    """Focus a Playwright locator and press ``key`` on it ``times`` times (a slider's arrows)."""
    control.focus()
    for _ in range(times):
        control.press(key)
