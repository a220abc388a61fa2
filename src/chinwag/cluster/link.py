"""Joins a server's lobby to other nodes through a bus.

The lobby decides (claim this name, publish that event, forward this message
to that node); :class:`ClusterLink` carries those effects to the
:class:`~chinwag.cluster.Bus` and feeds the bus's events and claim results back
into the lobby. Awaiting the bus happens here, in tasks the link owns, never
in the lobby.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from ..core.effects import Adopt, Claim, Effect, Forward, HandOver, Publish, Release, UpdateRecord
from ..core.events import BusEvent, NodeUsers, UserRecord
from ..core.lobby import Lobby
from . import Bus, BusUnavailable

__all__ = ["ClusterLink"]

log = logging.getLogger("chinwag.cluster.link")

Apply = Callable[[Iterable[Effect]], None]


class ClusterLink:
    """Carries one lobby's cluster effects; see the module docstring."""

    def __init__(self, bus: Bus, lobby: Lobby, apply: Apply) -> None:
        self.bus = bus
        self.lobby = lobby
        self._apply = apply
        self._tasks: set[asyncio.Task[None]] = set()
        bus.undelivered = self._undelivered

    async def start(self) -> None:
        """Join, and learn who is on the other nodes (a bus that rejoins after an
        outage tells the lobby again, with NodeUsers events)."""
        await self.bus.start(self._on_event)
        if self.bus.available:
            by_node: dict[str, list[UserRecord]] = {}
            for record in await self.bus.directory():
                by_node.setdefault(record.node, []).append(record)
            for node, users in by_node.items():
                self._on_event(NodeUsers(node, tuple(users)))
        log.info("node %s joined the cluster", self.bus.node)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.bus.stop()

    def carry(self, effect: Effect) -> None:
        """Carry out one cluster effect (Send and Close are the transport's)."""
        match effect:
            case Publish(event=event):
                self.bus.publish(event)
            case Forward(node=node, event=event):
                self.bus.send(node, event)
            case Claim():
                self._spawn(self._claim(effect))
            case Release(name=name):
                self._spawn(self._quietly(self.bus.release(name), f"release {name}"))
            case UpdateRecord(record=record):
                self._spawn(self._quietly(self.bus.update(record), "update"))
            case HandOver(record=record):
                self._spawn(self._quietly(self.bus.hand_over(record), "hand over"))
            case Adopt(record=record):
                self._spawn(self._quietly(self.bus.adopt(record), "adopt"))

    def _on_event(self, event: BusEvent) -> None:
        self._apply(self.lobby.bus_event(event))

    def _undelivered(self, node: str, event: BusEvent) -> None:
        self._apply(self.lobby.undelivered(node, event))

    async def _claim(self, claim: Claim) -> None:
        try:
            ok = await self.bus.claim(claim.record)
        except BusUnavailable as error:
            log.warning("sign-in of conn %d refused: %s", claim.conn, error)
            self._apply(self.lobby.claim_failed(claim.conn))
            return
        self._apply(self.lobby.claimed(claim.conn, claim.record.name, ok))

    async def _quietly(self, work: Awaitable[None], what: str) -> None:
        try:
            await work
        except BusUnavailable as error:
            log.warning("%s skipped: %s", what, error)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
