"""Telling a room what its hosts did: ``room-control``, ``moderation`` notices, the log (no I/O).

The hosts' desk (:mod:`~chinwag.core.hostdesk`) decides; this module says it:
each member of the room with the ``rooms`` feature gets the room's control
(hosts and moderators with the waiting list), every node is sent the new
snapshot, each action is a ``moderation`` message to the room and a
:class:`~chinwag.core.effects.Moderated` effect for the log and observers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import moderation as rules
from .effects import Moderated, Publish
from .events import HostOrder, InvitesSpent, RoomControl, RoomNotice
from .moderation import Role, waiting_name
from .names import name_key
from .protocol import encode

if TYPE_CHECKING:
    from .context import Context
    from .members import Member
    from .rooms import Room

__all__ = ["RoomNews"]


class RoomNews:
    """Sends each room's control and notices, here and to the other nodes."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    def tell(self, member: Member) -> None:
        """Send ``member`` its room's ``room-control`` (after ``signed-in``, ``room``)."""
        room = self._ctx.rooms.get(member.room)
        if room is None or room.control is None or "rooms" not in member.features:
            return
        present = self._ctx.directory.members_of(room.key)
        role = rules.role_of(room.control, member.name or "")
        waiting = self.waiting_list(room.key) if role is not Role.GUEST else None
        self._ctx.outbox.send((member.conn,), rules.as_message(room.control, waiting, present))

    def describe(self, room_name: str) -> dict[str, Any] | None:
        """Room ``room_name``'s ``room-control``, waiting list included (None: nobody hosts it)."""
        room = self._ctx.rooms.get(name_key(room_name))
        if room is None or room.control is None:
            return None
        present = self._ctx.directory.members_of(room.key)
        return rules.as_message(room.control, self.waiting_list(room.key), present)

    def tell_room(self, room: Room) -> None:
        for member in self._ctx.directory.connected_in(room.key):
            self.tell(member)

    def tell_waiting(self, waiting_key: str) -> None:
        """The people knocking changed: hosts and moderators of the room hear who they are."""
        room = self._ctx.rooms.get(waiting_key[len(rules.WAITING_PREFIX) :])
        if room is not None and room.control is not None:
            for member in self._ctx.directory.connected_in(room.key):
                if rules.role_of(room.control, member.name or "") is not Role.GUEST:
                    self.tell(member)

    def waiting_list(self, key: str) -> list[str]:
        return list(self._ctx.directory.members_of(waiting_name(key)))

    def change(self, room: Room, control: RoomControl) -> None:
        room.control = rules.bumped(control, self._ctx.node or "")
        self.publish(room.control)
        self.tell_room(room)

    def announce(
        self,
        room: Room,
        action: str,
        by: str,
        target: str,
        *,
        local: bool = False,
        here: bool = True,
        **detail: Any,
    ) -> None:
        """Tell the room what happened (``local``: this node's members only) and log it
        (``here``: the action happened on this node, not in another node's order)."""
        message = self.notice(room, action, by, target, **detail)
        if local:
            self.deliver(room.key, encode(message))
        else:
            self.to_room(room.key, message)
        self.log(room, action, by, target, here=here, **detail)

    def to_room(self, key: str, message: dict[str, Any]) -> None:
        """``message`` to everyone in room ``key`` who understands rooms, on every node."""
        payload = encode(message)
        self.deliver(key, payload)
        self.publish(RoomNotice(key, payload))

    def deliver(self, key: str, payload: bytes) -> None:
        """``payload`` to this node's members of room ``key`` that have the ``rooms`` feature."""
        audience = (m.conn for m in self._ctx.directory.connected_in(key) if "rooms" in m.features)
        self._ctx.outbox.send_payload(audience, payload)

    @staticmethod
    def notice(room: Room, action: str, by: str, target: str, **detail: Any) -> dict[str, Any]:
        notice = {"type": "moderation", "room": room.name, "action": action, "by": by or None,
                  "target": target or None}  # fmt: skip
        notice.update((k, v) for k, v in detail.items() if v not in ("", None, False))
        return notice

    def log(
        self, room: Room, action: str, by: str, target: str, *, here: bool = True, **detail: Any
    ) -> None:
        facts = tuple(sorted((k, str(v)) for k, v in detail.items() if v not in ("", None, False)))
        self._ctx.outbox.emit(Moderated(room.name, action, by, target, facts, here))

    def publish(self, event: RoomControl | HostOrder | InvitesSpent | RoomNotice) -> None:
        if self._ctx.node is not None:
            self._ctx.outbox.emit(Publish(event))
