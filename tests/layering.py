"""Read chinwag's import graph from its source with ``ast``, to test its layering.

Every import counts: ones under ``if TYPE_CHECKING:``, ones inside functions and
relative ones, because a circle closed by a type-only or a late import is still
a circle to a reader. Only the package tests are about is parsed, so imports of
other packages (the standard library, chinwag's other parts) are dropped.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src"
MAX_MODULE_LINES = 450


def module_name(path: Path) -> str:
    """The dotted name of a source file under ``src/`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(package: str) -> dict[str, Path]:
    """Every module of one package (``"chinwag.client"``), by dotted name."""
    folder = SOURCE.joinpath(*package.split("."))
    return {module_name(path): path for path in sorted(folder.rglob("*.py"))}


def imported_names(name: str, path: Path) -> set[str]:
    """The absolute dotted names one module imports, and each name it imports from them."""
    is_package = path.name == "__init__.py"
    own_package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = own_package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            if node.level == 0:
                base = node.module or ""
            elif node.module:
                base = f"{base}.{node.module}"
            found.add(base)
            # ``from . import bus`` imports the module chinwag.x.bus, not only chinwag.x.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph(*packages: str) -> dict[str, set[str]]:
    """Which modules of ``packages`` each of their modules imports."""
    modules: dict[str, Path] = {}
    for package in packages:
        modules.update(package_modules(package))
    return {
        name: {other for other in imported_names(name, path) if other in modules and other != name}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        path.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return []

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def long_modules(package: str, limit: int = MAX_MODULE_LINES) -> dict[str, int]:
    """The modules of ``package`` longer than ``limit`` lines, with their lengths."""
    lengths = {
        name: len(path.read_text().splitlines()) for name, path in package_modules(package).items()
    }
    return {name: length for name, length in lengths.items() if length > limit}
