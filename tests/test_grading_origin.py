"""Points only for the code of the notebook's cells, on every assignment.

Each route by which a function an exercise asks for can come from elsewhere -- a module written
from a cell (``%%writefile``, ``open().write``) and imported with a plain ``import`` (at the top
of a cell or inside the function), the installed
rmcourse copied beside the notebook and star-imported from the copy, ``exec`` of a string, a
classmate's code run as a cell, a closure or ``functools.wraps`` decorator around a foreign
function, a foreign ``__code__`` put into the cell's function, a callable object with a fake
``__code__`` -- earns 0 points with status ``copied`` and a note naming where the code came from.
The legitimate patterns earn what the solution earns: helpers in other cells, a function defined
twice, a decorator made with ``functools``, a lambda, the solution notebook itself with every
cell's metadata lost. One class grading per assignment.

The routes share notebooks, one route per exercise of a notebook, so that every route is tried
on every assignment in a few gradings. On most assignments they replace exercises that no other
exercise calls (a copied function called by another would make that one copied too), in the
whole notebook, so the other rows must stay the solution's. On the assignments that are slow to
grade (``helpers.SLOW_TO_GRADE``: their later exercises train models) they replace exercises
that call no other, in a notebook that answers them alone, so the other rows must be unanswered
with 0 points; the solution and the metadata-less solution stay whole notebooks there too. The
legitimate helper replaces one exercise: the last, or the first on a slow assignment.
"""

from __future__ import annotations

import ast
import functools
import re

import nbformat
import pytest
from helpers import (
    SLOW_TO_GRADE,
    SOLUTIONS,
    answered_exercise,
    assignment_names,
    filled_exercise,
    grade_submissions,
    solution_code,
)

from rmcourse.grading.source import Exercise, is_solution, load_assignment, nbgrader

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

ASSIGNMENTS = assignment_names()
# where the course library holds the target exercise's function, for the copied-package route
LIBRARY_MODULE = {"02_numpy_loss": "np_loss", "03_pytorch_loss": "torch_loss"}
HEADER = "from __main__ import *  # the notebook's names, as the cell would see them\n"


def _target(name: str) -> Exercise:
    """The exercise the legitimate helper replaces: the last one, or the first on a slow
    assignment."""
    exercises = load_assignment(SOLUTIONS / f"{name}.ipynb").exercises
    return exercises[0] if name in SLOW_TO_GRADE else exercises[-1]


def _calls(name: str) -> dict[str, set[str]]:
    """grade_id -> the grade_ids of the other exercises whose functions its solution code names."""
    exercises = load_assignment(SOLUTIONS / f"{name}.ipynb").exercises
    code = solution_code(name)
    calls = {}
    for exercise in exercises:
        tree = ast.parse(code[exercise.grade_id])
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        calls[exercise.grade_id] = {
            other.grade_id for other in exercises if other != exercise and names & set(other.names)
        }
    return calls


def _targets(name: str) -> list[Exercise]:
    """The exercises the routes replace, in the notebook's order: those no other exercise calls
    (whole notebook), or on a slow assignment those that call no other (answered alone)."""
    exercises = load_assignment(SOLUTIONS / f"{name}.ipynb").exercises
    calls = _calls(name)
    if name in SLOW_TO_GRADE:
        return [e for e in exercises if not calls[e.grade_id]]
    called = set().union(*calls.values())
    return [e for e in exercises if e.grade_id not in called]


def _notebook(name: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The exercise notebook with ``answers`` (grade_id -> code): the solution's code in every
    other solution cell, or (slow assignments) the stub, unanswered."""
    if name in SLOW_TO_GRADE:
        return answered_exercise(name, answers)
    return filled_exercise(name, answers)


def _others(name: str, solved: dict[str, tuple[float, str]]) -> dict[str, tuple[float, str]]:
    """The rows of the exercises a route's notebook leaves as they are: the solution's (whole
    notebook), or unanswered with 0 points (slow assignments)."""
    if name in SLOW_TO_GRADE:
        return {exercise: (0.0, "unanswered") for exercise in solved}
    return solved


ON_PATH = "import sys\nsys.path.insert(0, '')\n"


def _hidden_module(module: str, code: str) -> str:
    """Lines that write ``code`` to ``module``.py beside the notebook (as a cell can)."""
    return f"with open({module + '.py'!r}, 'w') as _f:\n    _f.write({HEADER + code!r})\n"


def _routes(name: str, target: Exercise) -> dict[str, tuple[dict[str, str], str, str]]:
    """Cheating route to ``target`` -> (solution cell code by grade_id, code of a cell inserted
    before it, a fragment of the note naming the origin)."""
    code = solution_code(name)[target.grade_id]
    names = ", ".join(target.names)
    main = target.names[0]
    wraps = (
        "import functools\n\ndef _hide(target):\n    @functools.wraps(target)\n"
        "    def wrapper(*args, **kwargs):\n        return target(*args, **kwargs)\n"
        "    return wrapper\n\n"
    )
    callable_object = (
        "class _Answer:\n    __code__ = (lambda: None).__code__\n\n    def __init__(self, fn):\n"
        "        self.fn = fn\n\n    def __call__(self, *args, **kwargs):\n"
        "        return self.fn(*args, **kwargs)\n\n"
    )
    routes = {
        "writefile": (
            {target.grade_id: f"from mine_magic import {names}\n"},
            f"%%writefile mine_magic.py\n{HEADER}{code}",
            "the file mine_magic.py beside the notebook (module mine_magic)",
        ),
        "text_file": (
            {target.grade_id: _hidden_module("mine_text", code) + f"from mine_text import {names}"},
            "",
            "the file mine_text.py beside the notebook (module mine_text)",
        ),
        "exec": ({target.grade_id: f"exec({code!r})\n"}, "", "a string run by exec"),
        "lazy_import": (
            {
                target.grade_id: _hidden_module("mine_lazy", code)
                + "".join(
                    f"\ndef {fn}(*args, **kwargs):\n    import mine_lazy\n"
                    f"    return mine_lazy.{fn}(*args, **kwargs)\n"
                    for fn in target.names
                )
            },
            "",
            "can import mine_lazy, a module written beside the notebook",
        ),
        "classmate": (
            {target.grade_id: f"get_ipython().run_cell({code!r})\n"},
            "",
            "a cell that is not one of the notebook's cells",
        ),
        "wrapped": (
            {
                target.grade_id: _hidden_module("mine_wrapped", code)
                + f"from mine_wrapped import {main} as _foreign\n{wraps}{main} = _hide(_foreign)\n"
            },
            "",
            "mine_wrapped.py beside the notebook",
        ),
        "code_swap": (
            {
                target.grade_id: _hidden_module("mine_swap", code)
                + f"from mine_swap import {main} as _foreign\n\n"
                f"def {main}(*args, **kwargs):\n    return None\n\n"
                f"{main}.__code__ = _foreign.__code__\n"
            },
            "",
            "mine_swap.py beside the notebook",
        ),
        "fake_code": (
            {
                target.grade_id: _hidden_module("mine_fake", code)
                + f"from mine_fake import {main} as _foreign\n{callable_object}"
                f"{main} = _Answer(_foreign)\n"
            },
            "",
            "mine_fake.py beside the notebook",
        ),
    }
    if name in LIBRARY_MODULE:
        copy = (
            "import importlib.util, os, shutil\n"
            "_home = os.path.dirname(importlib.util.find_spec('rmcourse').origin)\n"
            "shutil.copytree(_home, 'course_copy', ignore=shutil.ignore_patterns('__pycache__'))\n"
            f"from course_copy.{LIBRARY_MODULE[name]} import *\n"
        )
        where = f"course_copy/{LIBRARY_MODULE[name]}.py beside the notebook"
        routes["library_copy"] = ({target.grade_id: copy}, "", where)
    # Kernels do not import from their working folder: a student puts it on the path first.
    return {
        route: ({grade_id: ON_PATH + cell for grade_id, cell in answers.items()}, before, where)
        for route, (answers, before, where) in routes.items()
    }


@functools.cache
def _packed(name: str) -> list[dict[str, tuple[Exercise, str]]]:
    """The route notebooks of ``name``: in each, route -> (the exercise it replaces, a fragment
    of the note naming the origin), one route per exercise. Route k replaces target k mod T (T
    targets) in notebook k div T. The copied-package route star-imports the library's module
    over what the notebook defined before: it comes last and takes the last target, which is
    the notebook's last exercise (``test_every_route_is_tried_on_every_assignment``)."""
    targets = _targets(name)
    routes = list(_routes(name, targets[0]))
    assert "library_copy" not in routes[:-1], routes
    notebooks: list[dict[str, tuple[Exercise, str]]] = []
    for k, route in enumerate(routes):
        target = targets[-1] if route == "library_copy" else targets[k % len(targets)]
        if k % len(targets) == 0:
            notebooks.append({})
        notebooks[-1][route] = (target, _routes(name, target)[route][2])
    return notebooks


def _route_notebook(name: str, routes: dict[str, tuple[Exercise, str]]) -> nbformat.NotebookNode:
    """The exercise notebook with each route in place of its exercise's answer."""
    answers, before = {}, []
    for route, (target, _) in routes.items():
        route_answers, cell, _ = _routes(name, target)[route]
        answers.update(route_answers)
        if cell:
            before.append((target.grade_id, cell))
    nb = _notebook(name, answers)
    for grade_id, cell in before:
        nb = _with_cell_before(nb, grade_id, cell)
    return nb


def _with_cell_before(nb: nbformat.NotebookNode, grade_id: str, code: str):
    index = next(i for i, c in enumerate(nb.cells) if nbgrader(c).get("grade_id") == grade_id)
    nb.cells.insert(index, nbformat.v4.new_code_cell(code))
    return nb


def _legit(name: str) -> nbformat.NotebookNode:
    """The target's answer as a helper in a cell of its own, an old attempt kept, and the final
    function decorated with a decorator made with functools (lesson 02: log_sigmoid a lambda)."""
    target = _target(name)
    code = solution_code(name)[target.grade_id]
    helper = code
    for fn in target.names:
        helper = re.sub(rf"^def {fn}\(", f"def _mine_{fn}(", helper, flags=re.MULTILINE)
    answer = (
        "import functools\n\ndef _logged(fn):\n    @functools.wraps(fn)\n"
        "    def wrapper(*args, **kwargs):\n        return fn(*args, **kwargs)\n"
        "    return wrapper\n"
    )
    for fn in target.names:
        answer += f"\ndef {fn}(*args, **kwargs):\n    return None\n"  # an old attempt
        answer += f"\n@_logged\ndef {fn}(*args, **kwargs):\n"
        answer += f"    return _mine_{fn}(*args, **kwargs)\n"
    answers = {target.grade_id: answer}
    if name == "02_numpy_loss":
        answers["log_sigmoid"] = (
            "log_sigmoid = lambda x: -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))\n"
        )
    return _with_cell_before(_notebook(name, answers), target.grade_id, helper)


def _solution_without_metadata(name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        cell.metadata = {}
    return nb


HONEST_LOG_SIGMOID = (
    "%%time\n@np.errstate(over='ignore')\ndef log_sigmoid(x):\n"
    '    """My version; I checked it against rmcourse.np_loss.log_sigmoid in lesson 02."""\n'
    "    x = np.asarray(x, dtype=np.float64)\n    return -np.logaddexp(0.0, -x)\n"
)
COMPARE = "import rmcourse.np_loss as ref\nprint(ref.log_sigmoid(0.3), log_sigmoid(0.3))\n"
LIBRARY_BY_DICT = {  # the red team's routes to the library's function under another name
    "log_sigmoid": "import rmcourse.np_loss as _lib\n\ndef log_sigmoid(x):\n"
    "    return _lib.__dict__['log_sigmoid'](x)\n",
    "bt_loss": "import types\n_d = vars(_lib)\n_h = {k: types.FunctionType(f.__code__, "
    "f.__globals__, 'helper_' + k, f.__defaults__) for k, f in _d.items() "
    "if type(f) is types.FunctionType}\n_h_bt = _h['bt_loss']\n\n"
    "def bt_loss(r_chosen, r_rejected, margin=0.0, weights=None):\n"
    "    return _h_bt(r_chosen, r_rejected, margin, weights)\n",
    "bt_loss_grad": "def bt_loss_grad(r_chosen, r_rejected, margin=0.0, weights=None):\n"
    "    return vars(_lib)['bt_loss_grad'](r_chosen, r_rejected, margin, weights)\n",
}
# assignment -> student -> (answers, (grade_id, code of a cell before it) or None,
# exercise -> a fragment of its note: copied; the other exercises earn what the solution earns)
EXTRA_STUDENTS: dict[str, dict[str, tuple]] = {
    "02_numpy_loss": {
        # %%time, a numpy decorator, a docstring naming the library, a cell comparing with it
        "honest_extras": ({"log_sigmoid": HONEST_LOG_SIGMOID}, ("bt_loss", COMPARE), {}),
        "library_by_dict": (
            LIBRARY_BY_DICT,
            None,
            {
                "log_sigmoid": "_lib holds the course library's own rmcourse.np_loss.log_sigmoid",
                "bt_loss": "calls _h_bt, the course library's own rmcourse.np_loss.bt_loss",
                "bt_loss_grad": "reads _lib by a computed name, and _lib holds the course library",
                # its own code, but it calls the log_sigmoid above, which reads the module
                "ranking_loss": "the course library's own rmcourse.np_loss.ranking_loss",
            },
        ),
    },
    "03_pytorch_loss": {
        "honest_extras": (
            {"accuracy": "@torch.no_grad()\n" + solution_code("03_pytorch_loss")["accuracy"]},
            None,
            {},
        ),
    },
    "06_best_of_n": {
        "library_by_other_name": (
            {
                "best_of_n": "from rmcourse.bon import select_best\n\n"
                "def best_of_n(candidates, scores):\n    return select_best(candidates, scores)\n"
            },
            None,
            {"best_of_n": "calls select_best, the course library's own rmcourse.bon.select_best"},
        ),
    },
}


@functools.cache
def _graded(name: str) -> dict:
    notebooks = {
        "solved": filled_exercise(name),
        "legit": _legit(name),
        "no_metadata": _solution_without_metadata(name),
    }
    for number, routes in enumerate(_packed(name)):
        notebooks[f"routes_{number}"] = _route_notebook(name, routes)
    for student, (answers, before, _) in EXTRA_STUDENTS.get(name, {}).items():
        nb = filled_exercise(name, answers)
        notebooks[student] = _with_cell_before(nb, *before) if before else nb
    return grade_submissions(name, notebooks)


def _rows(result) -> dict[str, tuple[float, str]]:
    return {e.exercise: (e.points, str(e.status)) for e in result.exercises}


class Origin:
    """The graded tests of one assignment. Each assignment has its subclass ``TestOrigin_NAME``
    (made below, for every solution notebook), so that pytest-xdist's ``--dist loadscope``, which
    sends a module's functions to one worker but each class to any, grades the assignments on
    both workers."""

    name = ""

    def test_a_function_from_elsewhere_earns_nothing_and_says_where_it_came_from(self):
        results = _graded(self.name)
        solved = _rows(results["solved"])
        others = _others(self.name, solved)
        for number, routes in enumerate(_packed(self.name)):
            result = results[f"routes_{number}"]
            copied = {target.grade_id: (0.0, "copied") for target, _ in routes.values()}
            assert all(solved[grade_id][0] > 0 for grade_id in copied)
            assert _rows(result) == {**others, **copied}, (list(routes), result)
            notes = {e.exercise: e.note for e in result.exercises}
            for route, (target, where) in routes.items():
                note = notes[target.grade_id]
                own = "0 points: the function must be defined by the notebook's own"
                assert note.startswith(own), (route, note)
                assert where in note, (route, note)

    def test_honest_patterns_earn_what_the_solution_earns(self):
        results = _graded(self.name)
        solved = _rows(results["solved"])
        assert (
            sum(points for points, _ in solved.values())
            == load_assignment(SOLUTIONS / f"{self.name}.ipynb").max_points
        )
        target = _target(self.name).grade_id
        legit = {**_others(self.name, solved), target: solved[target]}
        for student, rows in (("legit", legit), ("no_metadata", solved)):
            assert _rows(results[student]) == rows, results[student]
            assert "copied" not in results[student].status


for _name in ASSIGNMENTS:
    globals()[f"TestOrigin_{_name}"] = type(f"TestOrigin_{_name}", (Origin,), {"name": _name})


def test_every_assignment_has_its_class_of_origin_tests():
    classes = {cls.name for cls in Origin.__subclasses__() if cls.__name__.startswith("Test")}
    assert classes == set(assignment_names())


@pytest.mark.parametrize("name", sorted(EXTRA_STUDENTS))
def test_the_library_under_another_name_earns_nothing_and_honest_extras_full_marks(name):
    """The red team's notebooks: the library's function reached through a module's dict, a
    renamed copy or a function of another name is copied, with the origin in the note; a
    library decorator, %%time, a docstring or a cell comparing with the library is not."""
    results = _graded(name)
    solved = _rows(results["solved"])
    for student, (_, _, copied) in EXTRA_STUDENTS[name].items():
        rows = _rows(results[student])
        assert rows == {**solved, **{e: (0.0, "copied") for e in copied}}, results[student]
        notes = {e.exercise: e.note for e in results[student].exercises}
        for exercise, where in copied.items():
            assert where in notes[exercise], (student, notes[exercise])


# The exercises the routes replace, as the call graph of the solutions gives them (a new
# assignment adds its line; a changed solution that calls another exercise changes a line).
TARGETS = {
    "01_bradley_terry": ["preference_probability", "hand_losses", "dataset_loss", "score_gap"],
    "02_numpy_loss": ["bt_loss", "bt_loss_grad", "ranking_loss"],  # each calls log_sigmoid
    "03_pytorch_loss": ["accuracy", "bt_loss", "ranking_loss"],
    "04_train_reward_model": ["encode_batch", "reward_pairs"],  # answered alone
    "06_best_of_n": ["best_of_n", "gold_curve"],  # gold_curve calls bon_kl
    "07_dpo": ["dpo_loss", "sequence_logprobs"],  # answered alone
    "09_rl": ["tilt", "rloo_advantages", "kl_estimates"],
}


def test_every_route_is_tried_on_every_assignment():
    assert set(SLOW_TO_GRADE) <= set(ASSIGNMENTS)
    assert {name: [e.grade_id for e in _targets(name)] for name in ASSIGNMENTS} == TARGETS
    for name in LIBRARY_MODULE:  # the star import comes after every other exercise
        exercises = load_assignment(SOLUTIONS / f"{name}.ipynb").exercises
        assert _targets(name)[-1] == exercises[-1]
    for name in ASSIGNMENTS:
        packed = _packed(name)
        routes = [route for notebook in packed for route in notebook]
        assert sorted(routes) == sorted(_routes(name, _targets(name)[0]))
        assert len(routes) == 8 + (name in LIBRARY_MODULE)
        assert len(packed) < len(routes)  # the routes share notebooks
        exercises = load_assignment(SOLUTIONS / f"{name}.ipynb").exercises
        solution_cells = sum(is_solution(c) for c in filled_exercise(name).cells)
        assert solution_cells == len(exercises)
        # what the expected rows rely on: no other exercise calls a target (whole notebook);
        # a target calls no other exercise (answered alone); one route per exercise
        calls = _calls(name)
        for notebook in packed:
            targets = [target.grade_id for target, _ in notebook.values()]
            assert len(set(targets)) == len(targets), (name, notebook)
            for target in targets:
                if name in SLOW_TO_GRADE:
                    assert not calls[target], (name, target)
                else:
                    assert not any(target in called for called in calls.values()), (name, target)


# --- the check itself, without a kernel ------------------------------------------------------


def _checked(cells: list[str], setup: str = "", names: tuple[str, ...] = ("f",)):
    """Run ``setup`` (code from elsewhere) then ``cells`` (the notebook's) in one namespace; the
    origin check's report on ``names``."""
    import builtins

    from rmcourse.grading.origin import make_origin_check

    check = make_origin_check(cells)
    namespace: dict = {"__builtins__": builtins}
    exec(setup, namespace)
    for number, cell in enumerate(cells):
        exec(compile(cell, f"<cell {number}>", "exec"), namespace)
    return check(namespace, names, names)


def test_honest_functions_pass_the_origin_check():
    cell = (
        "import functools\nfrom dataclasses import dataclass\nimport numpy as np\n"
        "@dataclass\nclass Point:\n    x: float\n\n"
        "@functools.lru_cache\ndef g(n):\n    return sum(range(n))\n\n"
        "def f(x):\n    return np.mean([g(3), Point(x).x, (lambda y: y)(x)])\n"
    )
    assert _checked([cell]) == []
    assert _checked([cell, "f = functools.lru_cache(f)\n"]) == []  # a C wrapper around it


def test_foreign_code_is_found_behind_builtins_wrappers_and_forged_file_names():
    foreign = "def helper(x):\n    return x\n"
    # a name looked up in the builtins the function was made with
    setup = (
        "import builtins\n__builtins__ = dict(vars(builtins))\nexec("
        + repr(foreign)
        + (", __builtins__)\n")
    )
    report = _checked(["def f(x):\n    return helper(x)\n"], setup)
    by_exec = "a string run by exec, eval or compile"
    assert report == [("f", f"f calls helper, which comes from {by_exec}")]
    # code compiled under the name of a library file is not that file's code
    import numpy

    forged = f"exec(compile({foreign!r}, {numpy.__file__!r}, 'exec'))\nf = helper\n"
    assert _checked([], forged)[0][1].startswith("f comes from the file ")
    # a partial of a foreign function
    assert _checked(["import functools\nf = functools.partial(helper)\n"], foreign) == [
        ("f", f"f comes from {by_exec}")
    ]


def _library_checked(cells: list[str], names: tuple[str, ...], forbidden: tuple[str, ...], where):
    """``_checked`` with the course library forbidden by ``forbidden``, run from ``where`` (the
    repository's root would hold rmcourse beside the notebook)."""
    import builtins
    import os

    from rmcourse.grading.origin import make_origin_check

    before = os.getcwd()
    os.chdir(where)
    try:
        check = make_origin_check(cells)
        namespace: dict = {"__builtins__": builtins}
        for number, cell in enumerate(cells):
            filename = "<timed exec>" if cell.startswith("%%time\n") else f"<cell {number}>"
            code = cell.removeprefix("%%time\n")  # run as IPython's %%time runs its body
            exec(compile(code, filename, "exec"), namespace)
        return check(namespace, names, forbidden)
    finally:
        os.chdir(before)


NP_LOSS = ("rmcourse.np_loss.log_sigmoid", "rmcourse.np_loss.bt_loss")


@pytest.mark.parametrize(
    "cell, says",
    [
        (  # the module's dict, by attribute and by vars()
            "import rmcourse.np_loss as _lib\ndef log_sigmoid(x):\n"
            "    return _lib.__dict__['log_sigmoid'](x)\n",
            "log_sigmoid reads _lib by a computed name, and _lib holds the course library's own "
            "rmcourse.np_loss.log_sigmoid",
        ),
        (
            "import rmcourse.np_loss as _lib\n_d = vars(_lib)\ndef log_sigmoid(x):\n"
            "    return _d['log_sigmoid'](x)\n",
            "the course library's own rmcourse.np_loss.log_sigmoid",
        ),
        (  # a renamed copy of the library's function
            "import types\nimport rmcourse.np_loss as _lib\n_f = _lib.log_sigmoid\n"
            "_h = types.FunctionType(_f.__code__, _f.__globals__, 'helper', _f.__defaults__)\n"
            "def log_sigmoid(x):\n    return _h(x)\n",
            "log_sigmoid calls _h, the course library's own rmcourse.np_loss.log_sigmoid",
        ),
        (  # the library's function itself, behind a library decorator
            "import numpy as np\nimport rmcourse.np_loss as _lib\n"
            "log_sigmoid = np.errstate(over='ignore')(_lib.log_sigmoid)\n",
            "log_sigmoid is the course library's own rmcourse.np_loss.log_sigmoid",
        ),
    ],
)
def test_a_forbidden_library_function_is_found_by_its_code_however_reached(cell, says, tmp_path):
    report = _library_checked([cell], ("log_sigmoid",), NP_LOSS, tmp_path)
    assert report and any(says in text for _, text in report), report


def test_each_assignment_forbids_the_library_functions_its_exercises_reimplement(tmp_path):
    import inspect

    from rmcourse.grading.anticopy import NOT_FROM_LIBRARY, forbidden_functions

    assert set(NOT_FROM_LIBRARY) == set(ASSIGNMENTS)  # a new assignment must say what it forbids
    for name in ASSIGNMENTS:
        exercises = {e.grade_id for e in load_assignment(SOLUTIONS / f"{name}.ipynb").exercises}
        assert set(NOT_FROM_LIBRARY[name]) <= exercises, name
    best = forbidden_functions(load_assignment(SOLUTIONS / "06_best_of_n.ipynb"))["best_of_n"]
    assert {"rmcourse.bon.select_best", "rmcourse.bon.best_of_n"} <= set(best)
    cell = "from rmcourse.bon import select_best\n"
    cell += "def best_of_n(c, s):\n    return select_best(c, s)\n"
    assert _library_checked([cell], ("best_of_n",), best, tmp_path) == [
        ("best_of_n", "best_of_n calls select_best, the course library's own "
         "rmcourse.bon.select_best")
    ]  # fmt: skip
    for name in ASSIGNMENTS:
        forbidden = forbidden_functions(load_assignment(SOLUTIONS / f"{name}.ipynb"))
        for entry in sorted({entry for entries in forbidden.values() for entry in entries}):
            # each names a function of the library: the check finds a renamed copy of its code
            module, _, function = entry.rpartition(".")
            text = inspect.getsource(__import__(module, fromlist=["_"]))
            assert re.search(rf"^\s*def {function}\(", text, re.MULTILINE), entry
            code = (
                f"import types\nimport {module} as _m\n"
                f"_f = next(c for c in [_m.__dict__.get({function!r})] if c is not None)\n"
                if f"\ndef {function}(" in text
                else ""
            )
            if code:  # a top-level function: its code object under another name
                code += (
                    "_f = getattr(_f, '__wrapped__', _f)\n"
                    "_h = types.FunctionType(_f.__code__, _f.__globals__, 'h')\n"
                    "def f():\n    return _h\n"
                )
                report = _library_checked([code], ("f",), (entry,), tmp_path)
                assert report == [("f", f"f calls _h, the course library's own {entry}")], entry


def test_library_decorators_and_timed_cells_keep_the_notebooks_function(tmp_path):
    honest = "    x = np.asarray(x, dtype=float)\n    return -np.logaddexp(0.0, -x)\n"
    cells = [
        "import numpy as np\n@np.errstate(over='ignore')\ndef log_sigmoid(x):\n" + honest,
        "import numpy as np\n%%time\ndef log_sigmoid(x):\n" + honest,
        "import torch\n@torch.no_grad()\ndef log_sigmoid(x):\n    return x\n",
    ]
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    for cell in cells:
        if "%%time" in cell:
            setup, _, body = cell.partition("%%time\n")
            cell_pair = [setup, "%%time\n" + body]
        else:
            cell_pair = [cell]
        assert _library_checked(cell_pair, ("log_sigmoid",), NP_LOSS, tmp_path) == [], cell
    # the grader's cells are the raw cells, made Python as IPython makes them
    from rmcourse.grading.origin import make_origin_check

    check = make_origin_check(["%%time\ndef f(x):\n    return x\n"], transform=transform)
    namespace: dict = {}
    exec(compile("def f(x):\n    return x\n", "<timed exec>", "exec"), namespace)
    assert check(namespace, ("f",), ()) == []
    # a library decorator around a function from elsewhere is not the notebook's
    foreign = "import torch\nexec('def f(x):\\n    return x')\nf = torch.no_grad()(f)\n"
    report = _library_checked([foreign], ("f",), (), tmp_path)
    assert report and "torch" in report[0][1], report
