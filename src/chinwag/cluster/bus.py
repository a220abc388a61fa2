"""The one interface every bus implements."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Callable, Mapping
from typing import Final

from .. import __version__
from ..core.errors import ServerError
from ..core.events import BusEvent, RoomSettings, UserRecord

__all__ = [
    "CLUSTER_FORMAT",
    "Bus",
    "BusUnavailable",
    "ClusterRefused",
    "EventHandler",
    "UndeliveredHandler",
]

#: The format of everything chinwag processes share through a bus's store: its
#: keys and their values, the envelopes and events on its channels, the Redis
#: chat history. Raised whenever a process of the previous format would misread
#: what this one writes (a rolling upgrade is then impossible: docs/deployment.md).
#: Each process announces its format when it joins; one whose format differs
#: from a live node's refuses to join (:class:`ClusterRefused`).
#:
#: 1. Every version before formats were announced (their lease key holds "1").
#: 2. Announces format and version in the lease; names keyed by ``name_key``.
CLUSTER_FORMAT: Final = 2

EventHandler = Callable[[BusEvent], None]
#: Told of each ``send(node, event)`` the bus could not carry (the store is down).
UndeliveredHandler = Callable[[str, BusEvent], None]


class BusUnavailable(ServerError):
    """The bus cannot answer now (Redis down); the caller refuses sign-ins."""


class ClusterRefused(Exception):
    """This process cannot join the cluster (another format is running there).

    Raised by ``Bus.start``; the message is the one-line reason ``chinwag serve``
    prints before exiting with ``exit_code``.
    """

    exit_code: Final = 3

    @classmethod
    def by_node(cls, cluster: str, node: str, announcement: str) -> ClusterRefused:
        """The one-line reason this process cannot join the cluster at ``cluster`` (its
        address, password hidden), where ``node`` announced ``"FORMAT VERSION"``."""
        other_format, _, other_version = announcement.partition(" ")
        return cls(
            f"refusing to join the cluster at {cluster}: this process (chinwag "
            f"{__version__}) uses cluster format {CLUSTER_FORMAT}, its node {node} "
            f"(chinwag {other_version or 'older than format announcements'}) uses format "
            f"{other_format}; stop every process of format {other_format} first "
            "(docs/deployment.md, Rolling upgrade)"
        )


class Bus(abc.ABC):
    """Carries lobby events between nodes; see the package docstring.

    Contract (checked by ``tests/cluster/test_bus_contract.py``):

    * ``claim(name, record)`` is atomic across nodes: of two nodes claiming
      one name at once, exactly one gets True. The claim is leased to this
      node and renewed by the bus while the node lives; ``release`` frees it.
      Raises BusUnavailable when the shared store cannot be reached.
    * ``publish(event)`` reaches every *other* node's handler once, in the
      order published; ``send(node, event)`` reaches that node's handler.
      Both are fire-and-forget and never block the caller. A ``send`` the bus
      knows it could not carry (the store unreachable, the node gone) is given
      to ``undelivered(node, event)``, so the sender hears of it.
    * ``directory()`` lists every claimed user of every live node.
    * When a node dies, every other node's handler gets ``NodeGone(node)``
      within the lease time, and its names become free.
    * ``is_alive(node)`` is False for a node that has left or whose lease
      lapsed, and for a node name that never joined.
    * ``update(record)`` changes the stored record of a claimed name (busy).
    * ``claim_seat(room, name, cap)`` is atomic across nodes: of many nodes seating
      people in one room's call (``room`` is its key) at once, at most ``cap``
      get True (seats of nodes that are not alive do not count); a name already
      seated gets True again. ``release_seat`` frees one. Raises BusUnavailable
      when the shared store cannot be reached.
    * ``place_call(call, loads)`` says which Janus URL SFU call ``call`` runs on,
      atomic across nodes (the rule is in ``placement.py``); ``unplace_call``
      forgets an ended call. Raises BusUnavailable when the store cannot be reached.
    * ``claim_room(room, settings)`` is atomic across nodes: the first claim of a
      room (``room`` is its key) stores ``settings`` and returns them; every later
      claim returns the stored settings unchanged, while any node that claimed it
      is alive and has not released it (``release_room``: the room ended in this
      node's view; the claims are counted per node). Raises BusUnavailable
      when the shared store cannot be reached.
    * ``hand_over(record)`` gives a name this node holds to ``record.node``
      (a session resumed there); ``adopt(record)`` tells the receiving node's
      bus that the name is now its own.
    """

    def __init__(self, node: str | None = None) -> None:
        self.node = node or uuid.uuid4().hex[:12]
        self._handler: EventHandler | None = None
        self.undelivered: UndeliveredHandler = lambda node, event: None

    @property
    def available(self) -> bool:
        """False while the shared store is unreachable."""
        return True

    def is_alive(self, node: str) -> bool:
        """False when ``node`` is known not to be running (so nobody should wait for it)."""
        return True

    async def start(self, handler: EventHandler) -> None:
        """Join the cluster; ``handler`` gets events from other nodes."""
        self._handler = handler

    @abc.abstractmethod
    async def stop(self) -> None:
        """Leave the cluster: release this node's names."""

    @abc.abstractmethod
    async def claim(self, record: UserRecord) -> bool: ...

    @abc.abstractmethod
    async def release(self, name: str) -> None: ...

    @abc.abstractmethod
    async def update(self, record: UserRecord) -> None: ...

    @abc.abstractmethod
    async def claim_seat(self, room: str, name: str, cap: int) -> bool: ...

    @abc.abstractmethod
    async def release_seat(self, room: str, name: str) -> None: ...

    @abc.abstractmethod
    async def place_call(self, call: str, loads: Mapping[str, int]) -> str: ...

    @abc.abstractmethod
    async def unplace_call(self, call: str) -> None: ...

    @abc.abstractmethod
    async def claim_room(self, room: str, settings: RoomSettings) -> RoomSettings: ...

    @abc.abstractmethod
    async def release_room(self, room: str) -> None: ...

    @abc.abstractmethod
    async def hand_over(self, record: UserRecord) -> None: ...

    @abc.abstractmethod
    async def adopt(self, record: UserRecord) -> None: ...

    @abc.abstractmethod
    def publish(self, event: BusEvent) -> None: ...

    @abc.abstractmethod
    def send(self, node: str, event: BusEvent) -> None: ...

    @abc.abstractmethod
    async def directory(self) -> list[UserRecord]: ...
