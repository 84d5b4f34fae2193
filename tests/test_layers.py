"""The package's layering (``rmcourse.LAYERS``, and ``rmcourse.SUBLAYERS`` inside a package) holds:
no module imports a higher layer, library code imports nothing by a string, and the modules of
lessons 01-02 never import torch."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import rmcourse

PACKAGE = Path(rmcourse.__file__).parent


def top_level(path: Path) -> str:
    """The top-level module or package of rmcourse a file belongs to: ``data`` for data/world.py."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def rmcourse_imports(path: Path) -> set[str]:
    """Top-level rmcourse modules a file imports, anywhere in it (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "rmcourse" and len(parts) > 1 and parts[1] in rmcourse.LAYERS:
                found.add(parts[1])
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_module_has_a_layer():
    assert {top_level(p) for p in SOURCES} <= set(rmcourse.LAYERS)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    own = rmcourse.LAYERS[top_level(path)]
    higher = {m for m in rmcourse_imports(path) if rmcourse.LAYERS[m] > own}
    assert not higher, f"{path.name} (layer {own}) imports the higher layer(s) {sorted(higher)}"


def test_the_layer_check_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from rmcourse.cli import main\n    import rmcourse.train\n")
    assert rmcourse_imports(probe) == {"cli", "train"}


def imported_names(source: str, package: str) -> set[str]:
    """Every rmcourse module that ``source``, a module of ``package`` (``rmcourse.grading``),
    imports anywhere in it, by dotted name (``P.x`` for ``from P import x``: ``x`` may be a module
    or a name in ``P``); relative imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "rmcourse"}


def package_imports(source: str, package: str) -> set[str]:
    """The modules of ``rmcourse.<package>`` that ``source``, one of them, imports (``__init__``
    for a name that is not a module of the package)."""
    modules = {p.stem for p in (PACKAGE / package).glob("*.py")}
    found = set()
    for name in imported_names(source, f"rmcourse.{package}"):
        parts = name.split(".")
        if parts[:2] == ["rmcourse", package]:
            found.add(parts[2] if len(parts) > 2 and parts[2] in modules else "__init__")
    return found


SUB_SOURCES = sorted(p for package in rmcourse.SUBLAYERS for p in (PACKAGE / package).glob("*.py"))


@pytest.mark.parametrize("package", sorted(rmcourse.SUBLAYERS))
def test_the_tiers_of_a_package_name_its_modules(package):
    modules = {p.stem for p in (PACKAGE / package).glob("*.py")} - {"__init__"}
    tiers = rmcourse.SUBLAYERS[package]
    missing, gone = sorted(modules - set(tiers)), sorted(set(tiers) - modules)
    assert not missing, f"rmcourse.SUBLAYERS[{package!r}] has no tier for {missing}"
    assert not gone, f"rmcourse.SUBLAYERS[{package!r}] names modules that do not exist: {gone}"


@pytest.mark.parametrize("path", SUB_SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_tier_of_its_package(path):
    package = path.parent.name
    tiers = dict(rmcourse.SUBLAYERS[package])
    tiers["__init__"] = max(tiers.values()) + 1  # the package's face: above all its modules
    imports = package_imports(path.read_text(encoding="utf-8"), package) - {path.stem}
    unknown = sorted(({path.stem} | imports) - set(tiers))
    assert not unknown, f"rmcourse.SUBLAYERS[{package!r}] has no tier for {unknown}"
    own = tiers[path.stem]
    higher = sorted(f"{m} (tier {tiers[m]})" for m in imports if tiers[m] > own)
    assert not higher, f"{package}/{path.name} (tier {own}) imports {higher}"


def test_the_tier_check_resolves_each_form_of_import():
    source = (
        "def f():\n    from rmcourse.grading import command, feedback as fb, grade_command\n"
        "    import rmcourse.grading.verdict\n    from rmcourse.grading.plan import Plan\n"
        "    from . import execute\n    from .results import Status\n"
        "    from rmcourse.quiz import widgets\n    import rmcourse.grading\n"
    )
    assert package_imports(source, "grading") == {
        "command", "feedback", "__init__", "verdict", "plan", "execute", "results"
    }  # fmt: skip
    assert package_imports("from rmcourse.quiz import widgets", "quiz") == {"widgets"}
    assert package_imports("from rmcourse import quiz", "quiz") == {"__init__"}


# Imports by string (``importlib.import_module(...)``, ``__import__(...)``): the layer checks
# above cannot see what they import, so library code uses none.
STRING_IMPORTERS = frozenset({"import_module", "__import__", "run_module"})


def string_imports(path: Path) -> list[str]:
    """``file:line name`` of each use of an importer by string: ``import_module`` or
    ``__import__``, called, passed on or imported (``from importlib import import_module``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.ImportFrom):
            name = next((a.name for a in node.names if a.name in STRING_IMPORTERS), "")
        else:
            continue
        if name in STRING_IMPORTERS:
            found.append((node.lineno, f"{path.name}:{node.lineno} {name}"))
    return [where for _, where in sorted(found)]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_library_code_imports_nothing_by_a_string(path):
    assert not string_imports(path), "imports by a string, which the layer test cannot see"


def test_the_string_import_check_sees_each_form(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import importlib\nfrom importlib import import_module\n"
        "def f(name):\n    importlib.import_module(f'rmcourse.{name}')\n"
        "    __import__('rmcourse.cli')\n    return g(importlib.import_module)\n"
        "DOC = 'importlib.import_module is named here, in a string only'\n"
    )
    assert string_imports(probe) == [
        "probe.py:2 import_module",
        "probe.py:4 import_module",
        "probe.py:5 __import__",
        "probe.py:6 import_module",
    ]


def test_lesson_01_02_modules_import_without_torch():
    modules = ", ".join(f"rmcourse.{name}" for name in rmcourse.TORCH_FREE)
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.startswith('torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def import_graph() -> dict[str, set[str]]:
    """Top-level module -> the other top-level modules it imports (type-hint imports too)."""
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        own = top_level(path)
        graph.setdefault(own, set()).update(rmcourse_imports(path) - {own})
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_no_import_cycle_between_modules():
    """Within a layer too, and an import for type hints only counts (model ⇄ policy was one)."""
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_the_cycle_check_finds_a_cycle():
    cycle = find_cycle({"model": {"transformer", "policy"}, "policy": {"model"}})
    assert cycle == ["model", "policy", "model"]
    assert find_cycle({"model": {"transformer"}, "policy": {"transformer"}}) is None


def test_both_heads_sit_on_the_transformer_module():
    for head in ("model", "policy"):
        imports = rmcourse_imports(PACKAGE / f"{head}.py")
        assert "transformer" in imports and not imports & {"model", "policy"} - {head}
