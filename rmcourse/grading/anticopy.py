"""The anti-copy rule: a function an exercise asks for must not come from ``rmcourse``.

Detected statically, from the syntax trees of a notebook's code cells: ``from rmcourse... import
NAME`` (or ``*``), ``ALIAS.NAME`` / ``getattr(ALIAS, "NAME")`` where ``ALIAS`` is bound to an
rmcourse module (``import rmcourse.np_loss as m``, ``from rmcourse import np_loss``, ``m2 = m``),
dynamic imports of rmcourse (``importlib.import_module``, ``__import__``, ``sys.modules[...]``), and
string literals naming both rmcourse and NAME (``exec("from rmcourse... import NAME")``). A cell
identical to one of the instructor's is not held against the student.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

PACKAGE = "rmcourse"
ANY_NAME = "*"  # a finding about every must-write name (star import, dynamic import)


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
                if func.endswith(("import_module", "__import__")) and any(
                    _is_rmcourse(s) and ".grading" not in s for s in strings
                ):
                    found.add((ANY_NAME, f"{func}({strings[0]!r}) imports rmcourse dynamically"))
                if func == "getattr" and node.args and _root(node.args[0]) in aliases:
                    for s in strings:
                        if s in names:
                            found.add((s, f"getattr(..., {s!r}) reaches into rmcourse"))
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("modules"):
                key = node.slice
                if isinstance(key, ast.Constant) and _is_rmcourse(str(key.value)):
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
