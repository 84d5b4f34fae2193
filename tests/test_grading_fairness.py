"""The grader is fair to honest notebooks, built from the real solution of every assignment.

Honest work as students produce it: cells they add (helpers above the answer), a notebook saved
with Windows line endings, tabs, comments, blank lines and trailing spaces, cell metadata lost in a
fresh notebook, an old attempt kept above the final one (a copied cell), a cell that kills its
kernel. Each is read statically for every assignment (cheap), then graded end to end. Hidden
tests: their feedback shows the instructor's descriptions and no line of hidden code reaches the
feedback, the gradebook or the kernel's history, even when student code spies on the tests.
"""

from __future__ import annotations

import ast
import copy
import functools
import io
import json
import re
import tokenize
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from helpers import (
    GRADING_LIMITS,
    ROOT,
    SOLUTIONS,
    assignment_names,
    filled_exercise,
    grade_submissions,
    solution_code,
)

from rmcourse.grading import command, gradebook
from rmcourse.grading.anticopy import (
    PASTED_MIN_NODES,
    _shape,
    copied_exercises,
    pasted_exercises,
)
from rmcourse.grading.execute import ERROR, StepResult
from rmcourse.grading.feedback import descriptions, hidden_failure, withhold_secrets
from rmcourse.grading.plan import plan
from rmcourse.grading.results import SubmissionResult
from rmcourse.grading.source import Assignment, is_solution, load_assignment, nbgrader
from rmcourse.grading.submission import student_work

ASSIGNMENTS = assignment_names()
LIMITS = GRADING_LIMITS


@functools.cache
def _assignment(name: str) -> Assignment:
    return load_assignment(SOLUTIONS / f"{name}.ipynb")


@functools.cache
def _solved(name: str) -> nbformat.NotebookNode:
    return filled_exercise(name)


def _filled(name: str) -> nbformat.NotebookNode:
    """The exercise notebook filled in with the solution (a fresh copy)."""
    return copy.deepcopy(_solved(name))


# --- harmless reformattings -------------------------------------------------------------------


def _tokens(code: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(code).readline))


def _line_ends(code: str) -> set[int]:
    """Lines that end outside any string: a comment or spaces may follow them."""
    return {t.start[0] for t in _tokens(code) if t.type in (tokenize.NEWLINE, tokenize.NL)}


def _in_strings(code: str) -> set[int]:
    """Lines inside a multi-line string (after its first line)."""
    return {
        line
        for t in _tokens(code)
        if t.type == tokenize.STRING
        for line in range(t.start[0] + 1, t.end[0] + 1)
    }


def crlf(code: str) -> str:
    return code.replace("\n", "\r\n")


def tabs(code: str) -> str:
    inside = _in_strings(code)
    lines = code.split("\n")
    for i, line in enumerate(lines):
        if i + 1 not in inside:
            indent = len(line) - len(line.lstrip(" "))
            lines[i] = "\t" * (indent // 4) + " " * (indent % 4) + line[indent:]
    return "\n".join(lines)


def comments(code: str) -> str:
    ends = _line_ends(code)
    lines = code.split("\n")
    lines = [f"{line}  # checked" if i + 1 in ends else line for i, line in enumerate(lines)]
    return "# my work on this exercise\n" + "\n".join(lines)


def blank_lines(code: str) -> str:
    ends = {t.start[0] for t in _tokens(code) if t.type == tokenize.NEWLINE}
    lines = code.split("\n")
    return "\n".join(line + ("\n" if i + 1 in ends else "") for i, line in enumerate(lines))


def whitespace(code: str) -> str:
    ends = _line_ends(code)
    lines = code.split("\n")
    return "\n".join(line + "   " if i + 1 in ends else line for i, line in enumerate(lines))


REFORMATS: dict[str, Callable[[str], str]] = {
    "crlf": crlf,
    "tabs": tabs,
    "comments": comments,
    "blank_lines": blank_lines,
    "whitespace": whitespace,
    "all": lambda code: crlf(tabs(whitespace(blank_lines(comments(code))))),
}


def _reformatted(nb: nbformat.NotebookNode, style: str) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code":
            new = REFORMATS[style](cell.source)
            # harmless: the same program (the test's own check of its reformattings)
            assert ast.dump(ast.parse(new)) == ast.dump(ast.parse(cell.source)), new
            cell.source = new
    return nb


def _without_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def _roles(assignment: Assignment, nb: nbformat.NotebookNode) -> list[tuple]:
    steps = plan(assignment, student_work(nb, assignment))
    return [(r.kind, r.exercises, r.test) for r in steps.roles]


@pytest.mark.parametrize("style", sorted(REFORMATS))
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_a_reformatted_solution_is_the_solution_and_never_copied(name, style):
    assignment = _assignment(name)
    nb = _reformatted(_filled(name), style)
    work = student_work(nb, assignment)
    assert [c.exercises for c in work.cells] == [(e.grade_id,) for e in assignment.exercises]
    assert not work.unanswered and not work.duplicates and not work.by_name
    assert copied_exercises(work, assignment) == {}
    assert _roles(assignment, nb) == _roles(assignment, _filled(name))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_without_metadata_solution_cells_are_found_by_function_name(name):
    assignment = _assignment(name)
    nb = _without_metadata(_reformatted(_filled(name), "all"))
    work = student_work(nb, assignment)
    numbers = {
        nbgrader(cell)["grade_id"]: n
        for n, cell in enumerate(_filled(name).cells, start=1)
        if is_solution(cell)
    }
    named = [e.grade_id for e in assignment.exercises if e.names]
    assert work.by_name == {e: (numbers[e],) for e in named}
    assert work.unanswered == {e.grade_id for e in assignment.exercises if not e.names}
    assert copied_exercises(work, assignment) == {}
    # the instructor's cells are recognised by their code: the same cells run, in the same order
    assert _roles(assignment, nb) == _roles(assignment, _filled(name))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_solution_notebook_without_metadata_is_read_as_the_solution(name):
    """Every cell of the solution notebook itself pasted into a fresh notebook (test cells with
    their hidden blocks): the instructor's cells are recognised, nothing counts as copied."""
    assignment = _assignment(name)
    nb = _without_metadata(nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4))
    work = student_work(nb, assignment)
    assert [c.exercises for c in work.cells] == [(e.grade_id,) for e in assignment.exercises]
    assert not work.unanswered and copied_exercises(work, assignment) == {}
    assert _roles(assignment, nb) == _roles(assignment, _filled(name))


class _Rename(ast.NodeTransformer):
    """Renames a function's arguments and local variables (a student disguising a paste)."""

    def __init__(self, local: set[str]) -> None:
        self.local = local

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id in self.local:
            node.id = f"my_{node.id}"
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = f"my_{node.arg}"
        return node


def _disguised(code: str) -> str:
    """``code`` with its functions' variables renamed, docstrings and comments dropped, and
    reformatted."""
    tree = ast.parse(code)
    for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        local = {a.arg for a in ast.walk(fn.args) if isinstance(a, ast.arg)}
        local |= {
            n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        _Rename(local).visit(fn)
        if isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant):
            fn.body = fn.body[1:] or [ast.Pass()]
    return tabs(ast.unparse(tree))


def _nodes(code: str) -> int:
    fns = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.FunctionDef)]
    return max(len(_shape(fn)) for fn in fns)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_a_pasted_solution_is_flagged_for_review_however_disguised(name):
    assignment = _assignment(name)
    code = solution_code(name)
    disguised = {e: _disguised(c) for e, c in code.items()}
    assert all(disguised[e] != code[e] for e in code)
    work = student_work(filled_exercise(name, disguised), assignment)
    long_enough = {e for e in code if _nodes(code[e]) >= PASTED_MIN_NODES}
    assert long_enough  # every assignment has answers long enough to recognise
    pasted = pasted_exercises(work, assignment)
    assert set(pasted) == long_enough, pasted
    assert all("matches the solution's" in pasted[e] for e in pasted)
    assert copied_exercises(work, assignment) == {}


LIBRARY_PASTES = {  # exercise -> the course library's function of the same role
    "02_numpy_loss": ("bt_loss", "np_loss"),
    "03_pytorch_loss": ("bt_loss", "torch_loss"),
}


@pytest.mark.parametrize("name", sorted(LIBRARY_PASTES))
def test_the_course_librarys_function_pasted_into_a_cell_is_flagged(name):
    grade_id, module = LIBRARY_PASTES[name]
    source = (ROOT / "rmcourse" / f"{module}.py").read_text(encoding="utf-8")
    fn = next(n for n in ast.parse(source).body if getattr(n, "name", "") == grade_id)
    pasted_code = _disguised(ast.get_source_segment(source, fn))
    assignment = _assignment(name)
    work = student_work(filled_exercise(name, {grade_id: pasted_code}), assignment)
    assert pasted_exercises(work, assignment)[grade_id].endswith(
        f"matches rmcourse.{module}.{grade_id}"
    )


SHORT_ANSWERS = {  # natural answers everyone writes alike: never flagged
    "02_numpy_loss": {"log_sigmoid": "def log_sigmoid(x):\n    return -np.logaddexp(0, -x)\n"},
    "07_dpo": {
        "dpo_loss": "def dpo_loss(pc, pr, rc, rr, beta=0.1):\n"
        "    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()\n"
    },
    "06_best_of_n": {"bon_kl": "def bon_kl(n):\n    return np.log(n) - (n - 1) / n\n"},
}


@pytest.mark.parametrize("name", sorted(SHORT_ANSWERS))
def test_a_short_natural_answer_is_not_flagged(name):
    assignment = _assignment(name)
    answers = SHORT_ANSWERS[name]
    work = student_work(filled_exercise(name, answers), assignment)
    assert not set(answers) & set(pasted_exercises(work, assignment))


def _renamed(code: str, names: tuple[str, ...], prefix: str) -> str:
    for name in names:
        code = re.sub(rf"^def {name}\(", f"def {prefix}{name}(", code, flags=re.MULTILINE)
    return code


def _delegating(names: tuple[str, ...], prefix: str) -> str:
    return "\n".join(
        f"def {n}(*args, **kwargs):\n    return {prefix}{n}(*args, **kwargs)\n" for n in names
    )


def _ordinary(name: str) -> nbformat.NotebookNode:
    """How students work: each answer delegates to a helper in a cell of their own above it,
    an old attempt (a copy of the answer cell) stays above the final one, and the notebook is
    saved with CRLF, tabs, comments, blank lines and trailing spaces."""
    assignment = _assignment(name)
    code = solution_code(name)
    nb = _filled(name)
    cells = []
    for cell in nb.cells:
        if is_solution(cell):
            exercise = next(
                e for e in assignment.exercises if e.grade_id == nbgrader(cell)["grade_id"]
            )
            cells.append(
                nbformat.v4.new_code_cell(
                    _renamed(code[exercise.grade_id], exercise.names, "_mine_")
                )
            )
            old = nbformat.v4.new_code_cell(
                "\n".join(f"def {n}(*args, **kwargs):\n    return None\n" for n in exercise.names),
                metadata=cell.metadata,
            )
            cells.append(old)
            cell.source = _delegating(exercise.names, "_mine_")
        cells.append(cell)
    nb.cells = cells
    return _reformatted(nb, "all")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_own_cells_and_old_attempts_run_where_they_stand(name):
    assignment = _assignment(name)
    nb = _ordinary(name)
    work = student_work(nb, assignment)
    expected = []
    for exercise in assignment.exercises:  # own helper, old attempt, final answer
        expected += [("own", (exercise.grade_id,)), ("solution", (exercise.grade_id,))] + [
            ("solution", (exercise.grade_id,))
        ]
    roles = _roles(assignment, nb)
    assert [(k, e) for k, e, _ in roles if k in ("own", "solution")] == expected
    assert set(work.duplicates) == {e.grade_id for e in assignment.exercises}
    assert not work.unanswered and copied_exercises(work, assignment) == {}
    for exercise in assignment.exercises:  # all three cells run before the exercise's tests
        first_test = roles.index(("visible", (exercise.grade_id,), exercise.tests[0].grade_id))
        mine = [
            i
            for i, (k, e, _) in enumerate(roles)
            if e == (exercise.grade_id,) and k != "guard" and k in ("own", "solution")
        ]
        assert max(mine) < first_test


def _crashing(name: str) -> nbformat.NotebookNode:
    """The first solution cell kills its kernel at top level after defining its functions; a
    cell the student added after the last solution cell does the same."""
    first = _assignment(name).exercises[0].grade_id
    nb = _filled(name)
    last = max(i for i, cell in enumerate(nb.cells) if is_solution(cell))
    crash = "\nimport os\nos._exit(1)\n"
    nb.cells.insert(last + 1, nbformat.v4.new_code_cell("def _unused():\n    return 1\n" + crash))
    for cell in nb.cells:
        if is_solution(cell) and nbgrader(cell)["grade_id"] == first:
            cell.source += crash
    return nb


SPY = '''
import json as _json
import linecache as _linecache
import sys as _sys

_SEEN = []


def _hidden_caller():
    """The code of the cell running now when it is not the last input stored in In."""
    frame = _sys._getframe(1)
    while frame is not None and frame.f_code.co_name != "<module>":
        frame = frame.f_back
    source = "".join(_linecache.getlines(frame.f_code.co_filename)) if frame else ""
    return source if source.strip() != In[-1].strip() else ""


def _perturb(value):
    if isinstance(value, (tuple, list)):
        return type(value)(_perturb(v) for v in value)
    if isinstance(value, dict):
        return {k: _perturb(v) for k, v in value.items()}
    if value is None or isinstance(value, bool):
        return value
    try:
        return value * 1.5 + 1
    except Exception:
        return value
'''

SPY_WRAPPER = """
def {name}(*args, **kwargs):
    result = _spied_{name}(*args, **kwargs)
    caller = _hidden_caller()
    if caller:
        _SEEN.append(caller)
        return _perturb(result)
    return result
"""

SPY_REPORT = """
_history = get_ipython().history_manager
with open({dump!r}, "w") as _file:
    _json.dump({{
        "In": list(In), "_ih": list(_ih), "Out": [repr(v) for v in Out.values()],
        "raw": list(_history.input_hist_raw), "parsed": list(_history.input_hist_parsed),
        "range": [str(row) for row in _history.get_range(raw=True)],
        "search": [str(row) for row in _history.search("*")],
    }}, _file)
raise AssertionError("seen: " + "\\n".join(_SEEN))
"""


def _spying(name: str, dump: Path) -> nbformat.NotebookNode:
    """Every function answers right in visible tests and wrong in hidden ones (told apart by the
    input history), keeps the hidden code it is called from, and at the end dumps the kernel's
    history to ``dump`` and raises what it kept."""
    assignment = _assignment(name)
    nb = _filled(name)
    for cell in nb.cells:
        if is_solution(cell):
            exercise = next(
                e for e in assignment.exercises if e.grade_id == nbgrader(cell)["grade_id"]
            )
            cell.source = _renamed(cell.source, exercise.names, "_spied_") + "".join(
                SPY_WRAPPER.format(name=n) for n in exercise.names
            )
    first = next(i for i, cell in enumerate(nb.cells) if is_solution(cell))
    nb.cells.insert(first, nbformat.v4.new_code_cell(SPY))
    nb.cells.append(nbformat.v4.new_code_cell(SPY_REPORT.format(dump=str(dump))))
    return nb


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """Every kind of honest (and one spying) notebook of one assignment, graded with --jobs 2:
    (assignment, gradebook path, history dump path, results by student). The solution's grading
    is the one the other test files share (``helpers.grade_submissions``), recorded in the
    gradebook as ``rmcourse grade`` records it."""
    name = request.param
    folder = tmp_path_factory.mktemp(f"fairness-{name}")
    (folder / "in").mkdir()
    dump = folder / "history.json"
    notebooks = {
        "ordinary": _ordinary(name),
        "no_metadata": _without_metadata(_reformatted(_filled(name), "all")),
        "crash": _crashing(name),
        "spy": _spying(name, dump),
    }
    for student, nb in notebooks.items():
        nbformat.write(nb, folder / "in" / f"{student}.ipynb")
    out = folder / "gradebook.csv"
    solved = grade_submissions(name, {"solved": _filled(name)}, LIMITS)["solved"]
    gradebook.record(out, solved)
    paths = sorted((folder / "in").glob("*.ipynb"))
    honest = [p for p in paths if p.stem != "spy"]
    results = [solved]
    results += command.grade_folder(honest, SOLUTIONS / f"{name}.ipynb", out, LIMITS, jobs=2)
    # unboxed: the spy writes its kernel's history to `dump`, outside the box's scratch folder
    unboxed = replace(LIMITS, box=None)
    results += command.grade_folder([folder / "in" / "spy.ipynb"], SOLUTIONS / f"{name}.ipynb",
                                    out, unboxed)  # fmt: skip
    return _assignment(name), out, dump, {r.student: r for r in results}


def _rows(result: SubmissionResult) -> list[tuple[str, float, str]]:
    return [(e.exercise, e.points, str(e.status)) for e in result.exercises]


def _solved_rows(results: dict[str, SubmissionResult]) -> list[tuple[str, float, str]]:
    """What the solution itself earns (full marks: tests/test_grading_solutions.py checks it);
    honest work must earn the same."""
    return _rows(results["solved"])


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize(
    "student, note",
    [
        ("ordinary", "all carry this exercise's cell id"),  # own cells, an old attempt kept
        ("no_metadata", "matched by function name"),  # reformatted, cell metadata lost
    ],
)
def test_honest_work_earns_what_the_solution_earns_with_a_note(graded, student, note):
    _, _, _, results = graded
    result = results[student]
    assert _rows(result) == _solved_rows(results), result
    assert all(note in exercise.note for exercise in result.exercises), result


@pytest.mark.slow
@pytest.mark.kernel
def test_a_cell_that_kills_its_kernel_costs_only_its_own_exercise(graded):
    assignment, _, _, results = graded
    crash = results["crash"]
    first = assignment.exercises[0]
    assert _rows(crash) == [(first.grade_id, 0.0, "kernel_died")] + _solved_rows(results)[1:]
    assert "kept the cell's definitions" in crash.exercises[0].note
    assert all(c.feedback.startswith("not counted") for c in crash.exercises[0].checks)
    last = crash.exercises[-1].note
    assert "(a cell you added) failed" in last and "kept the cell's definitions" in last


@pytest.mark.slow
@pytest.mark.kernel
def test_hidden_code_reaches_neither_feedback_nor_gradebook_nor_history(graded):
    assignment, out, dump, results = graded
    # hidden lines, less those the instructor's descriptions state (see test below)
    secret = plan(assignment, student_work(_filled(assignment.name), assignment))
    secret = secret.secret_lines
    history = json.loads(dump.read_text(encoding="utf-8"))
    assert any(
        t.visible.strip() in "\n".join(history["In"])
        for e in assignment.exercises
        for t in e.tests
        if t.visible.strip()
    )  # the dump is the real history
    texts = [dump.read_text(encoding="utf-8"), out.with_suffix(".json").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in (out.parent / "feedback").rglob("*.md")]
    for text in texts:
        assert not [line for line in secret if line in text]
    spy = results["spy"]
    assert "(message withheld: it quotes hidden test code)" in spy.exercises[-1].note
    hidden_failures = [
        c.feedback
        for e in spy.exercises
        for c in e.checks
        if not c.passed
        and any(
            t.grade_id == c.test and t.hidden
            for t in next(x for x in assignment.exercises if x.grade_id == e.exercise).tests
        )
    ]
    assert hidden_failures and all(f.startswith("a hidden test failed: ") for f in hidden_failures)
    described = {
        d.text.split("…")[0]
        for e in assignment.exercises
        for t in e.tests
        for d in descriptions(t.hidden)
    } - {""}
    assert any(text in f for f in hidden_failures for text in described), hidden_failures


def _close_message(what: str) -> str:
    return f"{what}: 1 of 3 elements differ; worst at index (2,): got 1.5, expected 271.828"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hidden_failures_say_the_description_and_nothing_hidden(name):
    """Every described check of every hidden test, failing as close/assert would make it fail
    and with another exception on each of its lines."""
    assignment = _assignment(name)
    secret = plan(assignment, student_work(_filled(name), assignment))
    for exercise in assignment.exercises:
        for test in exercise.tests:
            checks = descriptions(test.hidden)
            for check in checks:
                said = check.text.replace("…", "7")
                evalue = _close_message(said) if check.kind == "close" else said
                text = hidden_failure(
                    StepResult(ERROR, "AssertionError", evalue), test.hidden, test.visible
                )
                if check.kind != "call":  # a call raises only the student's own exceptions
                    assert text.startswith(f"a hidden test failed: {said}"), (text, check)
                assert "271.828" not in text
                line = StepResult(ERROR, "ZeroDivisionError", "hidden", line=check.first_line)
                text = hidden_failure(line, test.hidden, test.visible)
                assert text.startswith("a hidden test failed: ZeroDivisionError (while checking:")
            for number, _ in enumerate(test.hidden.splitlines(), start=1):
                raised = StepResult(ERROR, "TypeError", test.hidden, line=number)
                text = withhold_secrets(
                    hidden_failure(raised, test.hidden, test.visible), secret.secret_lines
                )
                assert text.startswith("a hidden test failed: TypeError"), text
                assert not [s for s in secret.secret_lines if s in text]


def _student_calls(hidden: str, names: set[str]) -> set[int]:
    """Lines of ``hidden`` that call one of ``names`` (not inside a lambda: an exception there
    is reported at the line that calls the lambda)."""
    tree = ast.parse(hidden)
    in_lambda = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.Lambda)
        for inner in ast.walk(node.body)
    }
    return {
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in names
        and id(node) not in in_lambda
    }


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_an_exception_from_student_code_in_a_hidden_test_says_what_was_checked(name):
    """Every call of the student's functions in hidden code sits in a described check (a
    ``close``, a ``_grader.call(..., what=...)``, or the one check of its loop), so an exception
    it raises is reported with what was being checked, not only its type."""
    assignment = _assignment(name)
    names = {n for exercise in assignment.exercises for n in exercise.names}
    undescribed = []
    for exercise in assignment.exercises:
        for test in exercise.tests:
            for line in sorted(_student_calls(test.hidden, names)):
                raised = StepResult(ERROR, "TypeError", "", line=line)
                text = hidden_failure(raised, test.hidden, test.visible)
                if "(while checking: " not in text:
                    undescribed.append((test.grade_id, test.hidden.splitlines()[line - 1]))
            for check in descriptions(test.hidden):  # nothing fills a call's values back in
                if check.kind == "call" and "…" in check.text:
                    undescribed.append((test.grade_id, check.text))
    assert not undescribed, undescribed


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_naming_or_comparing_with_the_library_outside_the_function_is_never_copied(name):
    """Honest habits the lessons teach: a docstring or a print naming the library's function, an
    experiment cell calling it next to one's own (``help``, ``vars`` on the module included),
    a solution cell timed with ``%%time``. None is read as taking the answer from rmcourse."""
    assignment = _assignment(name)
    code = solution_code(name)
    answers = {}
    for exercise in assignment.exercises:
        fn = exercise.names[0] if exercise.names else "x"
        mention = f"rmcourse.np_loss.{fn}"
        answers[exercise.grade_id] = (
            f"%%time\n# compared with {mention}\n{code[exercise.grade_id]}\n"
            f"print('checked against {mention}')\n"
        )
    nb = filled_exercise(name, answers)
    compare = "".join(
        f"import rmcourse.np_loss as ref\nhelp(ref)\nprint(vars(ref).get({n!r}))\n"
        f"print(getattr(ref, {n!r}, None), ref.{n})\n"
        for e in assignment.exercises
        for n in e.names
    )
    nb.cells.append(nbformat.v4.new_code_cell(compare))
    work = student_work(nb, assignment)
    assert copied_exercises(work, assignment) == {}
    docstrings = {
        e: c.replace('"""', f'"""Same as rmcourse.np_loss.{e}: ', 1) for e, c in code.items()
    }
    work = student_work(filled_exercise(name, docstrings), assignment)
    assert any("rmcourse.np_loss" in cell.code for cell in work.cells)
    assert copied_exercises(work, assignment) == {}
