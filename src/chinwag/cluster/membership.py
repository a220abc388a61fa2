"""The Redis bus's inbound side: what this node hears, and which nodes it believes alive.

Every envelope read from the channels, and every snapshot taken when joining,
goes through :class:`Membership`, which hands the events to the lobby (its
event handler) and keeps the set of other nodes it has heard of. A known node
whose lease lapsed, or that said goodbye, becomes ``NodeGone`` once. After a
rejoin, nodes missing from the snapshot get one lease to come back before they
count as gone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import msgspec

from ..core.events import BusEvent, NamesLost, NodeGone, NodeUsers, UserRecord
from .bus import EventHandler
from .outbound import decode_envelope

__all__ = ["Membership", "decode_record"]

log = logging.getLogger("chinwag.cluster.redis")

decode_record = msgspec.msgpack.Decoder(UserRecord).decode


class Membership:
    """The other nodes of the cluster as this one knows them, and the events they send."""

    def __init__(
        self, node: str, broadcast: str, lease: float, handler: Callable[[], EventHandler | None]
    ) -> None:
        self.node = node
        self.lease = lease
        self._broadcast = broadcast.encode()  # the channel every node publishes on
        self._handler = handler  # the lobby's, once the bus has started
        self.known: set[str] = set()  # other nodes this node's lobby has heard of
        self._grace_until = 0.0  # after a rejoin, missing nodes may still be coming back

    def is_alive(self, node: str, available: bool) -> bool:
        """Not knowing is not knowing dead: while Redis is down (not ``available``), or
        while nodes missing after a rejoin may come back, the lobby's own wait decides."""
        if node == self.node or node in self.known or not available:
            return True
        return time.monotonic() < self._grace_until

    def snapshot(self, lost: Sequence[str], entries: list[list[bytes]]) -> None:
        """Hand the lobby what it needs to rebuild the shared list (on joining)."""
        if lost:
            self._deliver(NamesLost(tuple(lost)))
        live = set()
        for entry in entries:
            node = entry[0].decode()
            live.add(node)
            if node != self.node:
                users = tuple(decode_record(raw) for raw in entry[1:])
                self._deliver(NodeUsers(node, users))
        if self.known - live:  # nodes not back yet: give them one lease to return
            self._grace_until = time.monotonic() + self.lease
        self.known |= live - {self.node}

    def check(self, live: set[str]) -> None:
        """NodeGone for every known node whose lease has lapsed (``live``: those whose has not)."""
        if time.monotonic() >= self._grace_until:
            for node in sorted(self.known - live):
                log.warning("redis: node %s is gone (its lease lapsed)", node)
                self._node_gone(node)
        self.known |= live - {self.node}

    def receive(self, channel: bytes, data: bytes) -> None:
        """One message read from ``channel``: its events go to the lobby."""
        try:
            envelope = decode_envelope(data)
        except msgspec.DecodeError:
            log.warning("redis: dropped an undecodable message on %s", channel.decode())
            return
        sender = envelope.node
        if sender == self.node:
            if channel == self._broadcast:
                return  # our own publish, echoed to us
        else:
            self.known.add(sender)
        for event in envelope.events:
            self._deliver(event)
        if envelope.bye and sender != self.node:
            log.info("redis: node %s left the cluster", sender)
            self._node_gone(sender)

    def _node_gone(self, node: str) -> None:
        if node in self.known:
            self.known.discard(node)
            self._deliver(NodeGone(node))

    def _deliver(self, event: BusEvent) -> None:
        """Hand one event to the lobby; a bug there must not stop the bus."""
        handler = self._handler()
        if handler is None:
            return
        try:
            handler(event)
        except Exception:
            log.exception("redis: the handler failed on %s", type(event).__name__)
