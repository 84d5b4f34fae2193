"""A lesson's code reads like code people maintain: the lint the prose-number test is for numbers.

Each lesson (``notebooks/*.ipynb``) is read as Python, cell by cell, with :mod:`ast` (no kernel;
IPython's ``%magic`` and ``!shell`` lines count as ``pass``). Four rules:

- **short cells**: a code cell has at most :data:`MAX_CELL_LINES` lines; a longer one is two steps,
  and a student reads and changes one step at a time.
- **no seed that does nothing**: a global seed (``torch.manual_seed``, ``np.random.seed``,
  ``random.seed`` at a cell's top level) must be followed by a draw from that generator before
  the generator is seeded again, either by another seed or by a call that seeds it itself
  (:data:`SELF_SEEDING`, or a function the lesson defines whose body seeds before it draws).
  Draws are the calls in :data:`DRAWS` and the functions the lesson defines that draw. A call the
  test does not know counts as no draw: a seed that such a call needs is listed in
  :data:`SEEDS_KEPT` with the reason.
- **one meaning per name**: a top-level name bound in two cells is bound to the same kind of value
  in each: a call of the same function (``fig, ax = plt.subplots(...)`` in every figure cell),
  the same kind of literal, or a loop variable each time. A loop variable is a temporary; a name
  that is a loop variable in one cell and a lasting value in another (lesson 07's ``b``: β in a
  loop, later a fixed β) says two things; so do two calls of different functions (``runs =
  train_all()``, later ``runs = sweep(betas)``). The kind is read from the code, not the meaning:
  the few names whose one meaning the kinds do not show are in :data:`SAME_MEANING`.
- **no unused import**: a name imported at a cell's top level is used somewhere in the lesson.

Each failure names the notebook, the cell index (as ``nbformat`` counts cells, markdown included)
and what to do.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

LESSONS = sorted(Path(__file__).resolve().parents[1].glob("notebooks/[0-9][0-9]_*.ipynb"))

MAX_CELL_LINES = 25
"""The most lines a lesson's code cell has (blank lines and comments count: they are read too)."""

SEEDS = {
    "torch.manual_seed": "torch",
    "np.random.seed": "numpy",
    "numpy.random.seed": "numpy",
    "random.seed": "random",
}
"""Calls that seed a global generator, and the generator."""

DRAWS = {
    "torch": re.compile(
        r"^torch\.(rand|randn|randint|randperm|rand_like|randn_like|randint_like|normal|bernoulli|"
        r"multinomial)$"
        r"|^(torch\.nn\.functional|F)\.dropout$"
        r"|^(torch\.)?nn\.[A-Z]\w*$"
        r"|^(\w+\.)?(new_model|new_policy|CausalLM|RewardModel)$"
    ),
    "numpy": re.compile(r"^(np|numpy)\.random\.(?!seed$|default_rng$|Generator$)\w+$"),
    "random": re.compile(r"^random\.(?!seed$)\w+$"),
}
"""Per generator, the called names (dotted, as written) that draw from it: torch's samplers and
dropout, the constructors of layers and models (their initial weights), numpy's and Python's
module-level samplers. A seeded ``np.random.default_rng(0)`` is its own generator, not a draw."""

SELF_SEEDING = {
    "torch": re.compile(r"^((train|loop|policy_train)\.)?(train|run|sft|dpo)$"),
    "numpy": re.compile(r"(?!)"),
    "random": re.compile(r"(?!)"),
}
"""Per generator, the called names of ``rmcourse`` functions that seed it themselves before they
draw: :func:`rmcourse.loop.run` calls ``torch.manual_seed(config.seed)``, and ``train``, ``sft``
and ``dpo`` run it (a method ``model.train()`` is not one of them)."""

SEEDS_KEPT: dict[tuple[str, int], str] = {}
"""(notebook stem, cell index) of a seed this test would flag -> why it does something."""

SAME_MEANING: dict[tuple[str, str], str] = {
    ("*", "ax"): "a matplotlib Axes: from plt.subplots, or one of its axes in a loop",
    ("01_bradley_terry", "delta"): "Δ = r_w − r_l of the lesson's formula each time",
}
"""(notebook stem or ``*`` for every lesson, name) bound to values of different kinds with one
meaning -> that meaning."""


@dataclass(frozen=True)
class Cell:
    """A code cell: its index among all the notebook's cells, and its statements."""

    index: int
    tree: ast.Module
    lines: int


def code_cells(path: Path) -> list[Cell]:
    """The code cells of the notebook at ``path``, parsed."""
    nb = nbformat.read(path, as_version=4)
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        lines = cell.source.rstrip("\n").splitlines()
        python = "\n".join(
            re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in lines
        )  # IPython magics and shell lines
        cells.append(Cell(index, ast.parse(python, f"{path.name} cell {index}"), len(lines)))
    return cells


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a name or attribute chain, the innermost call's name for ``f(x).to(d)``,
    else ``""``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        if isinstance(node.value, ast.Call):
            return base
        return f"{base}.{node.attr}" if base else ""
    if isinstance(node, ast.Call):
        return dotted(node.func)
    return ""


# --- short cells ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_code_cells_are_short(path):
    long = [(cell.index, cell.lines) for cell in code_cells(path) if cell.lines > MAX_CELL_LINES]
    assert not long, (
        f"{path.name}: code cells (index, lines) {long} are longer than {MAX_CELL_LINES} lines: "
        "split each into steps (a definition, then its use; one experiment, then its table or "
        "figure), or move code the lesson has taught into rmcourse"
    )


# --- seeds that do nothing -------------------------------------------------------------------


def _events(node: ast.AST, functions: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """The (event, generator) of the calls in ``node``, in execution order (arguments before
    the call): ``seed``, ``draw`` or ``reseed``. The bodies of ``def`` statements are not
    walked; calls of the functions in ``functions`` give that function's first events."""
    events: list[tuple[str, str]] = []

    def visit(n: ast.AST) -> None:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return
        for child in ast.iter_child_nodes(n):
            visit(child)
        if isinstance(n, ast.Call):
            name = dotted(n.func)
            if not name:
                return
            if name in SEEDS:
                events.append(("seed", SEEDS[name]))
            elif name in functions:
                events.extend(functions[name])
            for generator, pattern in DRAWS.items():
                if pattern.search(name):
                    events.append(("draw", generator))
            for generator, pattern in SELF_SEEDING.items():
                if pattern.search(name):
                    events.append(("reseed", generator))

    visit(node)
    return events


def _first_per_generator(events: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What a call of a function with these body events does first to each generator: a draw,
    or a re-seed (its own seed)."""
    first: dict[str, str] = {}
    for event, generator in events:
        first.setdefault(generator, "draw" if event == "draw" else "reseed")
    return [(event, generator) for generator, event in first.items()]


def useless_seeds(cells: list[Cell]) -> list[tuple[int, str, str]]:
    """(cell index, generator, what follows) of each top-level seed that no draw uses."""
    functions: dict[str, list[tuple[str, str]]] = {}
    pending: dict[str, int] = {}  # generator -> cell index of a seed not drawn from yet
    found = []
    for cell in cells:
        for statement in cell.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = [e for s in statement.body for e in _events(s, functions)]
                functions[statement.name] = _first_per_generator(body)
                continue
            for event, generator in _events(statement, functions):
                if event == "draw":
                    pending.pop(generator, None)
                    continue
                if generator in pending:
                    found.append(
                        (pending.pop(generator), generator, f"a {event} in cell {cell.index}")
                    )
                if event == "seed" and isinstance(statement, ast.Expr):
                    pending[generator] = cell.index
    found += [(index, generator, "the end of the lesson") for generator, index in pending.items()]
    return found


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_seed_is_drawn_from(path):
    useless = [
        f"cell {index}: the {generator} seed is followed by {what} before any draw"
        for index, generator, what in useless_seeds(code_cells(path))
        if (path.stem, index) not in SEEDS_KEPT
    ]
    assert not useless, (
        f"{path.name}: seeds that do nothing: {useless}. Remove each (the call after it seeds "
        "itself), move it to just before the draw it is for, or list it in SEEDS_KEPT with why "
        "it does something"
    )


def test_the_seed_rule_flags_a_seed_before_a_self_seeding_call_and_keeps_a_drawn_one():
    def cells(*sources: str) -> list[Cell]:
        return [Cell(i, ast.parse(s), 1) for i, s in enumerate(sources)]

    before_train = cells("torch.manual_seed(0)\nx = 1", "result = train(model, tok, cfg)")
    assert useless_seeds(before_train) == [(0, "torch", "a reseed in cell 1")]
    before_model = cells("torch.manual_seed(0)", "model = new_model(tok).to(device)")
    assert useless_seeds(before_model) == []
    seeds_itself = cells(
        "def fit(seed):\n    torch.manual_seed(seed)\n    return torch.randn(2)",
        "np.random.seed(1)\ntorch.manual_seed(0)\nfit(1)\nnp.random.rand()",
    )
    assert useless_seeds(seeds_itself) == [(1, "torch", "a reseed in cell 1")]
    assert useless_seeds(cells("random.seed(0)")) == [(0, "random", "the end of the lesson")]


# --- one meaning per name --------------------------------------------------------------------


def _value_kind(value: ast.AST) -> str:
    """What kind of value an expression makes: ``call f`` (the function called), a literal's
    type, ``element of x`` / ``attribute of x`` for a subscript or attribute of ``x``."""
    if isinstance(value, ast.Call):
        return f"call {dotted(value.func) or '?'}"
    if isinstance(value, ast.Constant):
        return type(value.value).__name__
    if isinstance(value, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(value, (ast.Set, ast.SetComp)):
        return "set"
    if isinstance(value, (ast.Tuple, ast.GeneratorExp)):
        return "tuple"
    if isinstance(value, ast.Subscript):
        return f"element of {dotted(value.value) or '?'}"
    if isinstance(value, ast.Attribute):
        return f"attribute of {dotted(value.value) or '?'}"
    if isinstance(value, ast.Name):
        return f"alias of {value.id}"
    if isinstance(value, ast.Lambda):
        return "function"
    return f"{type(value).__name__} expression"


def _bind(target: ast.AST, kind: str, value: ast.AST | None, out: dict[str, str]) -> None:
    """Record the kind of each name in an assignment target (tuples matched element-wise)."""
    if isinstance(target, ast.Name):
        out[target.id] = kind if value is None else _value_kind(value)
    elif isinstance(target, (ast.Tuple, ast.List)):
        values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
        for i, element in enumerate(target.elts):
            if values is not None and len(values) == len(target.elts):
                _bind(element, kind, values[i], out)
            else:
                part = kind if value is None else f"{_value_kind(value)} [{i}]"
                _bind(element, part, None, out)
    elif isinstance(target, ast.Starred):
        _bind(target.value, kind if value is None else "list", None, out)


def bindings(cell: Cell) -> dict[str, str]:
    """name -> kind of value, for each name a cell's top-level statements bind."""
    out: dict[str, str] = {}
    for statement in cell.tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                _bind(target, "", statement.value, out)
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            _bind(statement.target, "", statement.value, out)
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            _bind(statement.target, "loop variable", None, out)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                if item.optional_vars is not None:
                    _bind(
                        item.optional_vars, f"context {_value_kind(item.context_expr)}", None, out
                    )
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[statement.name] = "function" if "Function" in type(statement).__name__ else "class"
    return out


def rebound_names(cells: list[Cell]) -> dict[str, list[tuple[int, str]]]:
    """name -> [(cell index, kind)] for the top-level names bound to different kinds of value in
    different cells (``_`` and ``my_answer``-style placeholders bound to ``...`` are one kind)."""
    seen: dict[str, list[tuple[int, str]]] = {}
    for cell in cells:
        for name, kind in bindings(cell).items():
            seen.setdefault(name, []).append((cell.index, kind))
    return {
        name: sites
        for name, sites in seen.items()
        if name != "_" and len({kind for _, kind in sites}) > 1
    }


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_name_keeps_one_meaning_across_cells(path):
    rebound = {
        name: sites
        for name, sites in rebound_names(code_cells(path)).items()
        if (path.stem, name) not in SAME_MEANING and ("*", name) not in SAME_MEANING
    }
    assert not rebound, (
        f"{path.name}: names bound in several cells to different kinds of value "
        f"(name: [(cell index, kind)]): {rebound}. Give each meaning its own name (a loop "
        "variable too: it is a temporary), or list the name in SAME_MEANING with its one meaning"
    )


def test_the_name_rule_tells_a_loop_variable_from_a_lasting_value():
    def cells(*sources: str) -> list[Cell]:
        return [Cell(i, ast.parse(s), 1) for i, s in enumerate(sources)]

    same = cells(
        "fig, ax = plt.subplots()",
        "fig, ax = plt.subplots(1, 2)\nfor b in bs: pass",
        "for b in cs: pass",
    )
    assert rebound_names(same) == {}
    loop_then_value = cells("for b in betas: pass", "b, n = 1.0, 64")
    assert rebound_names(loop_then_value) == {"b": [(0, "loop variable"), (1, "float")]}
    two_calls = cells("runs = train_all()", "runs = sweep(betas)")
    assert rebound_names(two_calls) == {"runs": [(0, "call train_all"), (1, "call sweep")]}


# --- unused imports --------------------------------------------------------------------------


def unused_imports(cells: list[Cell]) -> list[tuple[int, str]]:
    """(cell index, name) of each top-level import the lesson never uses."""
    imported: dict[str, int] = {}
    used: set[str] = set()
    for cell in cells:
        for statement in cell.tree.body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                for alias in statement.names:
                    name = alias.asname or alias.name.split(".")[0]
                    if name != "*":
                        imported.setdefault(name, cell.index)
        for node in ast.walk(cell.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                used.add(node.id)
    return [(index, name) for name, index in imported.items() if name not in used]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_import_is_used(path):
    unused = unused_imports(code_cells(path))
    assert not unused, (
        f"{path.name}: imports (cell index, name) {unused} are never used: remove them"
    )


def test_the_import_rule_sees_a_use_in_a_later_cell():
    cells = [
        Cell(0, ast.parse("import numpy as np\nimport os.path\nfrom a import b, c"), 1),
        Cell(1, ast.parse("print(np.pi, f'{b}')"), 1),
    ]
    assert unused_imports(cells) == [(0, "os"), (0, "c")]
