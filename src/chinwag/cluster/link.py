"""Joins a server's lobby to other nodes through a bus.

The lobby decides (claim this name, publish that event, forward this message
to that node); :class:`ClusterLink` carries those effects to the
:class:`~chinwag.cluster.Bus` and feeds the bus's events and claim results back
into the lobby. Awaiting the bus happens here, in tasks the link owns, never
in the lobby.

The link also knows which connections wait on the cluster (a name claim in
flight, a resume or a signed-token take-over asked of another node):
``waiting`` maps them to a deadline, and ``on_wait_over`` is told when a wait
ends, so the transport reads nothing more from a connection while it waits.
A request naming a node that the bus does not know to be alive is refused at
once instead of waited for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Final

from ..background import Background
from ..core.effects import (
    Adopt,
    Claim,
    ClaimRoom,
    ClaimSeat,
    ConnId,
    Effect,
    Forward,
    HandOver,
    Publish,
    Release,
    ReleaseRoom,
    ReleaseSeat,
    UpdateRecord,
)
from ..core.events import (
    BusEvent,
    NodeUsers,
    ResumeGrant,
    ResumeRefused,
    ResumeRequest,
    TakeOver,
    UserRecord,
)
from ..core.lobby import Lobby
from ..core.members import RESUME_WAIT
from . import Bus, BusUnavailable

__all__ = ["ClusterLink"]

log = logging.getLogger("chinwag.cluster.link")

Apply = Callable[[Iterable[Effect]], None]
WaitOver = Callable[[ConnId], None]

#: Longest a connection waits for a claim (the bus bounds each command too).
CLAIM_WAIT: Final = 10.0


class ClusterLink:
    """Carries one lobby's cluster effects; see the module docstring."""

    def __init__(
        self, bus: Bus, lobby: Lobby, apply: Apply, on_wait_over: WaitOver | None = None
    ) -> None:
        self.bus = bus
        self.lobby = lobby
        self._apply = apply
        self._on_wait_over = on_wait_over
        self._tasks = Background("cluster")
        bus.undelivered = self._undelivered
        self.waiting: dict[ConnId, float] = {}  # conn -> monotonic deadline of its wait

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
        await self._tasks.stop()
        await self.bus.stop()

    def carry(self, effect: Effect) -> None:
        """Carry out one cluster effect (Send and Close are the transport's)."""
        match effect:
            case Publish(event=event):
                self.bus.publish(event)
            case Forward():
                self._forward(effect)
            case Claim(conn=conn):
                self.waiting[conn] = time.monotonic() + CLAIM_WAIT
                self._spawn(self._claim(effect))
            case Release(name=name):
                self._spawn(self._quietly(self.bus.release(name), f"release {name}"))
            case UpdateRecord(record=record):
                self._spawn(self._quietly(self.bus.update(record), "update"))
            case HandOver(record=record):
                self._spawn(self._quietly(self.bus.hand_over(record), "hand over"))
            case Adopt(record=record):
                self._spawn(self._quietly(self.bus.adopt(record), "adopt"))
            case ClaimSeat():
                self._spawn(self._claim_seat(effect))
            case ReleaseSeat(room=room, name=name):
                work = self.bus.release_seat(room, name)
                self._spawn(self._quietly(work, f"release seat of {name}"))
            case ClaimRoom(conn=conn):
                self.waiting[conn] = time.monotonic() + CLAIM_WAIT
                self._spawn(self._claim_room(effect))
            case ReleaseRoom(room=room):
                self._spawn(self._quietly(self.bus.release_room(room), f"release room {room}"))

    def _forward(self, effect: Forward) -> None:
        event = effect.event
        if isinstance(event, ResumeRequest | TakeOver):  # a session asked of another node
            if not self.bus.is_alive(effect.node):  # nobody could answer: refuse now
                log.info(
                    "conn %d asks node %s for a session; it is not alive", event.conn, effect.node
                )
                asyncio.get_running_loop().call_soon(self._on_event, ResumeRefused(event.conn))
                return
            self.waiting[event.conn] = time.monotonic() + RESUME_WAIT
        self.bus.send(effect.node, event)

    def _undelivered(self, node: str, event: BusEvent) -> None:
        """The bus could not carry ``event`` to ``node``: the lobby tells its sender."""
        if isinstance(event, ResumeRequest | TakeOver):
            self._settle(event.conn, lambda: self.lobby.undelivered(node, event))
        else:
            self._apply(self.lobby.undelivered(node, event))

    def _on_event(self, event: BusEvent) -> None:
        if isinstance(event, ResumeGrant | ResumeRefused):
            self._settle(event.conn, lambda: self.lobby.bus_event(event))
        else:
            self._apply(self.lobby.bus_event(event))

    def _settle(self, conn: ConnId, answer: Callable[[], list[Effect]]) -> None:
        """Feed the cluster's answer for ``conn``; tell the transport if it waits no more."""
        self.waiting.pop(conn, None)
        self._apply(answer())
        if conn not in self.waiting and self._on_wait_over is not None:
            self._on_wait_over(conn)

    def expire_waits(self) -> None:
        """End waits past their deadline (the lobby gives up on them in ``expire``)."""
        now = time.monotonic()
        for conn in [c for c, deadline in self.waiting.items() if deadline <= now]:
            del self.waiting[conn]
            if self._on_wait_over is not None:
                self._on_wait_over(conn)

    async def _claim(self, claim: Claim) -> None:
        conn = claim.conn
        try:
            ok = await self.bus.claim(claim.record)
        except BusUnavailable as error:
            log.warning("sign-in of conn %d refused: %s", conn, error)
            self._settle(conn, lambda: self.lobby.claim_failed(conn))
            return
        self._settle(conn, lambda: self.lobby.claimed(conn, claim.record.name, ok))

    async def _claim_seat(self, claim: ClaimSeat) -> None:
        try:
            ok = await self.bus.claim_seat(claim.room, claim.name, claim.cap)
        except BusUnavailable as error:  # no seat the cluster cannot count
            log.warning("room-call seat of conn %d refused: %s", claim.conn, error)
            ok = False
        self._apply(self.lobby.seat_claimed(claim.conn, claim.room, claim.name, ok))

    async def _claim_room(self, claim: ClaimRoom) -> None:
        conn = claim.conn
        try:
            won = await self.bus.claim_room(claim.room, claim.settings)
        except BusUnavailable as error:  # the lobby refuses a lock the cluster cannot hold
            log.warning("room claim of conn %d not made: %s", conn, error)
            self._settle(conn, lambda: self.lobby.room_claimed(conn, claim.room, None))
            return
        self._settle(conn, lambda: self.lobby.room_claimed(conn, claim.room, won))

    async def _quietly(self, work: Awaitable[None], what: str) -> None:
        try:
            await work
        except BusUnavailable as error:
            log.warning("%s skipped: %s", what, error)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._tasks.spawn(work, getattr(work, "__qualname__", "bus work"))
