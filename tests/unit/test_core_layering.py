"""The core and the transport are layered: no import circle, no oversized module.

The import graph is read from the source with ``ast``, so imports under
``if TYPE_CHECKING:`` count: a type-only import that closes a circle is still a
circle to a reader. Relative imports count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chinwag

SOURCE = Path(chinwag.__file__).parent
PACKAGES = ("chinwag.core", "chinwag.transport")
MAX_CORE_LINES = 450


def _module_files(package: str) -> dict[str, Path]:
    folder = SOURCE.joinpath(*package.split(".")[1:])
    files = {}
    for path in sorted(folder.glob("*.py")):
        name = package if path.stem == "__init__" else f"{package}.{path.stem}"
        files[name] = path
    return files


def _imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name ``module`` imports, with relative imports resolved."""
    is_package = path.stem == "__init__"
    here = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            if node.level == 0:
                origin = node.module or ""
            else:
                origin = f"{base}.{node.module}" if node.module else base
            names.add(origin)
            # ``from chinwag.core import lobby`` imports the module ``lobby``.
            names.update(f"{origin}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    files: dict[str, Path] = {}
    for package in PACKAGES:
        files.update(_module_files(package))
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = {name for name in _imported_names(module, path) if name in files}
        graph[module] = targets - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path ``[a, b, ..., a]``, or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
                continue
            following = pending.pop(0)
            if following in on_path:
                return [*path[path.index(following) :], following]
            if following not in done:
                stack.append((following, sorted(graph[following])))
                path.append(following)
                on_path.add(following)
    return None


def test_the_cycle_finder_finds_a_planted_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_relative_and_type_only_imports_are_edges() -> None:
    graph = import_graph()
    assert "chinwag.core.lobby" in graph  # the walk really read the package
    assert graph["chinwag.core.lobby"]  # and it found imports


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circle(package: str) -> None:
    graph = import_graph()
    inside = {
        module: {target for target in targets if target.startswith(package)}
        for module, targets in graph.items()
        if module.startswith(package)
    }
    cycle = find_cycle(inside)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_core_modules_are_small() -> None:
    too_long = {
        path.name: lines
        for path in _module_files("chinwag.core").values()
        if (lines := len(path.read_text().splitlines())) > MAX_CORE_LINES
    }
    assert too_long == {}
