"""Fan-out between chinwag processes: one interface, two implementations.

A :class:`Bus` carries :mod:`events <chinwag.core.events>` between the lobbies
of several processes ("nodes") so that they behave as one server: a claimed
username is unique across nodes, presence changes reach every node, and a
message for a user on another node is delivered there.

* :class:`~chinwag.cluster.memory.MemoryBus` (the default): nodes in one process
  share a :class:`~chinwag.cluster.memory.MemoryHub`; a lone server uses a hub of
  its own. No dependencies.
* :class:`~chinwag.cluster.redis.RedisBus` (``--redis URL``): nodes in different
  processes or machines share one Redis.

Both pass the same contract tests (``tests/cluster/test_bus_contract.py``).
"""

from __future__ import annotations

from ..extras import require
from .bus import CLUSTER_FORMAT, Bus, BusUnavailable, ClusterRefused, EventHandler

__all__ = [
    "CLUSTER_FORMAT",
    "Bus",
    "BusUnavailable",
    "ClusterRefused",
    "EventHandler",
    "create_bus",
]


def create_bus(redis_url: str | None, node: str | None = None) -> Bus:
    """The bus for a server's settings: Redis when a URL is given, else in-memory."""
    if redis_url:
        require("redis")
        from .redis import RedisBus

        return RedisBus(redis_url, node=node)
    from .memory import MemoryBus, MemoryHub

    return MemoryBus(MemoryHub(), node=node)
