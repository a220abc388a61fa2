"""The in-memory bus: nodes in one process share a hub (the default)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from ..core.events import BusEvent, NodeGone, RoomSettings, UserRecord
from ..core.names import name_key
from .bus import Bus, EventHandler
from .placement import least_loaded

__all__ = ["MemoryBus", "MemoryHub"]


class MemoryHub:
    """What Redis is for RedisBus: the names and the nodes' mailboxes.

    ``names`` maps each claimed name's :func:`~chinwag.core.names.name_key` to
    its record (which keeps the name as typed), so look-alikes exclude each other.
    """

    def __init__(self) -> None:
        self.names: dict[str, UserRecord] = {}
        self.nodes: dict[str, MemoryBus] = {}
        self.seats: dict[str, dict[str, str]] = {}  # room key -> seated name -> its node
        self.calls: dict[str, str] = {}  # SFU call (placement.call_key) -> its Janus URL
        self.rooms: dict[str, tuple[RoomSettings, set[str]]] = {}  # key -> settings, holders


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
        for key in [k for k, r in self.hub.names.items() if r.node == self.node]:
            del self.hub.names[key]
        for other in list(self.hub.nodes.values()):
            other._post(NodeGone(self.node))

    async def claim(self, record: UserRecord) -> bool:
        key = name_key(record.name)
        if key in self.hub.names:
            return False
        self.hub.names[key] = record
        return True

    async def release(self, name: str) -> None:
        key = name_key(name)
        record = self.hub.names.get(key)
        if record is not None and record.node == self.node:
            del self.hub.names[key]

    async def update(self, record: UserRecord) -> None:
        self._replace_mine(record)

    async def claim_seat(self, room: str, name: str, cap: int) -> bool:
        seats = self.hub.seats.setdefault(room, {})
        for seated in [n for n, node in seats.items() if node not in self.hub.nodes]:
            del seats[seated]
        if name in seats:
            return True
        if len(seats) >= cap:
            return False
        seats[name] = self.node
        return True

    async def release_seat(self, room: str, name: str) -> None:
        seats = self.hub.seats.get(room, {})
        seats.pop(name, None)
        if not seats:
            self.hub.seats.pop(room, None)

    async def place_call(self, call: str, loads: Mapping[str, int]) -> str:
        placed = self.hub.calls.get(call)
        if placed is None or placed not in loads:
            placed = self.hub.calls[call] = least_loaded(loads, self.hub.calls.values())
        return placed

    async def unplace_call(self, call: str) -> None:
        self.hub.calls.pop(call, None)

    async def claim_room(self, room: str, settings: RoomSettings) -> RoomSettings:
        stored, holders = self.hub.rooms.get(room, (settings, set()))
        holders = {node for node in holders if node in self.hub.nodes}  # the dead hold nothing
        if not holders:
            stored = settings
        self.hub.rooms[room] = (stored, holders | {self.node})
        return stored

    async def release_room(self, room: str) -> None:
        _, holders = self.hub.rooms.get(room, (None, set()))
        holders.discard(self.node)
        if not holders:
            self.hub.rooms.pop(room, None)

    async def hand_over(self, record: UserRecord) -> None:
        self._replace_mine(record)

    def _replace_mine(self, record: UserRecord) -> None:
        """Store ``record`` for its name's key, if this node holds that key."""
        key = name_key(record.name)
        held = self.hub.names.get(key)
        if held is not None and held.node == self.node:
            self.hub.names[key] = record

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
