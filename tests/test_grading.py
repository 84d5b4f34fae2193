"""Unit tests of the grading package: checks, source parsing, generation, anti-copy, guard,
cell runner, gradebook and the command's argument handling. The corpus of whole submissions
is in test_grading_corpus.py."""

from __future__ import annotations

import csv
import os
import secrets
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from helpers import ROOT, SOLUTIONS, filled_exercise

import rmcourse.np_loss
from rmcourse.grading import box, command, execute, generate_exercises, grade_command, kernel
from rmcourse.grading.anticopy import copied_exercises, copied_names
from rmcourse.grading.checks import make_checks
from rmcourse.grading.execute import (
    ERROR,
    NOT_RUN,
    OK,
    SKIPPED,
    TIMEOUT,
    Limits,
    Step,
    StepResult,
    run_steps,
)
from rmcourse.grading.generate import make_exercise
from rmcourse.grading.gradebook import feedback_markdown, merge_rows, read_rows, record
from rmcourse.grading.plan import plan
from rmcourse.grading.results import (
    CheckResult,
    ExerciseResult,
    Status,
    SubmissionResult,
    by_points,
)
from rmcourse.grading.source import (
    load_assignment,
    parse_assignment,
    split_hidden,
    stub_solution,
)
from rmcourse.grading.submission import StudentCell, StudentWork, student_work
from rmcourse.grading.verdict import score

# --- checks -------------------------------------------------------------------------------


def test_close_accepts_values_within_tolerance_and_tensors():
    close = make_checks().close
    close([1.0, 2.0], np.array([1.0, 2.0 + 1e-7]))
    close(torch.tensor([0.5, -1.0]), [0.5, -1.0])
    close(np.array([np.nan, np.inf, -np.inf]), [np.nan, np.inf, -np.inf])
    close(1.0, 1.05, rtol=0.1)


@pytest.mark.parametrize(
    ("actual", "expected", "message"),
    [
        ([1.0, 3.0], [1.0, 2.0], "loss: 1 of 2 elements differ; worst at index (1,): got 3"),
        (np.zeros(3), np.zeros((3, 1)), "loss: shape (3,) differs from the expected shape (3, 1)"),
        ([np.nan], [1.0], "loss: NaN where a number was expected"),
        (np.inf, -np.inf, "got inf, expected -inf"),
        (None, 1.0, "loss: got None (does the function return its result?)"),
        ("one", 1.0, "loss: expected numbers, got str"),
    ],
)
def test_close_says_what_differed(actual, expected, message):
    with pytest.raises(AssertionError) as info:
        make_checks().close(actual, expected, what="loss")
    assert message in str(info.value)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "1e-6"])
def test_close_rejects_bad_tolerances(bad):
    with pytest.raises(ValueError, match="rtol must be a finite number >= 0"):
        make_checks().close(1.0, 1.0, rtol=bad)


def test_close_ignores_numpy_patched_after_it_was_made(monkeypatch):
    close = make_checks().close
    monkeypatch.setattr(np, "abs", lambda x: 0 * x)
    monkeypatch.setattr(np, "any", lambda x: False)
    with pytest.raises(AssertionError, match="got 2, expected 1"):
        close(2.0, 1.0)


def test_reference_is_lazy_and_limited_to_the_rmcourse_modules():
    checks = make_checks()
    assert checks.reference.np_loss is rmcourse.np_loss
    assert checks.np is np and checks.torch is torch
    with pytest.raises(AttributeError, match="no reference module 'grading'"):
        checks.reference.grading  # noqa: B018


def test_reference_imports_afresh_a_module_the_kernel_forgot(monkeypatch):
    # What the guard leaves before a test cell: a patched rmcourse module imported after the
    # snapshot, forgotten by sys.modules, and a fake bound on the package.
    patched = rmcourse.np_loss
    monkeypatch.setattr(patched, "bt_loss", lambda *args, **kwargs: 0.0)
    monkeypatch.setattr(rmcourse, "np_loss", types.SimpleNamespace(bt_loss=patched.bt_loss))
    monkeypatch.delitem(sys.modules, "rmcourse.np_loss")
    fresh = make_checks().reference.np_loss
    assert fresh is sys.modules["rmcourse.np_loss"] and fresh is not patched
    assert fresh.bt_loss(np.array([0.0]), np.array([0.0])) == pytest.approx(np.log(2))


# --- source and generation ------------------------------------------------------------------


def test_stub_keeps_indentation_joins_hints_and_drops_the_solution():
    src = (
        'def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    # HINT: first\n    # HINT: "second"\n'
        "    return x + y\n    ### END SOLUTION\n\ndef g():\n  ### BEGIN SOLUTION\n  return 2\n"
        "  ### END SOLUTION"
    )
    assert stub_solution(src) == (
        "def f(x):\n    y = 1\n    # YOUR CODE HERE\n"
        '    raise NotImplementedError("first \\"second\\"")\n\ndef g():\n'
        "  # YOUR CODE HERE\n  raise NotImplementedError()"
    )


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside an open block"),
    ],
)
def test_unbalanced_markers_are_reported(source, problem):
    with pytest.raises(ValueError, match=problem):
        stub_solution(source)


def test_split_hidden_separates_every_hidden_block():
    src = "a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n### END HIDDEN TESTS\nc = 3\n" * 2
    assert split_hidden(src) == ("a = 1\nc = 3\na = 1\nc = 3", "b = 2\nb = 2")


def _meta(grade_id, solution=False, grade=False, points=None):
    meta = {
        "schema_version": 3,
        "grade": grade,
        "solution": solution,
        "locked": not solution,
        "task": False,
        "grade_id": grade_id,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _write(tmp_path, cells, name="09_x.ipynb"):
    path = tmp_path / name
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_load_assignment_reads_exercises_names_and_points():
    a = load_assignment(SOLUTIONS / "02_numpy_loss.ipynb")
    assert [(e.grade_id, e.names, e.max_points) for e in a.exercises] == [
        ("log_sigmoid", ("log_sigmoid",), 3.0),
        ("bt_loss", ("bt_loss",), 5.0),
        ("bt_loss_grad", ("bt_loss_grad",), 4.0),
        ("ranking_loss", ("ranking_loss",), 3.0),
    ]
    assert a.max_points == 15.0


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ([("t", False, True, 1)], "test cell 't' comes before any solution cell"),
        ([("s", True, False, None), ("s", False, True, 1)], "duplicate grade_id 's'"),
        ([("s", True, False, None), ("t", False, True, -1)], "invalid points -1"),
        ([("bad id", True, False, None)], "malformed or duplicate grade_id 'bad id'"),
        ([("setup", False, False, None)], "has no exercise"),
    ],
)
def test_load_assignment_names_the_broken_cell(tmp_path, cells, problem):
    nb_cells = [
        nbformat.v4.new_code_cell("def f():\n    return 1", metadata=_meta(g, s, gr, p))
        for g, s, gr, p in cells
    ]
    with pytest.raises(ValueError, match=problem):
        load_assignment(_write(tmp_path, nb_cells))


def test_exercises_folder_is_a_fresh_generation():
    """Fails when exercises/ was edited by hand or not regenerated after a solution changed."""
    solutions = sorted(p.name for p in SOLUTIONS.glob("[0-9]*.ipynb"))
    assert solutions == sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb"))
    for name in solutions:
        fresh = make_exercise(nbformat.read(SOLUTIONS / name, as_version=4))
        committed = nbformat.read(ROOT / "exercises" / name, as_version=4)
        assert committed == fresh, f"exercises/{name} differs: run `rmcourse exercises`"


def test_generation_is_deterministic_and_hides_solutions(tmp_path):
    first = generate_exercises(SOLUTIONS, tmp_path / "a")
    second = generate_exercises(SOLUTIONS, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    for path in first:
        source = load_assignment(SOLUTIONS / path.name)
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN" not in text
        nb = nbformat.read(path, as_version=4)
        shipped = {line.strip() for c in nb.cells for line in c.source.splitlines()}
        visible = {
            line.strip()
            for t in (t for e in source.exercises for t in e.tests)
            for line in t.visible.splitlines()
        }
        for exercise in source.exercises:
            for test in exercise.tests:
                for line in test.hidden.splitlines():
                    if line.strip() and line.strip() not in visible:
                        assert line.strip() not in shipped
        assert all(c.get("outputs", []) == [] for c in nb.cells)
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded and all("raises-exception" in c.metadata.tags for c in graded)


def test_make_exercise_leaves_the_solution_unchanged():
    solution = nbformat.read(SOLUTIONS / "02_numpy_loss.ipynb", as_version=4)
    before = nbformat.writes(solution)
    make_exercise(solution)
    assert nbformat.writes(solution) == before


def test_generate_refuses_a_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        generate_exercises(tmp_path / "nope", tmp_path / "out")


# --- anti-copy -----------------------------------------------------------------------------

NAMES = ("bt_loss", "log_sigmoid")


@pytest.mark.parametrize(
    ("code", "copied"),
    [
        ("from rmcourse.np_loss import bt_loss", {"bt_loss"}),
        (
            "def bt_loss(a, b):\n    from rmcourse.np_loss import bt_loss as f\n    return f(a, b)",
            {"bt_loss"},
        ),
        ("from rmcourse import np_loss as m\nbt_loss = m.bt_loss", {"bt_loss"}),
        (
            "import rmcourse\ng = rmcourse.np_loss\nh = g\n"
            "log_sigmoid = lambda x: h.log_sigmoid(x)",
            {"log_sigmoid"},
        ),
        (
            "import rmcourse.np_loss as m\n"
            "def bt_loss(a, b):\n    return getattr(m, 'bt_loss')(a, b)",
            {"bt_loss"},
        ),
        # any other use of a module than a named attribute, inside the function
        (
            "import rmcourse.np_loss as m\ndef log_sigmoid(x):\n    return m.__dict__['f'](x)",
            {"log_sigmoid"},
        ),
        (
            "from rmcourse import np_loss\ndef bt_loss(a, b):\n    return vars(np_loss)['f'](a, b)",
            {"bt_loss"},
        ),
        # the library outside the functions asked for (comparing with it): the guard's run-time
        # check judges whether the functions reach it
        ("from rmcourse.np_loss import log_sigmoid as mine", set()),
        ("from rmcourse import np_loss as m\nf = m.bt_loss\nhelp(m)\nprint(vars(m))", set()),
        ("import rmcourse\ng = rmcourse.np_loss\nh = g\nh.log_sigmoid(1)", set()),
        ("import rmcourse.np_loss as m\nf = getattr(m, 'bt_loss')", set()),
        (
            'def log_sigmoid(x):\n    """Checked against rmcourse.np_loss.log_sigmoid."""\n'
            '    print("same as rmcourse.np_loss.log_sigmoid")\n    return x',
            set(),
        ),
        # a local that shadows a module's name is not the module
        ("from rmcourse import policy\ndef bt_loss(policy, b):\n    return policy(b)", set()),
        ("from rmcourse.np_loss import *", set(NAMES)),
        ("import importlib\nm = importlib.import_module('rmcourse.np_loss')", set(NAMES)),
        ("m = __import__('rmcourse.np_loss')", set(NAMES)),
        ("import sys\nf = sys.modules['rmcourse.np_loss']", set(NAMES)),
        ("exec('from rmcourse.np_loss import bt_loss')", {"bt_loss"}),
        ("def bt_loss(a, b):\n    return 0.0", set()),
        ("x = _grader.np.log(2.0)\nclass A:\n    bt_loss = 1\nA.bt_loss", set()),
        ("import importlib\nimportlib.import_module('rmcourse.grading.checks')", set()),
        ("%timeit bt_loss(1)", set()),
        ("import importlib\nm = importlib.import_module('rmc' + 'ourse.np_loss')", set(NAMES)),
        ("f = __import__(''.join(['rmcourse']))", set(NAMES)),
        ("exec(code)", set(NAMES)),
        ("import builtins\nbuiltins.eval(text)", set(NAMES)),
        ("import sys\nm = sys.modules[name]", set(NAMES)),
        ("import rmcourse.np_loss as m\nf = getattr(m, 'bt_' + 'loss')", set(NAMES)),
        ("model.eval()\nfast = torch.compile(model)\nx = eval('1 + 1')", set()),
    ],
)
def test_copied_names(code, copied):
    assert set(copied_names([code], NAMES)) == copied


def test_an_exercise_with_two_functions_is_copied_when_one_is():
    meta = {
        "schema_version": 3,
        "grade": False,
        "solution": True,
        "locked": False,
        "task": False,
        "grade_id": "pair",
    }
    solution = nbformat.v4.new_code_cell(
        "def bt_loss(a, b):\n    ### BEGIN SOLUTION\n    return 0\n    ### END SOLUTION\n"
        "def log_sigmoid(x):\n    ### BEGIN SOLUTION\n    return 0\n    ### END SOLUTION",
        metadata={"nbgrader": meta},
    )
    test = nbformat.v4.new_code_cell(
        "assert True",
        metadata={
            "nbgrader": dict(
                meta, grade=True, solution=False, locked=True, grade_id="pair_test", points=1
            )
        },
    )
    assignment = parse_assignment("x", nbformat.v4.new_notebook(cells=[solution, test]))
    submission = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from rmcourse.np_loss import log_sigmoid\ndef bt_loss(a, b):\n    return 0"
            )
        ]
    )
    assert copied_exercises(student_work(submission, assignment), assignment) == {
        "pair": "log_sigmoid: from rmcourse.np_loss import log_sigmoid"
    }


def test_instructor_cells_are_not_held_against_the_student():
    setup = "from rmcourse.np_loss import bt_loss"
    assert copied_names([setup], NAMES, trusted=[setup]) == {}
    assert copied_names([setup + "\n"], NAMES, trusted=[setup]) == {
        "bt_loss": "from rmcourse.np_loss import bt_loss"
    }


# --- the cell runner and the guard -----------------------------------------------------------


def test_limits_reject_nonsense():
    with pytest.raises(ValueError, match="cell_timeout must be a positive number, got 0"):
        Limits(cell_timeout=0)
    with pytest.raises(ValueError, match="restarts must be an int >= 0"):
        Limits(restarts=-1)


@pytest.mark.kernel
def test_a_timeout_replaces_the_kernel_and_replays_what_it_must(tmp_path):
    steps = [
        Step("x = 41", replay=True),
        Step("y = 1"),
        Step("while True:\n    pass"),
        Step("x + 1"),
        Step("y"),
        Step("print('z' * 100_000)"),
        Step("1", requires=1),
        Step("2", requires=2),
    ]
    results = run_steps(steps, tmp_path, Limits(cell_timeout=2, output_bytes=5_000))
    assert [r.outcome for r in results] == [OK, OK, TIMEOUT, OK, "error", OK, OK, SKIPPED]
    assert results[3].result_text == "42"  # replayed in the new kernel
    assert results[4].ename == "NameError"  # not replayed
    assert results[5].truncated and not results[3].truncated


@pytest.mark.kernel
def test_the_kernel_runs_under_the_memory_cap(tmp_path):
    steps = [
        Step("import resource\nresource.getrlimit(resource.RLIMIT_DATA)"),
        Step("import numpy\nx = numpy.ones(2**28)"),  # 2 GiB
        Step("y = [0] * 2**28"),  # 2 GiB of pointers
        Step("z = numpy.ones(2**24)\nfloat(z.sum())"),  # 128 MiB is fine
    ]
    results = run_steps(steps, tmp_path, Limits(cell_timeout=30, memory_bytes=2**30))
    assert results[0].result_text == f"({2**30}, {2**30})"
    assert [r.ename for r in results[1:3]] == ["MemoryError", "MemoryError"]
    assert results[3].result_text == "16777216.0"


@pytest.mark.kernel
def test_a_kernel_computes_with_one_thread_unless_the_graders_environment_says_otherwise(
    tmp_path, monkeypatch
):
    code = f"import os, torch\n[os.environ.get(n) for n in {box.THREAD_VARIABLES}] + "
    steps = [Step(code + "[torch.get_num_threads()]")]
    kinds = [None] + [kind for kind in box.KINDS if box.usable(kind)]  # unboxed, every box here
    for setting, seen in [
        ({}, "['1', '1', '1', 1]"),
        ({"OMP_NUM_THREADS": ""}, "['1', '1', '1', 1]"),  # set but empty: not a choice
        ({"OMP_NUM_THREADS": "2"}, "['2', None, None, 2]"),  # the instructor's, alone
    ]:
        for name in box.THREAD_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in setting.items():
            monkeypatch.setenv(name, value)
        for kind in kinds:
            [result] = run_steps(steps, tmp_path, Limits(cell_timeout=60, box=kind))
            assert result.result_text == seen, (setting, kind, result)


def test_the_kernel_manager_hands_out_the_client_that_does_not_wait_for_silence():
    manager = kernel.BoxedKernelManager()
    assert isinstance(manager.client(), kernel.ReadyClient)
    # nbclient calls wait_for_ready, which jupyter_client's async client aliases to its own
    # coroutine: the alias must be ours
    assert kernel.ReadyClient.wait_for_ready is kernel.ReadyClient._async_wait_for_ready


@pytest.mark.kernel
def test_the_first_cells_of_a_fresh_kernel_see_their_own_outputs_only(tmp_path):
    """Messages of the start (the kernel's status while it answered kernel_info) may still be
    on iopub when the first cell runs: they are not the cell's."""
    steps = [Step("40 + 2"), Step("print('x'); 7"), Step("1 / 0")]
    for _ in range(3):
        results = run_steps(steps, tmp_path, Limits(cell_timeout=30))
        assert [(r.outcome, r.result_text, r.ename) for r in results] == [
            (OK, "42", ""), (OK, "7", ""), (ERROR, "", "ZeroDivisionError")
        ]  # fmt: skip


@pytest.mark.kernel
def test_the_submission_time_limit_stops_grading(tmp_path):
    steps = [Step("import time"), Step("time.sleep(60)"), Step("1")]
    results = run_steps(steps, tmp_path, Limits(cell_timeout=60, submission_timeout=4))
    assert results[1].outcome in (TIMEOUT, NOT_RUN)
    assert (results[2].outcome, results[2].evalue) == (
        NOT_RUN,
        "the submission's time limit passed",
    )


@pytest.mark.kernel
def test_guard_restores_what_student_code_patched(tmp_path):
    key = secrets.token_bytes(32)
    patches = (
        "import numpy, builtins, sys, rmcourse.grading.checks as c\n"
        "torch.allclose = lambda *a, **k: True\n"
        "torch.Tensor.__eq__ = lambda a, b: True\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "numpy.mean.__code__ if hasattr(numpy.mean, '__code__') else None\n"
        "c.make_checks.__code__ = (lambda: None).__code__\n"
        "builtins.abs = lambda x: 0\n"
        "builtins.AssertionError = type('Fake', (Exception,), {})\n"
        "builtins.extra_name = 1\n"
        "sys.excepthook = None\n"
        "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)\n"
        "get_ipython().input_transformers_post.append(lambda lines: lines)\n"
        "get_ipython().events.register('pre_run_cell', lambda *a: None)\n"
        "sys.settrace(lambda *a: None)\n"
        "_grader = None\n"
        "get_ipython().showtraceback = lambda *a, **k: None\n"
        "import rmcourse.np_loss as _m\n_m.log_sigmoid = None\n"
        "import importlib.abc, types, rmcourse\n"
        "class _Fake(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.startswith('rmcourse.'):\n"
        "            return importlib.util.spec_from_loader(name, self)\n"
        "    def create_module(self, spec):\n"
        "        return types.ModuleType(spec.name)\n"
        "    def exec_module(self, module):\n"
        "        module.log_sigmoid = lambda x: 'fake'\n"
        "sys.meta_path.insert(0, _Fake())\n"
        "rmcourse.__path__.insert(0, '/nonexistent')\n"
        "sys.path.insert(0, '/nonexistent')\n"
        "sys.path_hooks.insert(0, lambda entry: None)\n"
        "sys.path_importer_cache['/nonexistent'] = None\n"
    )
    check = (
        "import numpy, builtins, sys\n"
        "(numpy.allclose([1], [2]), abs(-3), AssertionError.__name__, hasattr(builtins, "
        "'extra_name'), sys.excepthook is sys.__excepthook__ or callable(sys.excepthook), "
        "get_ipython().custom_exceptions, len(get_ipython().input_transformers_post), "
        "len(get_ipython().events.callbacks['pre_run_cell']) == n_pre, sys.gettrace(), "
        "type(_grader).__name__, 'showtraceback' in vars(get_ipython()), "
        "torch.allclose(torch.zeros(1), torch.ones(1)), '__eq__' in vars(torch.Tensor), "
        "[type(f).__name__ for f in sys.meta_path] == meta, '/nonexistent' in sys.path + "
        "rmcourse.__path__, len(sys.path_hooks) == n_hooks, '/nonexistent' in "
        "sys.path_importer_cache)"
    )
    steps = [
        Step("import torch\nfrom rmcourse.grading.checks import checks as _grader"),
        Step(
            f"from rmcourse.grading.guard import install\nguard = install(get_ipython(), "
            f"{key!r})\nn_pre = len(get_ipython().events.callbacks"
            "['pre_run_cell'])\nn_post = len(get_ipython().input_transformers_post)\n"
            "import sys, rmcourse\nmeta = [type(f).__name__ for f in sys.meta_path]\n"
            "n_hooks = len(sys.path_hooks)"
        ),
        Step("'guard' in dir()"),
        Step(patches),
        Step("guard('challenge')"),
        Step(check),
        Step("n_post"),
        Step(
            "import importlib\nfloat(importlib.import_module('rmcourse.np_loss').log_sigmoid(0.0))"
        ),
    ]
    results = run_steps(steps, tmp_path, Limits(cell_timeout=30))
    assert [(r.outcome, r.evalue) for r in results] == [(OK, "")] * len(steps)
    assert results[2].result_text == "True"
    import hashlib
    import hmac

    assert results[4].result_text == repr(hmac.new(key, b"challenge", hashlib.sha256).hexdigest())
    n_post = int(results[6].result_text)
    assert results[7].result_text == "-0.6931471805599453"  # re-imported, unpatched
    assert " ".join(results[5].result_text.split()) == (  # the repr may wrap
        f"(False, 3, 'AssertionError', False, True, (), {n_post}, True, None, 'Checks', False, "
        "False, False, True, False, True, False)"
    )


# --- gradebook and command -----------------------------------------------------------------


def _result(student, points, assignment="02_numpy_loss"):
    return SubmissionResult(
        student,
        assignment,
        (ExerciseResult("f", points, 2.0, by_points(points, 2.0), "a note", ()),),
    )


def test_record_updates_one_student_and_keeps_the_others(tmp_path):
    out = tmp_path / "grades" / "gradebook.csv"
    record(out, _result("ann", 1.0))
    record(out, _result("bob", 2.0))
    record(out, _result("ann", 0.5, assignment="03_pytorch_loss"))
    record(out, _result("ann", 2.0))
    rows = read_rows(out)
    assert [(r["student"], r["exercise"], r["points"]) for r in rows] == [
        ("ann", "f", "2"),
        ("bob", "f", "2"),
    ]  # "f" of 03 replaced "f" of 02: same exercise id
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "feedback",
        "gradebook.csv",
        "gradebook.json",
    ]
    assert (out.parent / "feedback" / "03_pytorch_loss" / "ann.md").exists()


def test_merge_rows_keeps_other_exercises_of_the_same_student():
    rows = [
        {"student": "ann", "exercise": "g", "points": "1", "max_points": "1", "status": "passed"}
    ]
    merged = merge_rows(rows, _result("ann", 1.0))
    assert [(r["exercise"], r["points"]) for r in merged] == [("g", "1"), ("f", "1")]


def test_read_rows_refuses_a_csv_that_is_not_a_gradebook(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("name,score\nann,3\n")
    with pytest.raises(ValueError, match="is not a gradebook"):
        read_rows(path)


def test_feedback_page_lists_failed_checks():
    result = SubmissionResult(
        "ann",
        "02",
        (
            ExerciseResult(
                "f",
                1.0,
                3.0,
                "partial",
                "",
                (
                    CheckResult("f_visible", 1.0, 1.0, "passed"),
                    CheckResult("f_hidden", 0.0, 2.0, "a hidden test failed: ValueError"),
                ),
            ),
        ),
    )
    page = feedback_markdown(result)
    assert "**1 / 3 points** (partial)" in page
    assert "- `f_hidden` (0/2) FAILED: a hidden test failed: ValueError" in page
    assert "- `f_visible` (1/1) passed" in page


@pytest.mark.parametrize(
    ("assignment", "folder", "message"),
    [
        ("99_nope", "subs", "no solution notebook"),
        ("02_numpy_loss", "missing", "does not exist"),
        ("02_numpy_loss", "subs", "no .ipynb files"),
    ],
)
def test_grade_command_reports_bad_arguments(tmp_path, capsys, assignment, folder, message):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "notes.txt").write_text("x")
    status = grade_command(tmp_path / folder, assignment, SOLUTIONS, tmp_path / "g.csv", 10.0)
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()


def test_grade_command_refuses_to_overwrite_a_csv_that_is_not_a_gradebook(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "eve.ipynb").write_text("")
    other = tmp_path / "marks.csv"
    other.write_text("name,mark\neve,3\n")
    assert grade_command(tmp_path / "subs", "02_numpy_loss", SOLUTIONS, other, 10.0) == 2
    assert "is not a gradebook" in capsys.readouterr().err
    assert other.read_text() == "name,mark\neve,3\n"
    assert not (tmp_path / "feedback").exists()


def test_grade_command_grades_and_prints_a_summary(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "eve.ipynb").write_text("")
    out = tmp_path / "g.csv"
    assert grade_command(subs, "02_numpy_loss", SOLUTIONS, out, 10.0) == 0
    printed = capsys.readouterr().out
    assert "eve          0   15  empty" in printed
    with open(out, newline="") as f:
        assert {r["status"] for r in csv.DictReader(f)} == {"empty"}


# --- statuses and points ---------------------------------------------------------------------

ZERO = (Status.NOT_A_NOTEBOOK, Status.EMPTY, Status.GRADER_ERROR, Status.COPIED, Status.UNANSWERED)
LOSS = (Status.TAMPERED, Status.MEMORY_LIMIT, Status.TIMEOUT, Status.KERNEL_DIED,
        Status.SOLUTION_ERROR)  # fmt: skip


@pytest.mark.parametrize("status", list(Status))
def test_every_status_says_what_it_means_for_the_points(status):
    allowed = {(p, m) for p, m in [(0, 2), (1, 2), (2, 2), (0, 0)] if status.allows(p, m)}
    expected = {
        **{s: {(0, 2), (0, 0)} for s in ZERO},
        **{s: {(0, 2), (1, 2)} for s in LOSS},
        Status.REVIEW: {(0, 2), (1, 2), (2, 2), (0, 0)},  # keeps the tests' points
        Status.PASSED: {(2, 2), (0, 0)},
        Status.PARTIAL: {(1, 2)},
        Status.FAILED: {(0, 2)},
    }[status]
    assert allowed == expected
    assert not status.allows(3, 2) and not status.allows(-1, 2)


def test_a_result_cannot_contradict_its_status():
    with pytest.raises(ValueError, match="status memory_limit contradicts 3 of 3 points"):
        ExerciseResult("f", 3.0, 3.0, "memory_limit", "", ())
    with pytest.raises(ValueError, match="'solved' is not a valid Status"):
        ExerciseResult("f", 3.0, 3.0, "solved", "", ())


def _tiny_assignment():
    meta = {"schema_version": 3, "solution": True, "grade": False, "locked": False, "task": False}
    solution = nbformat.v4.new_code_cell(
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
        metadata={"nbgrader": dict(meta, grade_id="f")},
    )
    test = nbformat.v4.new_code_cell(
        "assert f() == 1\n### BEGIN HIDDEN TESTS\n_grader.close(f(), 1, what='f() is one')\n"
        "### END HIDDEN TESTS",
        metadata={"nbgrader": dict(meta, grade_id="f_test", solution=False, grade=True, points=2)},
    )
    return parse_assignment("09_tiny", nbformat.v4.new_notebook(cells=[solution, test]))


def _scored(
    solution: StepResult, visible: StepResult, hidden: StepResult, install: StepResult | None = None
) -> ExerciseResult:
    """Score the tiny assignment from made-up step results (guards answer their challenges,
    unless ``install``, the guard's, failed: then they raise NameError)."""
    import hashlib
    import hmac

    assignment = _tiny_assignment()
    work = StudentWork((StudentCell("def f():\n    return 1", ("f",), -1, 2),), frozenset(), {}, {})
    steps = plan(assignment, work)
    results = []
    for i, role in enumerate(steps.roles):
        if role.kind == "guard" and install is not None and install.outcome != OK:
            results.append(StepResult("error", "NameError", "name 'guard' is not defined"))
        elif role.kind == "guard":
            digest = hmac.new(steps.key, steps.challenges[i].encode(), hashlib.sha256).hexdigest()
            results.append(StepResult(OK, result_text=repr(digest)))
        else:
            results.append({"solution": solution, "visible": visible, "hidden": hidden,
                            "install": install}.get(role.kind) or StepResult(OK))  # fmt: skip
    return score(assignment, steps, results, work, {}, 30.0)[0]


def test_a_problem_that_cost_no_points_leaves_the_status_to_the_points():
    ok = StepResult(OK)
    memory = StepResult("error", "MemoryError", "")
    result = _scored(memory, ok, ok)
    assert (result.points, result.status) == (2.0, Status.PASSED)
    assert "your solution cell failed: MemoryError" in result.note
    result = _scored(ok, memory, ok)
    assert (result.points, result.status) == (0.0, Status.MEMORY_LIMIT)
    raised, undefined = (
        StepResult("error", "ValueError", "x"),
        StepResult("error", "NameError", "f"),
    )
    result = _scored(raised, undefined, ok)
    assert (result.points, result.status) == (0.0, Status.SOLUTION_ERROR)


def test_a_solution_cell_that_killed_its_kernel_scores_nothing():
    ok = StepResult(OK)
    result = _scored(StepResult("died", kept_definitions=True), ok, ok)
    assert (result.points, result.status) == (0.0, Status.KERNEL_DIED)
    assert [c.feedback for c in result.checks] == ["not counted: the solution cell did not finish"]
    assert "kept the cell's definitions (def, class, import)" in result.note


def test_checks_that_did_not_start_are_the_graders_error_not_the_students():
    """The guard's install runs before any student code: when it fails (a kernel that cannot
    import the grader's rmcourse, a machine too loaded to finish it), no guard call can answer;
    that is not the notebook tampering with the checks."""
    ok = StepResult(OK)
    failed = StepResult("error", "ModuleNotFoundError", "No module named 'rmcourse'")
    result = _scored(ok, ok, ok, install=failed)
    assert (result.points, result.status) == (0.0, Status.GRADER_ERROR)
    assert result.note.startswith(
        "0 points: the grader's checks did not start in the kernel (ModuleNotFoundError: No "
        "module named 'rmcourse'); not your doing"
    )
    result = _scored(ok, ok, ok, install=StepResult("timeout", "TimeoutError", "cell ran past"))
    assert (result.points, result.status) == (0.0, Status.GRADER_ERROR)
    assert _scored(ok, ok, ok, install=ok).status == Status.PASSED


def test_a_hidden_failure_shows_the_checks_description():
    ok = StepResult(OK)
    wrong = StepResult("error", "AssertionError", "f() is one: 1 of 1 elements differ; got 2")
    result = _scored(ok, ok, wrong)
    assert result.checks[0].feedback == (
        "a hidden test failed: f() is one: the values differ from the expected ones"
    )


# --- a whole class: --jobs, interrupts, finding solutions/ ----------------------------------


def _class_folder(folder: Path, name: str) -> list[Path]:
    """A small class of one assignment: solved, untouched, a wrong first answer, broken files."""
    folder.mkdir()
    assignment = load_assignment(SOLUTIONS / f"{name}.ipynb")
    first = assignment.exercises[0]
    wrong = "\n".join(f"def {n}(*args, **kwargs):\n    return None\n" for n in first.names)
    nbformat.write(filled_exercise(name), folder / "ann.ipynb")
    nbformat.write(filled_exercise(name, {first.grade_id: wrong}), folder / "bob.ipynb")
    nbformat.write(make_exercise(assignment.notebook), folder / "cid.ipynb")
    (folder / "dan.ipynb").write_text("")
    (folder / "eve.ipynb").write_text("my answers: 1, 2, 3")
    return sorted(folder.glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.kernel
def test_jobs_grade_the_same_as_one_job(tmp_path):
    name = sorted(p.stem for p in SOLUTIONS.glob("[0-9]*.ipynb"))[0]
    paths = _class_folder(tmp_path / "class", name)
    written = {}
    for jobs in (1, 3):
        out = tmp_path / f"jobs{jobs}" / "gradebook.csv"
        results = command.grade_folder(
            paths, SOLUTIONS / f"{name}.ipynb", out, Limits(cell_timeout=60), jobs=jobs
        )
        assert [r.student for r in results] == ["ann", "bob", "cid", "dan", "eve"]
        files = sorted(p for p in out.parent.rglob("*") if p.is_file())
        written[jobs] = {str(p.relative_to(out.parent)): p.read_bytes() for p in files}
        statuses = [r.status for r in results]
        # ann's notebook is the solution's code: full marks, for review (pasted)
        assert statuses[0] == "review" and statuses[2:] == ["unanswered", "empty", "not_a_notebook"]
    assert written[1] == written[3]
    assert len(written[1]) == 2 + 5  # the CSV, its JSON and a feedback page per student


# The scripts the tests interrupt install Python's Ctrl-C handler themselves: Python does not
# when it starts with SIGINT ignored, as it is under pytest run as a script's background job.
INTERRUPTED = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
import sys
from pathlib import Path
from rmcourse.grading.command import grade_folder
from rmcourse.grading.execute import Limits
folder, solution, out = map(Path, sys.argv[1:])
grade_folder(sorted(folder.glob("*.ipynb")), solution, out, Limits(cell_timeout=600), jobs=2)
"""


@pytest.mark.slow
@pytest.mark.kernel
def test_an_interrupt_keeps_what_was_recorded_and_leaves_no_kernel(tmp_path):
    name, folder = _empty_class(tmp_path)
    (folder / "a_empty.ipynb").write_text("")
    (folder / "b_empty.ipynb").write_text("")
    marker = f"600.{secrets.randbelow(10**6):06d}"  # a `sleep` the host can see the kernels run
    for student in ("c_sleeps", "d_sleeps"):
        nb = filled_exercise(name)
        nb.cells.insert(0, nbformat.v4.new_code_cell(
            f"import subprocess\nsubprocess.run(['sleep', {marker!r}])"))  # fmt: skip
        nbformat.write(nb, folder / f"{student}.ipynb")
    out = tmp_path / "gradebook.csv"
    args = [sys.executable, "-c", INTERRUPTED, folder, SOLUTIONS / f"{name}.ipynb", out]
    grader = subprocess.Popen(args, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while len(_running_with(marker)) < 2 or not out.exists():
        assert time.monotonic() < deadline and grader.poll() is None, grader.stderr.read()
        time.sleep(0.5)
    sleeps = _running_with(marker)
    kernels = [_parent(pid) for pid in sleeps]
    os.killpg(grader.pid, signal.SIGINT)  # Ctrl-C in the grader's terminal
    assert grader.wait(timeout=120) != 0
    rows = read_rows(out)
    assert {r["student"] for r in rows} == {"a_empty", "b_empty"}
    assert {r["status"] for r in rows} == {"empty"}
    assert not list(tmp_path.rglob("*.tmp"))
    _all_end(sleeps + kernels)


def _running_with(marker: str) -> list[int]:
    """The processes of this machine whose command line holds ``marker``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes() and _running(int(cmdline.parent.name)):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[1])


# A grading stand-in that starts processes non-stop, as a worker starting kernels does, with a
# slow at-fork callback: a SIGTERM that lands in one raises SystemExit there, which Python drops
# ("Exception ignored in: <function _releaseLock>"): the worker grades on. That is how a Ctrl-C
# once left `rmcourse grade` waiting for a worker busy with a 600-s cell.
BUSY = """
import os, subprocess, time
os.register_at_fork(after_in_parent=lambda: time.sleep(0.02))

def grade(path):
    path.with_suffix(".pid").write_text(str(os.getpid()))
    end = time.monotonic() + 600
    while time.monotonic() < end:
        subprocess.run(["true"], preexec_fn=os.getpid)
"""
GRACE_S = 0.5  # the stand-in's grace after each SIGTERM (a worker that is slower gets SIGKILL)
POOLED = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import busy
from rmcourse.grading import command
command.STOP_GRACE_S = {grace}
list(command._pooled(sorted(Path(sys.argv[1]).glob("*.ipynb")), busy.grade, 2))
"""


@pytest.mark.slow
def test_an_interrupt_ends_the_pool_even_when_a_worker_drops_its_sigterm(tmp_path):
    # One run at each of four offsets: a busy worker spends most of its time in the at-fork
    # callback, so a SIGTERM lands there (and is dropped) in nearly every run.
    for run in range(4):
        folder = tmp_path / f"run{run}"
        folder.mkdir()
        (folder / "busy.py").write_text(BUSY)
        for student in ("ann", "bob", "cid"):
            (folder / f"{student}.ipynb").write_text("")
        pooled = POOLED.format(grace=GRACE_S)
        grader = subprocess.Popen([sys.executable, "-c", pooled, folder], start_new_session=True)
        pid_files = [folder / "ann.pid", folder / "bob.pid"]
        deadline = time.monotonic() + 120
        while not all(p.exists() and p.read_text() for p in pid_files):
            assert time.monotonic() < deadline and grader.poll() is None
            time.sleep(0.1)
        time.sleep(0.1 * run)
        start = time.monotonic()
        os.killpg(grader.pid, signal.SIGINT)
        assert grader.wait(timeout=30) != 0
        assert time.monotonic() - start < 2 * GRACE_S + 10  # two graces, then SIGKILL
        _all_end([int(p.read_text()) for p in pid_files])
        assert not (folder / "cid.pid").exists()  # cancelled, never started


def _empty_class(tmp_path: Path) -> tuple[str, Path]:
    """The first assignment's name and a new, empty class folder."""
    folder = tmp_path / "class"
    folder.mkdir()
    return sorted(p.stem for p in SOLUTIONS.glob("[0-9]*.ipynb"))[0], folder


def _all_end(pids: list[int]) -> None:
    """Wait (30 s at most) until none of the processes ``pids`` runs any more."""
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in pids):
        assert time.monotonic() < deadline, f"kernels left running: {pids}"
        time.sleep(0.5)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_grade_finds_the_course_solutions_from_anywhere(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "eve.ipynb").write_text("")
    out = tmp_path / "g.csv"
    assert grade_command(tmp_path / "subs", "02_numpy_loss", None, out, 10.0, jobs=1) == 0
    assert read_rows(out)[0]["status"] == "empty"
    assert grade_command(tmp_path / "subs", "02_numpy", None, out, 10.0, jobs=1) == 2
    error = capsys.readouterr().err
    assert "no solution notebook" in error and "02_numpy_loss" in error
    assert ", ".join(sorted(p.stem for p in SOLUTIONS.glob("[0-9]*.ipynb"))) in error


# --- a grading process that dies, a kernel that does not start ----------------------------


@pytest.mark.slow
@pytest.mark.kernel
def test_a_cell_that_kills_the_grading_process_costs_only_its_author(tmp_path):
    name, folder = _empty_class(tmp_path)
    nbformat.write(filled_exercise(name), folder / "ann.ipynb")
    nbformat.write(filled_exercise(name), folder / "bob.ipynb")
    killer = filled_exercise(name)
    pid_file = tmp_path / "kernel.pid"
    killer.cells.insert(0, nbformat.v4.new_code_cell(
        f"import os, signal, time\nopen({str(pid_file)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        "os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(600)"))  # fmt: skip
    nbformat.write(killer, folder / "cid.ipynb")
    out = tmp_path / "gradebook.csv"
    paths = sorted(folder.glob("*.ipynb"))
    unboxed = Limits(box=None)  # in a box the kernel cannot see, nor signal, its grader
    results = command.grade_folder(paths, SOLUTIONS / f"{name}.ipynb", out, unboxed, jobs=2)
    assert [r.student for r in results] == ["ann", "bob", "cid"]
    assert [r.status for r in results] == ["review", "review", "grader_error"]  # the solution
    assert "died, twice" in results[2].exercises[0].note
    assert {r["student"] for r in read_rows(out)} == {"ann", "bob", "cid"}
    kernels = [int(line) for line in pid_file.read_text().split()]
    assert len(kernels) == 2  # in the class, then alone; each killed with its grading process
    _all_end(kernels)


@pytest.mark.kernel
def test_a_kernel_that_fails_to_start_is_started_again(tmp_path, monkeypatch):
    real, starts = execute._new_client, []

    def first_cannot_start(workdir, limits, sockets):  # its folder is gone: the start fails
        starts.append(sockets)
        return real(workdir if len(starts) > 1 else tmp_path / "gone", limits, sockets)

    monkeypatch.setattr(execute, "_new_client", first_cannot_start)
    results = run_steps([Step("1 + 1")], tmp_path, Limits(cell_timeout=20))
    assert [(r.outcome, r.result_text) for r in results] == [("ok", "2")]
    assert len(starts) == 2


@pytest.mark.kernel
def test_a_kernel_that_never_starts_is_a_clear_error(tmp_path, monkeypatch):
    real = execute._new_client
    monkeypatch.setattr(execute, "_new_client", lambda w, lim, s: real(tmp_path / "gone", lim, s))
    with pytest.raises(execute.KernelStartError, match="no kernel started in 3 tries"):
        run_steps([Step("1 + 1")], tmp_path, Limits(cell_timeout=20))


# --- where the kernel finds the course library --------------------------------------------------


class _HookFinder:
    """An import hook finding ``hooked_lib`` in one folder, as an editable install's finder
    finds its package: the folder is on neither ``sys.path`` nor a prefix."""

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder)

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] != "hooked_lib":
            return None
        import importlib.machinery

        return importlib.machinery.PathFinder.find_spec(name, path or [self.folder])


def test_a_library_found_by_an_import_hook_is_library_code(tmp_path, monkeypatch):
    from rmcourse.grading.origin import make_origin_check

    package = tmp_path / "lib" / "hooked_lib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text("def double(x):\n    return 2 * x\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.chdir(scratch)
    monkeypatch.setattr(sys, "meta_path", [_HookFinder(tmp_path / "lib"), *sys.meta_path])
    for name in [n for n in sys.modules if n.split(".")[0] == "hooked_lib"]:
        monkeypatch.delitem(sys.modules, name)
    import hooked_lib  # noqa: F401  (imported before the check, like rmcourse in a kernel)

    cell = "def f(x):\n    return core.double(x)\n"
    check = make_origin_check([cell])
    import hooked_lib.core  # after the check: only its file vouches for it

    namespace = {"core": hooked_lib.core}
    exec(compile(cell, "<cell>", "exec"), namespace)
    assert check(namespace, ("f",), ()) == []
    time.sleep(0.01)  # a file written after the check is not the library's
    (package / "later.py").write_text("def double(x):\n    return 2 * x\n")
    import hooked_lib.later

    namespace["core"] = hooked_lib.later
    report = check(namespace, ("f",), ())
    assert ("f", f"f calls core.double, which comes from the file {package / 'later.py'} "
            "(module hooked_lib.later)") in report, report  # fmt: skip


@pytest.mark.kernel
@pytest.mark.parametrize("kind", [None, "auto"])
def test_the_kernel_imports_the_graders_rmcourse(tmp_path, monkeypatch, kind):
    """Also where the grader found rmcourse by its working folder or an editable install's
    hook, not the kernel's PYTHONPATH (before, a boxed kernel imported another copy or none)."""
    if kind == "auto" and box.available()[0] is None:
        pytest.skip("no box can be made here")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    package = Path(rmcourse.np_loss.__file__).resolve().parent
    assert box.kernel_pythonpath().split(os.pathsep)[0] == str(package.parent)
    steps = [Step("import os, rmcourse\nos.path.realpath(rmcourse.__file__)")]
    [result] = run_steps(steps, tmp_path, Limits(cell_timeout=60, box=kind))
    assert result.outcome == OK and result.result_text == repr(str(package / "__init__.py"))
