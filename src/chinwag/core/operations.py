"""What the server itself does to rooms, for the HTTP API (no I/O).

Hosts act through requests on their sockets (:mod:`~chinwag.core.hostdesk`);
the operator's application acts through these plain operations, as the
server: no person is faked. Removing someone, ending a call, a system message
and minting an invite are the host desk's own operations; this module adds
what only the operator may do (open a room ahead of anyone, close a room) and
the overview of every room.

A room opened here is kept (as a configured room is) until it is closed,
even while empty. Closing a room removes everyone in it, on every node (a
``remove`` order without a target), and forgets it if it was opened here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .events import HostOrder
from .moderation import is_waiting_key, waiting_name
from .names import name_key
from .rooms import DEFAULT_ROOM, Room, RoomBook, lock

if TYPE_CHECKING:
    from .context import Context
    from .ports import Orders

__all__ = ["ServerOperations"]


class ServerOperations:
    """The operator's actions on this node's rooms (see the module's docstring)."""

    def __init__(self, context: Context, hosts: Orders) -> None:
        self._ctx = context
        self._hosts = hosts
        self._opened: set[str] = set()  # keys of the rooms opened here, kept while empty

    @property
    def rooms(self) -> RoomBook:
        return self._ctx.rooms

    def overview(self) -> list[dict[str, Any]]:
        """Every room that exists (live, configured or opened here): its people and call."""
        rooms = {room.key: room for room in self.rooms.configured.values()}
        rooms.update((room.key, room) for room in self.rooms.live())
        return [
            self.describe(room) for key, room in sorted(rooms.items()) if not is_waiting_key(key)
        ]

    def describe(self, room: Room) -> dict[str, Any]:
        call = room.call
        control = room.control
        return {
            "room": room.name,
            "title": room.settings.title,
            "public": room.settings.public,
            "locked": room.settings.locked,
            "entry": control.entry if control is not None else "open",
            "participants": [
                {"name": name, "role": control.roles.get(name, "guest") if control else "guest"}
                for name in self._ctx.directory.members_of(room.key)
            ],
            "waiting": list(self._ctx.directory.members_of(waiting_name(room.key)))
            if control is not None
            else [],
            "call": None
            if call is None or not call.participants
            else {"started": call.started, "participants": call.names()},
        }

    def find(self, name: str) -> Room | None:
        """The room called ``name`` (any spelling alike), if it exists."""
        return self.rooms.find(name_key(name))

    def person(self, room: Room, name: str) -> str | None:
        """The name as listed of ``name`` (any spelling alike) in ``room``, if there."""
        wanted = name_key(name)
        for listed in self._ctx.directory.members_of(room.key):
            if name_key(listed) == wanted:
                return listed
        return None

    def open_room(
        self, name: str, title: str, password: str, public: bool, hosts: tuple[str, ...]
    ) -> Room | None:
        """Open room ``name`` ahead of anyone; None if it exists already."""
        key = name_key(name)
        if key == DEFAULT_ROOM or self.rooms.find(key) is not None:
            return None
        settings = lock(password, int(self._ctx.clock() * 1000), "", title, public)
        room = Room(name, settings, configured=True, hosts=frozenset(name_key(h) for h in hosts))
        self.rooms.configured[key] = room
        self._opened.add(key)
        return room

    def close_room(self, room: Room) -> None:
        """Remove everyone from ``room`` on every node; forget it if it was opened here."""
        if self._ctx.directory.members_of(room.key):
            self._hosts.order(HostOrder(room.key, "remove", "", ""))
        if room.key in self._opened:
            self._opened.discard(room.key)
            self.rooms.configured.pop(room.key, None)
