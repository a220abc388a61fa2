"""Other nodes' users: keeping this node's picture of them in step (no I/O).

In a cluster every node lists every user. The lobby hands each event about
another node's users here (:meth:`~chinwag.core.lobby.Lobby.bus_event` is
still the one place that dispatches every input); these methods change the
directory through its own methods, end calls with users who left, and touch
presence so that lists follow. Events about this node's own users, or
older than what is known, change nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from .events import Status, UserRecord
from .names import name_key

if TYPE_CHECKING:
    from .context import Context
    from .ports import Hangups, Placement

__all__ = ["RemoteUsers"]


class RemoteUsers:
    """Applies ``Joined``, ``Left``, ``Renamed``, ``Moved``, ``Status`` and node syncs."""

    def __init__(self, context: Context, router: Hangups, desk: Placement) -> None:
        self._node = context.node
        self._directory = context.directory
        self._calls = context.calls
        self._presence = context.presence
        self._router = router
        self._desk = desk

    def joined(self, user: UserRecord) -> None:
        known = self._directory.remote(user.name)
        if known is not None and known.node == user.node and known.name == user.name:
            self.moved(user)  # listed there already (a name taken over): in place
            return
        if user.node != self._node and self._directory.add_remote(user):
            self._desk.remote_placed(user, None)
            self._presence.touch(name_key(user.room), user.name)

    def left(self, name: str, node: str) -> None:
        record = self._directory.remote(name)
        if record is None or record.node != node:
            return
        room = self._directory.room_of(name) or ""
        self._router.end_calls_of(name)
        self._directory.remove_remote(name)
        self._desk.gone(name, room, local=False)
        self._presence.touch(room, name)

    def renamed(self, old: str, new: str, node: str) -> None:
        if self._directory.rename_remote(old, new, node):
            self._calls.rename(old, new)
            self._presence.touch(self._directory.room_of(new), old)
            self._presence.room(self._directory.room_of(new) or "").rename(old, new)

    def moved(self, user: UserRecord) -> None:
        """Another node's user changed room or room-call seat (or busy state with it)."""
        known = self._directory.remote(user.name)
        if known is None or known.node != user.node or known == user:
            return
        old = self._directory.room_of(user.name)
        self._directory.update_remote(user)
        self._desk.remote_placed(user, old)
        self._presence.touch(old, user.name)
        self._presence.touch(name_key(user.room), user.name)

    def status(self, event: Status) -> None:
        record = self._directory.remote(event.name)
        if record is not None and record.busy != event.busy:
            self._directory.update_remote(msgspec.structs.replace(record, busy=event.busy))
            self._presence.touch(self._directory.room_of(event.name), event.name)

    def sync_node(self, node: str, users: tuple[UserRecord, ...]) -> None:
        """Make what this node knows of ``node``'s users exactly ``users``."""
        if node == self._node:
            return
        current = {r.name: r for r in users}
        for name in self._directory.remote_of(node):
            if name not in current:
                self.left(name, node)
        for record in current.values():
            known = self._directory.remote(record.name)
            if known is None:
                self.joined(record)
            elif known != record:
                self.moved(record)
