"""The package's layering (``rmcourse.LAYERS``) holds: no module imports a higher layer, and the
modules of lessons 01-02 never import torch."""

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
