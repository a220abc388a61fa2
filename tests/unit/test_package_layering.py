"""The transport, client and cluster packages have no import circle, and no module
of theirs (nor of config or the Python peer) is longer than the house limit.

The graph is read from the source (see ``tests/layering.py``), so type-only and
late imports count.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.layering import (
    MAX_MODULE_LINES,
    find_cycle,
    import_graph,
    imported_names,
    long_modules,
)

ACYCLIC_PACKAGES = ("chinwag.transport", "chinwag.client", "chinwag.cluster")
SHORT_PACKAGES = (*ACYCLIC_PACKAGES, "chinwag.config", "chinwag.peer")


@pytest.mark.parametrize("package", ACYCLIC_PACKAGES)
def test_no_import_cycle_inside_the_package(package: str) -> None:
    graph = import_graph(package)
    assert len(graph) > 3  # the package was really found and parsed
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("package", SHORT_PACKAGES)
def test_no_module_is_over_the_length_limit(package: str) -> None:
    assert long_modules(package) == {}, f"modules over {MAX_MODULE_LINES} lines"


def test_the_cycle_finder_finds_a_type_only_circle() -> None:
    # The finder must be able to fail: the client's connection and subscription
    # modules once closed a circle with an import under TYPE_CHECKING.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_type_only_late_and_relative_imports_are_edges(tmp_path: Path) -> None:
    module = tmp_path / "connection.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from .http import HttpExchange\n"
        "if TYPE_CHECKING:\n"
        "    from .server import ChinwagServer\n"
        "def later() -> None:\n"
        "    from .. import cluster\n"
    )
    names = imported_names("chinwag.transport.connection", module)
    assert {"chinwag.transport.http", "chinwag.transport.server", "chinwag.cluster"} <= names
    graph = import_graph("chinwag.transport")  # and the real package is read
    assert "chinwag.transport.http" in graph["chinwag.transport.connection"]
