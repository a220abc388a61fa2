"""The transport, client and cluster packages have no import circle, and no module
of theirs (nor of config or the Python peer) is longer than the house limit.

The graph is read from the source (see ``tests/layering.py``), so type-only and
late imports count.
"""

from __future__ import annotations

import pytest

from tests.layering import MAX_MODULE_LINES, find_cycle, import_graph, long_modules

ACYCLIC_PACKAGES = ("chinwag.transport", "chinwag.client", "chinwag.cluster")
SHORT_PACKAGES = (*ACYCLIC_PACKAGES, "chinwag.config", "chinwag.peer")


@pytest.mark.parametrize("package", ACYCLIC_PACKAGES)
def test_no_import_cycle_inside_the_package(package: str) -> None:
    graph = import_graph(package)
    assert len(graph) > 3  # the package was really found and parsed
    cycle = find_cycle(graph)
    assert cycle == [], "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("package", SHORT_PACKAGES)
def test_no_module_is_over_the_length_limit(package: str) -> None:
    assert long_modules(package) == {}, f"modules over {MAX_MODULE_LINES} lines"


def test_the_cycle_finder_finds_a_type_only_circle() -> None:
    # The finder must be able to fail: the client's connection and subscription
    # modules once closed a circle with an import under TYPE_CHECKING.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
