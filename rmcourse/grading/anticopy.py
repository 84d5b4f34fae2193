"""The anti-copy rules, read from the code: a function an exercise asks for must not come from
``rmcourse``, and one pasted from the course library or the solution is flagged for review.

Detected statically, from the syntax trees of a notebook's code cells: ``from rmcourse... import
NAME`` (or ``*``) binding NAME; inside the function NAME (or the value assigned to NAME),
``ALIAS.NAME`` / ``getattr(ALIAS, "NAME")`` where ``ALIAS`` is bound to rmcourse (``import
rmcourse.np_loss as m``, ``from rmcourse import np_loss``, ``m2 = m``), and any other use of a
name bound to an rmcourse module than a named attribute (``vars(m)``, ``m.__dict__``); dynamic
imports of rmcourse (``importlib.import_module``, ``__import__``, ``sys.modules[...]``); string
literals naming both rmcourse and NAME passed to a call that runs or looks up code (``exec("from
rmcourse... import NAME")``; not a docstring or printed text); and -- since the grader cannot see
through them -- ``import_module`` / ``__import__`` / ``exec`` / ``eval`` / ``compile`` /
``runpy`` calls, ``sys.modules[...]`` and ``getattr(ALIAS, ...)`` with a computed argument
(``__import__("rmc" + "ourse")``). Using the library elsewhere (an experiment cell comparing
with it) is no finding: whether NAME's code reaches it is the guard's check at run time
(:mod:`rmcourse.grading.origin`, with :func:`forbidden_functions`). Only the student's cells are
searched (the grader never runs the submission's copies of the instructor's cells), so the rule
judges what the code does and never its formatting.

:func:`pasted_exercises` compares every function the student's cells define with the solution's
and the course library's functions of the exercise's names: their syntax trees with the names the
writer chose (arguments, variables), docstrings, annotations, comments and formatting left out.
A function of at least ``PASTED_MIN_NODES`` nodes that matches one at ``PASTED_RATIO`` or more is
in the notebook but not the student's work: the exercise keeps its points, with status ``review``.
(Where a function came from at run time -- a file, a copied package, ``exec`` -- is the guard's
check: :mod:`rmcourse.grading.origin`.)
"""

from __future__ import annotations

import ast
import difflib
import functools
from collections.abc import Callable, Iterable
from pathlib import Path

from rmcourse.grading.pycode import parse
from rmcourse.grading.source import Assignment, GradeCell, LockedCell, nbgrader
from rmcourse.grading.submission import StudentWork

PACKAGE = "rmcourse"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
ANY_NAME = "*"  # a finding about every must-write name (star import, dynamic import)
# Calls that run or import code named by their argument: with a computed argument (not a string
# literal) the grader cannot tell what they reach, so they count as reaching into rmcourse.
# Builtins by name (``exec(...)``, ``builtins.exec(...)``), importers also as methods; not
# ``model.eval()`` or ``torch.compile(...)``.
DYNAMIC_BUILTINS = frozenset({"__import__", "exec", "eval", "compile"})
DYNAMIC_IMPORTERS = frozenset({"import_module", "__import__", "run_module", "run_path"})


def _is_rmcourse(module: str | None) -> bool:
    return module is not None and (module == PACKAGE or module.startswith(PACKAGE + "."))


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _to_fixed_point(
    trees: Iterable[ast.AST], binds: Callable[[ast.AST, set[str]], Iterable[str]]
) -> set[str]:
    """The names that ``binds(node, names found so far)`` gives over every node of ``trees``,
    repeated until no new name appears."""
    found: set[str] = set()
    nodes = [node for tree in trees for node in ast.walk(tree)]
    while True:
        before = len(found)
        for node in nodes:
            found.update(binds(node, found))
        if len(found) == before:
            return found


def _imported(node: ast.AST, keep: Callable[[str, str], bool]) -> list[str]:
    """The names an import statement binds to rmcourse: ``import rmcourse.x [as m]``, and
    ``from rmcourse.x import a [as b]`` where ``keep(module, a)``."""
    if isinstance(node, ast.Import):
        return [
            alias.asname or alias.name.split(".")[0]
            for alias in node.names
            if _is_rmcourse(alias.name)
        ]
    if isinstance(node, ast.ImportFrom) and _is_rmcourse(node.module):
        return [alias.asname or alias.name for alias in node.names if keep(node.module, alias.name)]
    return []


def _aliases(trees: Iterable[ast.AST]) -> set[str]:
    """Names bound to rmcourse modules (or to attributes reached from them), to a fixed point."""

    def binds(node: ast.AST, aliases: set[str]) -> list[str]:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
            if node.value is None or _root(node.value) not in aliases:
                return []
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            return [t.id for t in targets if isinstance(t, ast.Name)]
        return _imported(node, lambda module, name: True)

    return _to_fixed_point(trees, binds)


def _is_module(dotted: str) -> bool:
    """Whether ``dotted`` (``rmcourse.np_loss``) names a module of the course library."""
    path = PACKAGE_DIR.joinpath(*dotted.split(".")[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _module_aliases(trees: Iterable[ast.AST]) -> set[str]:
    """Names bound to rmcourse modules themselves: ``import rmcourse.np_loss as m``, ``from
    rmcourse import np_loss``, ``m2 = m``, to a fixed point."""

    def binds(node: ast.AST, modules: set[str]) -> list[str]:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            if node.value.id not in modules:
                return []
            return [t.id for t in node.targets if isinstance(t, ast.Name)]
        return _imported(node, lambda module, name: _is_module(f"{module}.{name}"))

    return _to_fixed_point(trees, binds)


def _owners(tree: ast.AST, names: set[str]) -> dict[ast.AST, str]:
    """Node -> the must-write name whose function holds it: inside ``def NAME`` (nested
    functions too), or the value assigned to ``NAME`` (``NAME = lambda ...``)."""
    owners: dict[ast.AST, str] = {}
    todo: list[tuple[ast.AST, str | None]] = [(tree, None)]
    while todo:
        node, owner = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            owner = node.name
        if owner is not None:
            owners[node] = owner
        for child in ast.iter_child_nodes(node):
            inner = owner
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and child is node.value:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                bound = [t.id for t in targets if isinstance(t, ast.Name) and t.id in names]
                inner = bound[0] if bound else owner
            todo.append((child, inner))
    return owners


FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _shadowed(node: ast.AST, parents: dict[ast.AST, ast.AST], name: str) -> bool:
    """Whether ``name`` at ``node`` is an argument or an assigned local of a function holding
    it (``def dpo_step(policy, ...)`` with ``from rmcourse import policy`` elsewhere)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, FUNCTION_NODES):
            arguments = node.args
            bound = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
            bound |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
            body = node.body if isinstance(node.body, list) else [node.body]
            bound |= {
                n.id
                for statement in body
                for n in ast.walk(statement)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
            if name in bound:
                return True
    return False


def _is_dynamic(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in DYNAMIC_BUILTINS | DYNAMIC_IMPORTERS
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        return func.attr in DYNAMIC_IMPORTERS or (
            func.attr in DYNAMIC_BUILTINS and owner in ("builtins", "__builtins__")
        )
    return False


def _findings(
    trees: list[ast.AST], names: set[str], aliases: set[str], modules: set[str]
) -> set[tuple[str, str]]:
    """(name or ``*``, description) pairs of the ways ``trees`` obtain names from rmcourse.

    Reaching the library's function outside the functions an exercise asks for (an experiment
    cell comparing with ``rmcourse.np_loss.log_sigmoid``) is no finding: where those functions'
    code comes from at run time is the guard's check (:mod:`rmcourse.grading.origin`)."""
    found: set[tuple[str, str]] = set()
    for tree in trees:
        owners = _owners(tree, names)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            owner = owners.get(node)
            if isinstance(node, ast.ImportFrom) and _is_rmcourse(node.module):
                for alias in node.names:
                    if alias.name == "*":
                        found.add((ANY_NAME, f"from {node.module} import *"))
                    elif alias.name in names and (owner or (alias.asname or alias.name) in names):
                        found.add((alias.name, f"from {node.module} import {alias.name}"))
            elif (
                isinstance(node, ast.Attribute)
                and _root(node.value) in aliases
                and owner
                and not _shadowed(node, parents, _root(node.value) or "")
            ):
                if node.attr in names:
                    found.add((node.attr, f"{ast.unparse(node)} reaches into rmcourse"))
                elif node.attr.startswith("__"):
                    found.add((owner, f"{ast.unparse(node)} reads rmcourse by a computed name"))
            elif isinstance(node, ast.Name) and node.id in modules and owner:
                parent = parents.get(node)
                if not (
                    isinstance(parent, ast.Attribute) and parent.value is node
                ) and not _shadowed(node, parents, node.id):
                    used = ast.unparse(parent) if parent is not None else node.id
                    found.add(
                        (owner, f"{used[:60]} uses the rmcourse module {node.id} other than by "
                         "a named attribute")
                    )  # fmt: skip
            elif isinstance(node, ast.Call):
                func = ast.unparse(node.func)
                first = node.args[0] if node.args else None
                literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
                dynamic = _is_dynamic(node.func)
                if dynamic and not literal:
                    found.add((ANY_NAME, f"{func}(...) with a computed argument cannot be checked"))
                strings = [
                    a.value
                    for argument in node.args
                    for a in ast.walk(argument)
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
                if func.endswith(("import_module", "__import__")) and any(
                    _is_rmcourse(s) and ".grading" not in s for s in strings
                ):
                    found.add((ANY_NAME, f"{func}({strings[0]!r}) imports rmcourse dynamically"))
                if func == "getattr" and first is not None and _root(first) in aliases:
                    name = node.args[1] if len(node.args) > 1 else None
                    if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                        found.add((ANY_NAME, "getattr on rmcourse with a computed name"))
                    elif name.value in names and owner:
                        found.add(
                            (name.value, f"getattr(..., {name.value!r}) reaches into rmcourse")
                        )
                if dynamic or func.endswith(("getattr", "attrgetter", "__getattribute__")):
                    for text in strings:  # a string run or looked up, not a docstring or print
                        for name in names if PACKAGE in text else ():
                            if name in text:
                                found.add((name, f"the string {text[:60]!r} names rmcourse"))
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("modules"):
                key = node.slice
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    found.add((ANY_NAME, "sys.modules[...] with a computed key cannot be checked"))
                elif _is_rmcourse(key.value):
                    found.add((ANY_NAME, f"sys.modules[{key.value!r}] reaches into rmcourse"))
    return found


def _parse(sources: Iterable[str]) -> list[ast.AST]:
    trees = []
    for source in sources:
        try:
            trees.append(ast.parse(source))
        except (SyntaxError, ValueError):  # IPython magics or broken code: nothing to read
            continue
    return trees


def copied_names(
    sources: Iterable[str], names: Iterable[str], trusted: Iterable[str] = ()
) -> dict[str, str]:
    """Which of ``names`` the code ``sources`` obtain from rmcourse: name -> how. What the code
    does with the library outside the functions of those names (an experiment comparing with
    it) is not searched: that is the guard's check at run time.

    ``trusted`` are the instructor's cells: a source identical to one of them is not searched
    (its imports are the instructor's), but the aliases it binds count everywhere.

    Examples
    --------
    >>> copied_names(["from rmcourse.np_loss import bt_loss"], ["bt_loss", "log_sigmoid"])
    {'bt_loss': 'from rmcourse.np_loss import bt_loss'}
    >>> code = ("import rmcourse.np_loss as m\\ng = m\\n"
    ...         "def log_sigmoid(x):\\n    return g.log_sigmoid(x)")
    >>> copied_names([code], ["log_sigmoid"])
    {'log_sigmoid': 'g.log_sigmoid reaches into rmcourse'}
    >>> copied_names(["import rmcourse.np_loss as m\\nprint(m.log_sigmoid(0.3))"], ["log_sigmoid"])
    {}
    >>> setup = "from rmcourse.grading.checks import checks as _grader"
    >>> mine = "bt_loss = _grader.reference.np_loss.bt_loss"
    >>> copied_names([setup], ["bt_loss"]), copied_names([mine], ["bt_loss"], trusted=[setup])
    ({}, {'bt_loss': '_grader.reference.np_loss.bt_loss reaches into rmcourse'})
    """
    sources, trusted, names = list(sources), list(trusted), set(names)
    everything = _parse(sources + trusted)
    aliases, modules = _aliases(everything), _module_aliases(everything)
    own = _parse(source for source in sources if source not in set(trusted))
    result: dict[str, str] = {}
    for name, how in sorted(_findings(own, names, aliases, modules)):
        for target in sorted(names) if name == ANY_NAME else [name]:
            result.setdefault(target, how)
    return result


def copied_exercises(work: StudentWork, assignment: Assignment) -> dict[str, str]:
    r"""Exercise -> why, for the exercises whose must-write functions the student's cells take
    from rmcourse (any of them; aliases bound in the instructor's cells count).

    Examples
    --------
    >>> import nbformat
    >>> from rmcourse.grading.source import Exercise
    >>> from rmcourse.grading.submission import StudentCell
    >>> f = Exercise("f", ("bt_loss",), "def bt_loss(a, b):\n    raise NotImplementedError()", ())
    >>> assignment = Assignment("09_demo", nbformat.v4.new_notebook(), (f,), (f,))
    >>> cell = StudentCell("from rmcourse.np_loss import *", (), -1, 1)
    >>> copied_exercises(StudentWork((cell,), frozenset(), {}, {}), assignment)
    {'f': 'bt_loss: from rmcourse.np_loss import *'}
    """
    trusted = [
        code
        for item in assignment.layout
        for code in (
            (item.code,)
            if isinstance(item, LockedCell)
            else (item.visible, item.hidden)
            if isinstance(item, GradeCell)
            else ()
        )
    ]
    names = {name for exercise in assignment.exercises for name in exercise.names}
    copied = copied_names([cell.code for cell in work.cells], names, trusted)
    return {
        exercise.grade_id: "; ".join(
            f"{name}: {copied[name]}" for name in exercise.names if name in copied
        )
        for exercise in assignment.exercises
        if any(name in copied for name in exercise.names)
    }


# --- the course library's functions an assignment's answers may not reach ----------------------

# Beyond the library's functions named like one of an exercise's must-write functions (found by
# name, in every module): what the exercise re-implements under another name, by assignment and
# exercise (grade_id). The rest of the library -- data, models, plotting, the losses earlier
# exercises and lessons taught (02's ranking_loss may call the library's log_sigmoid when the
# student's is missing; 04 trains with torch_loss.bt_loss, 07 builds DPO on it) -- stays
# usable. An assignment missing here forbids only the functions of its exercises' names
# (tests/test_grading_origin.py checks every solution has an entry, and each entry names a
# function of the library).
NOT_FROM_LIBRARY: dict[str, dict[str, tuple[str, ...]]] = {
    "01_bradley_terry": {
        "preference_probability": ("rmcourse.np_loss.sigmoid",),
        "pair_loss": (
            "rmcourse.np_loss.log_sigmoid", "rmcourse.np_loss.bt_loss",
            "rmcourse.torch_loss.log_sigmoid", "rmcourse.torch_loss.bt_loss",
        ),
        "dataset_loss": ("rmcourse.np_loss.bt_loss", "rmcourse.torch_loss.bt_loss"),
        "score_gap": ("rmcourse.bt_fit.fit_bt_scores",),
    },
    "02_numpy_loss": {},
    "03_pytorch_loss": {
        "accuracy": ("rmcourse.scoring.pair_metrics",),
        "bt_loss": ("rmcourse.scoring.pair_metrics",),
    },
    "04_train_reward_model": {
        "encode_batch": ("rmcourse.scoring.encode_dataset",),
        "reward_pairs": ("rmcourse.scoring.score_pairs", "rmcourse.scoring.score_rows"),
        "train_step": ("rmcourse.train.bradley_terry",),
        "evaluate": (
            "rmcourse.scoring.score_pairs", "rmcourse.scoring.score_rows",
            "rmcourse.scoring.pair_metrics", "rmcourse.train.evaluate_rewards",
        ),
        "fit": ("rmcourse.train.train", "rmcourse.train.bradley_terry", "rmcourse.loop.run"),
    },
    "06_best_of_n": {
        "best_of_n": ("rmcourse.bon.select_best",),
        "gold_curve": ("rmcourse.bon.bon_curve",),
    },
    "07_dpo": {
        "dpo_loss": ("rmcourse.torch_loss.dpo_rewards",),
        "sequence_logprobs": (
            "rmcourse.policy.token_logprobs", "rmcourse.policy_train.logprobs_of",
        ),
        "dpo_step": ("rmcourse.policy_train.dpo",),
    },
    "09_rl": {
        "tilt": ("rmcourse.optimum.solve",),
        "rloo_advantages": ("rmcourse.rl.policy_gradient_loss", "rmcourse.rl.train_rl"),
        "kl_estimates": ("rmcourse.rl.policy_gradient_loss",),
    },
}  # fmt: skip


def forbidden_functions(assignment: Assignment) -> dict[str, tuple[str, ...]]:
    """Exercise (grade_id) -> the course library's functions (``rmcourse.module.function``)
    that the exercise's functions may not be or reach: those of their names, and the
    exercise's entry in :data:`NOT_FROM_LIBRARY`.

    Examples
    --------
    >>> import nbformat
    >>> from rmcourse.grading.source import Exercise
    >>> f = Exercise("best_of_n", ("best_of_n",), "def best_of_n(c, s):\\n    return c", ())
    >>> forbidden_functions(Assignment("06_best_of_n", nbformat.v4.new_notebook(), (f,), (f,)))
    {'best_of_n': ('rmcourse.bon.best_of_n', 'rmcourse.bon.select_best')}
    """
    library = _library_functions()
    listed = NOT_FROM_LIBRARY.get(assignment.name, {})
    return {
        exercise.grade_id: tuple(
            sorted(
                {where for name in exercise.names for where, _ in library.get(name, ())}
                | set(listed.get(exercise.grade_id, ()))
            )
        )
        for exercise in assignment.exercises
    }


# --- code pasted into a cell: from the course library or the solution -------------------------

# A student's function is flagged for review when its normalised syntax tree has at least
# PASTED_MIN_NODES nodes and matches a reference function's at PASTED_RATIO or more: an answer
# as short as a formula, which students write alike (``return -np.logaddexp(0, -x)``: 22 nodes
# with its def line; DPO's loss in one line: 44), never is.
PASTED_MIN_NODES = 60
PASTED_RATIO = 0.9
LIBRARY_SKIP = ("grading", "site", "hf", "quiz")  # rmcourse folders that hold no answers


def _shape(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> tuple[str, ...]:
    """The function's syntax tree as a sequence of node descriptions, names chosen by the writer
    (arguments, variables) replaced by their order of appearance, docstrings, annotations and
    the function's own name left out."""
    names: dict[str, str] = {}
    out: list[str] = []

    def name(identifier: str) -> str:
        return names.setdefault(identifier, f"v{len(names)}")

    def visit(item: ast.AST) -> None:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = item.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    body = body[1:]  # the docstring
            out.append(type(item).__name__)
            visit(item.args)
            for child in item.decorator_list + body:
                visit(child)
            return
        if isinstance(item, ast.arg):
            out.append(f"arg {name(item.arg)}")
            return
        if isinstance(item, ast.Name):
            out.append(f"name {name(item.id)}")
            return
        if isinstance(item, ast.Constant):
            out.append(f"const {item.value!r}"[:40])
            return
        label = type(item).__name__
        if isinstance(item, ast.Attribute):
            label += f" {item.attr}"
        elif isinstance(item, ast.keyword):
            label += f" {item.arg}"
        out.append(label)
        for field, value in ast.iter_fields(item):
            if field in ("annotation", "returns", "type_comment", "ctx"):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    visit(child)

    visit(node)
    return tuple(out)


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


@functools.lru_cache(maxsize=1)
def _library_functions() -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """name -> (where, shape) of every function of the course library named so."""
    root = Path(__file__).resolve().parents[1]
    found: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in LIBRARY_SKIP:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        module = "rmcourse." + ".".join(relative.with_suffix("").parts)
        for fn in _functions(tree):
            found.setdefault(fn.name, []).append((f"{module}.{fn.name}", _shape(fn)))
    return {name: tuple(items) for name, items in found.items()}


def _solution_functions(assignment: Assignment) -> dict[str, tuple[tuple[str, ...], ...]]:
    """name -> shapes of the solution notebook's functions (its solution cells')."""
    found: dict[str, list[tuple[str, ...]]] = {}
    for cell in assignment.notebook.cells:
        if cell.cell_type != "code" or not nbgrader(cell).get("solution"):
            continue
        tree = parse(cell.source)
        for fn in _functions(tree) if tree is not None else ():
            found.setdefault(fn.name, []).append(_shape(fn))
    return {name: tuple(shapes) for name, shapes in found.items()}


def _similar(mine: tuple[str, ...], reference: tuple[str, ...]) -> bool:
    if min(len(mine), len(reference)) < PASTED_MIN_NODES:
        return False
    if mine == reference:
        return True
    matcher = difflib.SequenceMatcher(None, mine, reference, autojunk=False)
    return matcher.quick_ratio() >= PASTED_RATIO and matcher.ratio() >= PASTED_RATIO


def pasted_exercises(work: StudentWork, assignment: Assignment) -> dict[str, str]:
    """Exercise -> what matched, for the exercises whose function a student's cell holds as the
    course library or the solution wrote it (names, docstrings, comments and formatting aside):
    in the notebook, but not the student's work -- for the instructor to review.

    Examples
    --------
    >>> import nbformat
    >>> from rmcourse.grading.source import nbgrader_cell, parse_assignment
    >>> from rmcourse.grading.submission import StudentCell
    >>> lines = [f"t{i} = np.mean(x[{i}:] * {i}) + t{i - 1}" for i in range(1, 6)]
    >>> code = "def f(x):\\n    t0 = 0\\n    " + "\\n    ".join(lines) + "\\n    return t5"
    >>> assignment = parse_assignment("09_demo", nbformat.v4.new_notebook(cells=[
    ...     nbgrader_cell(code, "f", solution=True), nbgrader_cell("f(1)", "f_test", points=1)]))
    >>> import re
    >>> mine = re.sub(r"\\bt(\\d)", r"total_\\1", code).replace("x", "values")
    >>> print(mine.splitlines()[2].strip())
    total_1 = np.mean(values[1:] * 1) + total_0
    >>> pasted = StudentCell("# my own\\n" + mine.replace("    ", "\\t"), ("f",), 0, 1)
    >>> pasted_exercises(StudentWork((pasted,), frozenset(), {}, {}), assignment)
    {'f': "cell 1's f matches the solution's f"}
    >>> short = StudentCell("def f(x):\\n    return np.mean(x)", ("f",), 0, 1)
    >>> pasted_exercises(StudentWork((short,), frozenset(), {}, {}), assignment)
    {}
    """
    solution = _solution_functions(assignment)
    library = _library_functions()
    mine = []
    for cell in work.cells:
        tree = parse(cell.code)
        mine += [(cell.number, fn.name, _shape(fn)) for fn in _functions(tree or ast.Module([]))]
    found: dict[str, str] = {}
    for exercise in assignment.exercises:
        references = [
            (f"the solution's {name}", shape)
            for name in exercise.names
            for shape in solution.get(name, ())
        ] + [(where, shape) for name in exercise.names for where, shape in library.get(name, ())]
        for number, name, shape in mine:
            match = next((where for where, ref in references if _similar(shape, ref)), None)
            if match is not None:
                found[exercise.grade_id] = f"cell {number}'s {name} matches {match}"
                break
    return found
