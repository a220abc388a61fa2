"""Room settings claimed through the cluster before a room opens here (no I/O).

In a cluster two nodes can open one room at the same moment. So that every
node admits under the same lock from the first member on, a node that opens
a room (one nobody is in, in its view) first claims the room's settings
through the bus (:class:`~chinwag.core.effects.ClaimRoom`): the first claim
wins, every later one is told the winner's settings, and the member enters
only if the winner's lock opens for its password (``room-password-required``
or ``-wrong`` otherwise, as on one process). A locked room is never opened
without the claim: while the cluster store is unreachable such an opening is
refused (``unavailable``); an unlocked one goes ahead, as it would alone.

A node holds its claim of a room while the room lives in its view and lets
go (:class:`~chinwag.core.effects.ReleaseRoom`) when it ends there, or when
a claim it made was not used (the member left or was refused meanwhile) and
no other claim of the room is in flight here; the store forgets the claim
when the last holding node lets go or dies. Settling on the stricter
settings later (:func:`~chinwag.core.rooms.looser`) stays as the safety net
for rooms opened without a claim (an older process, a store that lost its
data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .effects import ClaimRoom, ConnId, ReleaseRoom
from .errors import ProtocolError
from .events import RoomSettings
from .members import Pass
from .moderation import is_waiting_key
from .names import name_key
from .rooms import DEFAULT_ROOM, lock

if TYPE_CHECKING:
    from .context import Context

__all__ = ["Joining", "RoomClaims", "unclaimed_lock"]


@dataclass(frozen=True, slots=True)
class Joining:
    """A ``join-room`` that opens a room, waiting for the cluster's word on its settings."""

    name: str
    password: str | None
    public: bool
    title: str
    allowed: Pass
    offered: RoomSettings


class RoomClaims:
    """This node's room claims in flight, and the rooms it lets go of."""

    def __init__(self, context: Context) -> None:
        self._ctx = context
        self._in_flight: dict[str, int] = {}  # room key -> claims of it awaiting an answer
        self._held: set[str] = set()  # room keys this node claimed and has not let go of
        self.joining: dict[ConnId, Joining] = {}  # join-room moves awaiting their claim

    def offer(
        self, conn: ConnId, name: str, password: str | None, opener: str, title: str, public: bool
    ) -> RoomSettings | None:
        """Claim the settings ``conn`` would open room ``name`` with; them, or None when there
        is nothing to claim (one process, the default room, a waiting room)."""
        key = name_key(name)
        if self._ctx.node is None or key == DEFAULT_ROOM or is_waiting_key(key):
            return None
        offered = lock(password or "", int(self._ctx.clock() * 1000), opener, title, public)
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        self._held.add(key)
        self._ctx.outbox.emit(ClaimRoom(conn, key, offered))
        return offered

    def answered(self, key: str) -> None:
        """A claim of room ``key`` was answered (and used, or not): let go of it if unused."""
        left = self._in_flight.get(key, 0) - 1
        if left > 0:
            self._in_flight[key] = left
            return
        self._in_flight.pop(key, None)
        self.vacated(key)

    def vacated(self, key: str) -> None:
        """Room ``key`` is not live here: let go of this node's claim, unless one is in flight."""
        if key not in self._held or key in self._in_flight or self._ctx.rooms.get(key) is not None:
            return
        self._held.discard(key)
        self._ctx.outbox.emit(ReleaseRoom(key))


def unclaimed_lock(name: str, offered: RoomSettings, for_type: str) -> ProtocolError:
    """The refusal of opening locked room ``name`` without the cluster's claim."""
    assert offered.locked
    return ProtocolError(
        "unavailable",
        f"Room {name!r} cannot be opened with a password while the cluster store is "
        "unreachable (its lock could not be claimed); try again shortly.",
        for_type,
    )
