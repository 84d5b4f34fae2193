"""The anti-copy rule: a function an exercise asks for must not come from ``rmcourse``.

Detected statically, from the syntax trees of a notebook's code cells: ``from rmcourse... import
NAME`` (or ``*``), ``ALIAS.NAME`` / ``getattr(ALIAS, "NAME")`` where ``ALIAS`` is bound to an
rmcourse module (``import rmcourse.np_loss as m``, ``from rmcourse import np_loss``, ``m2 = m``),
dynamic imports of rmcourse (``importlib.import_module``, ``__import__``, ``sys.modules[...]``),
string literals naming both rmcourse and NAME (``exec("from rmcourse... import NAME")``), and --
since the grader cannot see through them -- ``import_module`` / ``__import__`` / ``exec`` /
``eval`` / ``compile`` / ``runpy`` calls, ``sys.modules[...]`` and ``getattr(ALIAS, ...)`` with a
computed argument (``__import__("rmc" + "ourse")``). Only the student's cells are searched (the
grader never runs the submission's copies of the instructor's cells), so the rule judges what the
code does and never its formatting.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from rmcourse.grading.source import Assignment, GradeCell, LockedCell
from rmcourse.grading.submission import StudentWork

PACKAGE = "rmcourse"
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


def _aliases(trees: Iterable[ast.AST]) -> set[str]:
    """Names bound to rmcourse modules (or to attributes reached from them), to a fixed point."""
    aliases: set[str] = set()
    nodes = [node for tree in trees for node in ast.walk(tree)]
    changed = True
    while changed:
        before = len(aliases)
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _is_rmcourse(alias.name):
                        aliases.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and _is_rmcourse(node.module):
                aliases.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
                value = node.value
                if value is not None and _root(value) in aliases:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    aliases.update(t.id for t in targets if isinstance(t, ast.Name))
        changed = len(aliases) != before
    return aliases


def _is_dynamic(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in DYNAMIC_BUILTINS | DYNAMIC_IMPORTERS
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        return func.attr in DYNAMIC_IMPORTERS or (
            func.attr in DYNAMIC_BUILTINS and owner in ("builtins", "__builtins__")
        )
    return False


def _findings(trees: list[ast.AST], names: set[str], aliases: set[str]) -> set[tuple[str, str]]:
    """(name or ``*``, description) pairs of the ways ``trees`` obtain names from rmcourse."""
    found: set[tuple[str, str]] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _is_rmcourse(node.module):
                for alias in node.names:
                    if alias.name == "*":
                        found.add((ANY_NAME, f"from {node.module} import *"))
                    elif alias.name in names:
                        found.add((alias.name, f"from {node.module} import {alias.name}"))
            elif isinstance(node, ast.Attribute) and node.attr in names:
                if _root(node.value) in aliases:
                    found.add((node.attr, f"{ast.unparse(node)} reaches into rmcourse"))
            elif isinstance(node, ast.Call):
                strings = [
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
                func = ast.unparse(node.func)
                first = node.args[0] if node.args else None
                literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
                if _is_dynamic(node.func) and not literal:
                    found.add((ANY_NAME, f"{func}(...) with a computed argument cannot be checked"))
                if func.endswith(("import_module", "__import__")) and any(
                    _is_rmcourse(s) and ".grading" not in s for s in strings
                ):
                    found.add((ANY_NAME, f"{func}({strings[0]!r}) imports rmcourse dynamically"))
                if func == "getattr" and first is not None and _root(first) in aliases:
                    name = node.args[1] if len(node.args) > 1 else None
                    if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                        found.add((ANY_NAME, "getattr on rmcourse with a computed name"))
                    elif name.value in names:
                        found.add(
                            (name.value, f"getattr(..., {name.value!r}) reaches into rmcourse")
                        )
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("modules"):
                key = node.slice
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    found.add((ANY_NAME, "sys.modules[...] with a computed key cannot be checked"))
                elif _is_rmcourse(key.value):
                    found.add((ANY_NAME, f"sys.modules[{key.value!r}] reaches into rmcourse"))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if PACKAGE in node.value:
                    for name in names:
                        if name in node.value:
                            found.add((name, f"the string {node.value[:60]!r} names rmcourse"))
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
    """Which of ``names`` the code ``sources`` obtain from rmcourse: name -> how.

    ``trusted`` are the instructor's cells: a source identical to one of them is not searched
    (its imports are the instructor's), but the aliases it binds count everywhere.

    Examples
    --------
    >>> copied_names(["from rmcourse.np_loss import bt_loss as f"], ["bt_loss", "log_sigmoid"])
    {'bt_loss': 'from rmcourse.np_loss import bt_loss'}
    >>> code = "import rmcourse.np_loss as m\\ng = m\\ny = g.log_sigmoid(0)"
    >>> copied_names([code], ["log_sigmoid"])
    {'log_sigmoid': 'g.log_sigmoid reaches into rmcourse'}
    >>> setup = "from rmcourse.grading.checks import checks as _grader"
    >>> copied_names([setup], ["bt_loss"]), copied_names(["_grader.reference.np_loss.bt_loss"],
    ...                                                  ["bt_loss"], trusted=[setup])
    ({}, {'bt_loss': '_grader.reference.np_loss.bt_loss reaches into rmcourse'})
    """
    sources, trusted, names = list(sources), list(trusted), set(names)
    aliases = _aliases(_parse(sources + trusted))
    own = _parse(source for source in sources if source not in set(trusted))
    result: dict[str, str] = {}
    for name, how in sorted(_findings(own, names, aliases)):
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
