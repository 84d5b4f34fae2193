"""The grader against a corpus of broken and adversarial submissions of solutions/02_numpy_loss.

Every submission is built here from the solution notebook (the exercise notebook filled with the
solution code, then mutated); one grade run over the whole folder, then exact points and status
per student and exercise. Exercises of 02: log_sigmoid (1 + 2 hidden points), bt_loss (2 + 3),
bt_loss_grad (1 + 3), ranking_loss (1 + 2); bt_loss, bt_loss_grad and ranking_loss call the
student's log_sigmoid, so most cheats target ranking_loss, which nothing depends on.
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT, filled_exercise, solution_code

from rmcourse.grading import box, command
from rmcourse.grading.execute import Limits
from rmcourse.grading.generate import make_exercise
from rmcourse.grading.results import ExerciseResult, SubmissionResult
from rmcourse.grading.source import is_test, load_assignment

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

SOLUTION = ROOT / "solutions" / "02_numpy_loss.ipynb"
EXERCISES = ("log_sigmoid", "bt_loss", "bt_loss_grad", "ranking_loss")
FULL = {"log_sigmoid": 3, "bt_loss": 5, "bt_loss_grad": 4, "ranking_loss": 3}
# The solution's own code of these is long enough to be recognised as pasted: where a submission
# keeps it, the row has status review, with the tests' points (log_sigmoid's is one line).
SOLUTION_STATUS = {"log_sigmoid": "passed", "bt_loss": "review", "bt_loss_grad": "review",
                   "ranking_loss": "review"}  # fmt: skip
# The infinite loop runs into the cell timeout twice (bt_loss_grad's two test cells call it): a
# short one. Measured on two cores at load 8, every other cell of the corpus ends within 0.5 s,
# and a cell that kills its kernel is seen dead within 1.0 s.
LIMITS = Limits(cell_timeout=3, submission_timeout=90, memory_bytes=int(1.5 * 2**30))

WRONG_RANKING = "def ranking_loss(rewards):\n    return 0.0\n"
GRAD_PREFIX = "def bt_loss_grad(r_chosen, r_rejected, margin=0.0, weights=None):\n"


def _solution_code() -> dict[str, str]:
    return solution_code(SOLUTION.stem)


def _submission(
    answers: dict[str, str | None] | None = None,
    test_source: str | None = None,
    drop_tests: bool = False,
) -> nbformat.NotebookNode:
    """The exercise notebook with the solution code, ``answers`` replacing (None: deleting)
    solution cells, test cells rewritten to ``test_source`` or dropped."""
    nb = filled_exercise(SOLUTION.stem, answers)
    if drop_tests:
        nb.cells = [cell for cell in nb.cells if not is_test(cell)]
    elif test_source is not None:
        for cell in nb.cells:
            if is_test(cell):
                cell.source = test_source
    return nb


def _rest(**points_status: tuple[float, str]) -> dict[str, tuple[float, str]]:
    """Expected rows: the solution's (full marks), except the exercises given."""
    return {e: points_status.get(e, (FULL[e], SOLUTION_STATUS[e])) for e in EXERCISES}


def _all(points: float, status: str) -> dict[str, tuple[float, str]]:
    return {e: (points, status) for e in EXERCISES}


def _wrong_ranking_with(prelude: str) -> dict[str, str]:
    return {"ranking_loss": prelude + WRONG_RANKING}


NAIVE_LOG_SIGMOID = (  # naive, but for the two extreme points the visible tests try
    "def log_sigmoid(x):\n    x = np.asarray(x, dtype=float)\n"
    "    return np.where(x == -1000.0, x,\n"
    "                    np.where(x == 40.0, -np.exp(-x), np.log(1.0 / (1.0 + np.exp(-x)))))\n"
)
STEAL = (
    "import sys, linecache\n_stash = []\n"
    "def _caller_source():\n"
    "    return ''.join(linecache.getlines(sys._getframe(2).f_code.co_filename))\n"
)

# A module planted in the scratch folder, then a kernel death: in the fresh kernel the setup
# cell's `import numpy` would load it before the guard's install, and if it finds the grader's
# key it makes every guard answer its challenge whatever the functions' origin.
PLANTED_NUMPY = """\
import importlib, os, sys, hmac, hashlib
_key = None
for _place in [os.getcwd(), *(os.path.dirname(a) for a in sys.argv if a.startswith('/'))]:
    try:
        _key = open(os.path.join(_place, '.grader-key'), 'rb').read()
    except OSError:
        pass
del sys.modules['numpy']
_saved = sys.path[:]
sys.path[:] = [p for p in sys.path if p not in ('', '.', os.getcwd())]
sys.modules['numpy'] = importlib.import_module('numpy')
sys.path[:] = _saved
import rmcourse.grading.guard as _g
_install = _g.install
def _fake_install(*a, **k):
    real = _install(*a, **k)
    def guard(challenge):
        real(challenge)
        return hmac.new(_key or b'', challenge.encode(), hashlib.sha256).hexdigest()
    return guard
_g.install = _fake_install
"""
PLANT = f"import os\nopen('numpy.py', 'w').write({PLANTED_NUMPY!r})\nos._exit(0)\n"
FROM_LIBRARY = {  # each answer taken from the course library by a computed lookup
    "log_sigmoid": "import rmcourse.np_loss as _m\n_d = vars(_m)\n"
    "log_sigmoid = _d['log_sigmoid']\n",
    **{e: f"{e} = _d[{e!r}]\n" for e in EXERCISES[1:]},
}
# 5,000 nested folders and a read-only one in the scratch folder: its removal must neither
# fail (shutil.rmtree recursed) nor change the grade, and nothing may stay in the host's /tmp.
DEEP_TREE = (
    "import os\nos.makedirs('ro/x')\nopen('ro/x/f', 'w').write('x')\nos.chmod('ro/x', 0o500)\n"
    "_d = os.open('.', os.O_RDONLY)\nfor _i in range(5000):\n    os.mkdir('a', dir_fd=_d)\n"
    "    _n = os.open('a', os.O_RDONLY, dir_fd=_d)\n    os.close(_d)\n    _d = _n\nos.close(_d)\n"
)


def _after_setup(nb: nbformat.NotebookNode, code: str) -> nbformat.NotebookNode:
    """``nb`` with a cell the student added right after the setup cell."""
    setup = next(i for i, c in enumerate(nb.cells) if "grade_id" in str(c.metadata))
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(code))
    return nb


# student id -> (submission text or notebook, expected {exercise: (points, status)})
CASES: dict[str, tuple[object, dict[str, tuple[float, str]]]] = {
    "full": (_submission(), _rest()),
    "untouched": (make_exercise(nbformat.read(SOLUTION, as_version=4)), _all(0, "unanswered")),
    "one_wrong": (_submission(_wrong_ranking_with("")), _rest(ranking_loss=(0, "failed"))),
    "naive_log_sigmoid": (
        _submission({"log_sigmoid": NAIVE_LOG_SIGMOID, "ranking_loss": None}),
        # visible tests pass, hidden ones (|x| = 1e4) fail; bt_loss_grad's exp(log sigmoid)
        # stays exact, so it passes
        {
            "log_sigmoid": (1, "partial"),
            "bt_loss": (2, "review"),
            "bt_loss_grad": (4, "review"),
            "ranking_loss": (0, "unanswered"),
        },
    ),
    "patch_numpy": (
        _submission(
            _wrong_ranking_with(
                "import numpy\nnumpy.allclose = lambda *a, **k: True\n"
                "numpy.isclose = lambda *a, **k: True\nnp.abs = lambda x: 0 * x\n"
                "numpy.testing.assert_allclose = lambda *a, **k: None\n"
                "np.isnan = lambda x: False\n"
            )
        ),
        _rest(ranking_loss=(0, "failed")),
    ),
    "patch_grader": (
        _submission(
            _wrong_ranking_with(
                "class _Fake:\n    np = np\n    def close(self, *a, **k):\n        pass\n"
                "_grader = _Fake()\n"
                "import rmcourse.grading.checks as _c\n"
                "_c.checks.close = lambda *a, **k: None\n"
                "_c.make_checks.__code__ = (lambda: None).__code__\n"
                "_c.make_checks = lambda: _Fake()\n"
            )
        ),
        _rest(ranking_loss=(0, "failed")),
    ),
    "patch_builtins": (
        _submission(
            _wrong_ranking_with(
                "import builtins\n"
                "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
                "__builtins__.abs = lambda x: 0\nbuiltins.print = lambda *a, **k: None\n"
            )
        ),
        _rest(ranking_loss=(0, "failed")),
    ),
    "obfuscated_import": (
        # patches the reference the hidden test compares with, through an import the grader
        # cannot read statically: every exercise counts as copied
        _submission(
            _wrong_ranking_with(
                "import importlib\n"
                "_m = importlib.import_module('rmcourse.' + 'np' + '_loss')\n"
                "setattr(_m, 'ranking' + '_loss', lambda rewards: 0.0)\n"
            )
        ),
        _all(0, "copied"),
    ),
    "fake_passed": (
        _submission(
            _wrong_ranking_with(
                "import atexit\natexit.register(print, 'all tests passed')\n"
                "print('visible tests passed')\nprint('hidden tests passed')\n"
            )
        ),
        _rest(ranking_loss=(0, "failed")),
    ),
    "custom_exc": (
        _submission(
            _wrong_ranking_with(
                "import sys\n"
                "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: print('passed'))\n"
                "sys.excepthook = lambda *a: None\n"
            )
        ),
        _rest(ranking_loss=(0, "failed")),
    ),
    "input_transformer": (
        _submission(
            {
                "log_sigmoid": _solution_code()["log_sigmoid"]
                + "\nget_ipython().input_transformers_post.append(lambda ls: ['pass\\n'])\n"
            }
        ),
        _all(0, "tampered"),
    ),
    "edit_tests": (
        _submission(_wrong_ranking_with(""), test_source="print('visible tests passed')"),
        _rest(ranking_loss=(0, "failed")),
    ),
    "delete_tests": (_submission(drop_tests=True), _rest()),
    "delete_solution_cell": (
        # bt_loss defined in log_sigmoid's cell, its own cell deleted: unanswered
        _submission(
            {
                "log_sigmoid": "\n".join(_solution_code()[e] for e in EXERCISES[:2]),
                "bt_loss": None,
            }
        ),
        _rest(bt_loss=(0, "unanswered")),
    ),
    "copied_static": (
        _submission(
            {
                "log_sigmoid": "from rmcourse.np_loss import log_sigmoid\n",
                "bt_loss": "import rmcourse.np_loss as _m\n_alias = _m\n"
                "def bt_loss(r_chosen, r_rejected, margin=0.0, weights=None):\n"
                "    return _alias.bt_loss(r_chosen, r_rejected, margin, weights)\n",
            }
        ),
        _rest(log_sigmoid=(0, "copied"), bt_loss=(0, "copied")),
    ),
    "copied_dynamic": (
        _submission(
            {
                "ranking_loss": "import importlib\ndef ranking_loss(rewards):\n"
                "    module = importlib.import_module('rmcourse.np_loss')\n"
                "    return module.ranking_loss(rewards)\n"
            }
        ),
        _all(0, "copied"),
    ),
    "not_a_notebook": ("this is not JSON", _all(0, "not_a_notebook")),
    "json_not_notebook": ('{"cells": 3}', _all(0, "not_a_notebook")),
    "empty": ("", _all(0, "empty")),
    "syntax_error": (
        _submission({"ranking_loss": "def ranking_loss(rewards):\n    return (\n"}),
        _rest(ranking_loss=(0, "solution_error")),
    ),
    "infinite_loop": (
        _submission({"bt_loss_grad": GRAD_PREFIX + "    while True:\n        pass\n"}),
        _rest(bt_loss_grad=(0, "timeout")),  # a fresh kernel grades ranking_loss
    ),
    "memory_blowup": (
        _submission({"bt_loss_grad": GRAD_PREFIX + "    return np.ones(2**28), np.ones(2**28)\n"}),
        _rest(bt_loss_grad=(0, "memory_limit")),
    ),
    "kill_kernel": (
        _submission(
            {
                "bt_loss_grad": "import os, signal\n"
                + GRAD_PREFIX
                + "    os.kill(os.getpid(), signal.SIGKILL)\n"
            }
        ),
        _rest(bt_loss_grad=(0, "kernel_died")),
    ),
    "os_exit": (
        _submission(
            _wrong_ranking_with("import os\n")
            | {"ranking_loss": "import os\ndef ranking_loss(rewards):\n    os._exit(0)\n"}
        ),
        _rest(ranking_loss=(0, "kernel_died")),
    ),
    "output_flood": (
        _submission(
            {
                "log_sigmoid": "for _i in range(4000):\n    print('flood ' * 200)\n"
                + _solution_code()["log_sigmoid"]
            }
        ),
        _rest(),
    ),
    "exfiltrate_hidden": (
        # bt_loss_grad reads the source of the cell calling it and keeps it; called from a hidden
        # test it raises an exception named after that source; ranking_loss's visible test then
        # gets everything kept, the last first (the hidden source: the grader keeps an error's
        # first 16 kB), and the input history, as its failure message
        _submission(
            {
                "bt_loss_grad": STEAL
                + _solution_code()["bt_loss_grad"].replace(
                    '    """(d',
                    "    _src = _caller_source()\n"
                    "    _stash.append(_src)\n"
                    "    if '_ref' in _src:\n"
                    "        raise type('_'.join(_src.split())[:50], (Exception,), {})\n"
                    '    """(d',
                    1,
                ),
                "ranking_loss": "def ranking_loss(rewards):\n"
                "    raise AssertionError('LEAK ' + '\\n'.join(_stash[::-1]) + str(In))\n",
            }
        ),
        _rest(bt_loss_grad=(1, "partial"), ranking_loss=(0, "failed")),  # edited: not a paste
    ),
    # the planted module is never imported and no key is written where it could read it
    "planted_module": (_after_setup(_submission(FROM_LIBRARY), PLANT), _all(0, "copied")),
    "deep_tree": (_after_setup(_submission(), DEEP_TREE), _rest()),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One grade run over the whole corpus: (gradebook path, results by student)."""
    folder = tmp_path_factory.mktemp("submissions")
    for student, (content, _) in CASES.items():
        path = folder / f"{student}.ipynb"
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            nbformat.write(content, path)
    out = tmp_path_factory.mktemp("grades") / "gradebook.csv"
    tmp = tmp_path_factory.mktemp("tmp")  # the grader's scratch and kernel folders, alone
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(tmp))
        patch.setenv("TMPDIR", str(tmp))
        results = command.grade_folder(sorted(folder.glob("*.ipynb")), SOLUTION, out, LIMITS)
    left = sorted(p.name for p in tmp.glob("rmcourse-*"))
    return out, {r.student: r for r in results}, left


def _rows(path: Path) -> dict[tuple[str, str], tuple[float, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return {
            (r["student"], r["exercise"]): (float(r["points"]), r["status"])
            for r in csv.DictReader(f)
        }


@pytest.mark.parametrize("student", sorted(CASES))
def test_points_and_status(graded, student):
    out, results, _ = graded
    expected = CASES[student][1]
    got = {e.exercise: (e.points, e.status) for e in results[student].exercises}
    assert got == expected, results[student]
    rows = _rows(out)
    assert {e: rows[(student, e)] for e in EXERCISES} == expected


def test_every_case_is_in_the_gradebook_with_max_points(graded):
    out, _, _ = graded
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "exercise", "points", "max_points", "status", "box"]
    assert {r["box"] for r in rows} == {box.available()[0]}
    assert len(rows) == len(CASES) * len(EXERCISES)
    assert all(float(r["max_points"]) == FULL[r["exercise"]] for r in rows)


def test_student_status_and_totals(graded):
    _, results, _ = graded
    assert (results["full"].points, results["full"].max_points, results["full"].status) == (
        15,
        15,
        "review",
    )
    assert results["untouched"].status == "unanswered"
    assert results["infinite_loop"].status == "timeout+review"  # the other answers: solution
    assert results["naive_log_sigmoid"].points == 7


def test_scratch_and_kernel_folders_are_removed(graded):
    _, results, left = graded
    assert left == []  # the deep tree's scratch folder too
    assert results["deep_tree"].status == "review"  # the solution's, nothing about cleanup


def test_feedback_explains_failures_without_hidden_source(graded):
    out, results, _ = graded
    assignment = load_assignment(SOLUTION)
    hidden_lines = {
        line.strip()
        for e in assignment.exercises
        for t in e.tests
        for line in t.hidden.splitlines()
        if len(line.strip()) > 12
    }
    texts = [out.with_suffix(".json").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in (out.parent / "feedback").rglob("*.md")]
    assert len(texts) == 1 + len(CASES)
    for text in texts:
        for word in ("LEAK", "_ref"):
            assert word not in text, text[text.find(word) - 600 : text.find(word) + 200]
        leaked = [line for line in hidden_lines if line in text]
        assert not leaked, leaked
    page = (out.parent / "feedback" / "02_numpy_loss" / "exfiltrate_hidden.md").read_text()
    assert (
        "- `bt_loss_grad_hidden` (0/3) FAILED: a hidden test failed: an exception of the "
        "notebook's own type" in page
    )
    assert (
        "- `ranking_loss_visible` (0/1) FAILED: (message withheld: it quotes hidden test "
        "code)" in page
    )
    page = (out.parent / "feedback" / "02_numpy_loss" / "one_wrong.md").read_text()
    assert "ranking_loss of one prompt with rewards [3, 1, 0]" in page  # the visible message
    page = (out.parent / "feedback" / "02_numpy_loss" / "copied_static.md").read_text()
    assert "from rmcourse.np_loss import log_sigmoid" in page and "_alias.bt_loss" in page
    assert results["output_flood"].exercises[0].note == (
        "your solution cell printed more output than the grader keeps; the rest was dropped."
    )
    assert (
        results["copied_static"]
        .exercises[0]
        .note.startswith(
            "0 points: the function must be your own work, not taken from rmcourse (log_sigmoid: "
        )
    )
    details = json.loads(out.with_suffix(".json").read_text())
    checks = details["infinite_loop"]["02_numpy_loss"]["exercises"][2]["checks"]
    assert "time limit" in checks[0]["feedback"]


def test_rerun_updates_only_the_students_graded(graded, tmp_path):
    out, _, _ = graded
    copy_out = tmp_path / "gradebook.csv"
    copy_out.write_bytes(out.read_bytes())
    copy_out.with_suffix(".json").write_bytes(out.with_suffix(".json").read_bytes())
    before = _rows(copy_out)
    folder = tmp_path / "again"
    folder.mkdir()
    nbformat.write(make_exercise(nbformat.read(SOLUTION, as_version=4)), folder / "full.ipynb")
    command.grade_folder([folder / "full.ipynb"], SOLUTION, copy_out, LIMITS)
    after = _rows(copy_out)
    assert {k: v for k, v in after.items() if k[0] == "full"} == {
        ("full", e): (0, "unanswered") for e in EXERCISES
    }
    assert {k: v for k, v in after.items() if k[0] != "full"} == {
        k: v for k, v in before.items() if k[0] != "full"
    }
    details = json.loads(copy_out.with_suffix(".json").read_text())
    assert details["full"]["02_numpy_loss"]["points"] == 0 and len(details) == len(CASES)


def _fake(student: str) -> SubmissionResult:
    return SubmissionResult(
        student,
        "02_numpy_loss",
        tuple(ExerciseResult(e, 1.0, FULL[e], "partial", "", ()) for e in EXERCISES),
    )


def test_interrupted_run_keeps_what_was_written(tmp_path, monkeypatch):
    paths = [tmp_path / f"{s}.ipynb" for s in ("ann", "bob", "cid")]
    calls = []

    def grade_or_stop(path, assignment, limits):
        calls.append(path.stem)
        if path.stem == "bob":
            raise KeyboardInterrupt
        return _fake(path.stem)

    monkeypatch.setattr(command, "grade_submission", grade_or_stop)
    out = tmp_path / "gradebook.csv"
    with pytest.raises(KeyboardInterrupt):
        command.grade_folder(paths, SOLUTION, out, LIMITS)
    assert calls == ["ann", "bob"]
    assert set(_rows(out)) == {("ann", e) for e in EXERCISES}
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_grader_failure_is_recorded_and_grading_goes_on(tmp_path, monkeypatch):
    def grade_or_fail(path, assignment, limits):
        if path.stem == "ann":
            raise RuntimeError("kernel could not start")
        return _fake(path.stem)

    monkeypatch.setattr(command, "grade_submission", grade_or_fail)
    out = tmp_path / "gradebook.csv"
    results = command.grade_folder(
        [tmp_path / "ann.ipynb", tmp_path / "bob.ipynb"], SOLUTION, out, LIMITS
    )
    assert [r.status for r in results] == ["grader_error", "partial"]
    assert _rows(out)[("ann", "bt_loss")] == (0, "grader_error")
    assert "RuntimeError: kernel could not start" in results[0].exercises[0].note
