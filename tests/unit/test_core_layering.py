"""The core is layered: no import circle inside it, no module over the house limit,
and no desk importing the lobby (its composition root).

The graph is read from the source (see ``tests/layering.py``), so imports under
``if TYPE_CHECKING:`` count: a type-only import that closes a circle is still a
circle to a reader. The transport's layering is in ``test_package_layering.py``.
"""

from __future__ import annotations

from tests.layering import MAX_MODULE_LINES, find_cycle, import_graph, long_modules

CORE = "chinwag.core"
#: The composition root and what only it uses: the desks never import these.
ROOT = {f"{CORE}.lobby", f"{CORE}.desks", f"{CORE}.dispatch", f"{CORE}.nodeevents"}


def test_the_core_has_no_import_circle() -> None:
    graph = import_graph(CORE)
    assert len(graph) > 30 and graph[f"{CORE}.lobby"]  # the package was really read
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_only_the_composition_root_imports_it() -> None:
    graph = import_graph(CORE)
    reaching = {
        module: sorted(targets & ROOT)
        for module, targets in graph.items()
        if module not in ROOT and targets & ROOT
    }
    assert reaching == {}


def test_the_ports_import_no_desk() -> None:
    # ports.py is where desks name what they ask of each other; a desk class
    # imported there would tie every desk to that one again.
    leaves = {"effects", "events", "gate", "members", "protocol", "rooms"}
    assert import_graph(CORE)[f"{CORE}.ports"] <= {f"{CORE}.{leaf}" for leaf in leaves}


def test_core_modules_are_small() -> None:
    assert long_modules(CORE) == {}, f"modules over {MAX_MODULE_LINES} lines"
