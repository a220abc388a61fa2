"""The in-memory bus: nodes in one process share a hub (the default)."""

from __future__ import annotations

import asyncio

from ..core.events import BusEvent, NodeGone, UserRecord
from .bus import Bus, EventHandler

__all__ = ["MemoryBus", "MemoryHub"]


class MemoryHub:
    """What Redis is for RedisBus: the names and the nodes' mailboxes."""

    def __init__(self) -> None:
        self.names: dict[str, UserRecord] = {}
        self.nodes: dict[str, MemoryBus] = {}


class MemoryBus(Bus):
    """Delivers on the next event-loop turn, as a network would, never inline."""

    def __init__(self, hub: MemoryHub, node: str | None = None) -> None:
        super().__init__(node)
        self.hub = hub

    def is_alive(self, node: str) -> bool:
        return node in self.hub.nodes

    async def start(self, handler: EventHandler) -> None:
        await super().start(handler)
        self.hub.nodes[self.node] = self

    async def stop(self) -> None:
        """Leave: free this node's names; the others see it gone."""
        self.hub.nodes.pop(self.node, None)
        for name in [n for n, r in self.hub.names.items() if r.node == self.node]:
            del self.hub.names[name]
        for other in list(self.hub.nodes.values()):
            other._post(NodeGone(self.node))

    async def claim(self, record: UserRecord) -> bool:
        if record.name in self.hub.names:
            return False
        self.hub.names[record.name] = record
        return True

    async def release(self, name: str) -> None:
        record = self.hub.names.get(name)
        if record is not None and record.node == self.node:
            del self.hub.names[name]

    async def update(self, record: UserRecord) -> None:
        if self.hub.names.get(record.name, record).node == self.node:
            self.hub.names[record.name] = record

    async def hand_over(self, record: UserRecord) -> None:
        if self.hub.names.get(record.name, record).node == self.node:
            self.hub.names[record.name] = record

    async def adopt(self, record: UserRecord) -> None:
        """Nothing to remember: the hub already says who holds the name."""

    def publish(self, event: BusEvent) -> None:
        for node, bus in self.hub.nodes.items():
            if node != self.node:
                bus._post(event)

    def send(self, node: str, event: BusEvent) -> None:
        bus = self.hub.nodes.get(node)
        if bus is not None:
            bus._post(event)
        else:
            self.undelivered(node, event)

    async def directory(self) -> list[UserRecord]:
        return list(self.hub.names.values())

    def _post(self, event: BusEvent) -> None:
        handler = self._handler
        if handler is not None:
            asyncio.get_running_loop().call_soon(handler, event)
