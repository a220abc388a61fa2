"""Presence bookkeeping: who is online and who is in a call (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable

from .events import Event, Presence, UserList

__all__ = ["Roster"]


class Roster:
    """Who is online, in sign-in order, and who is in a call (no I/O).

    Feed it the first ``userlist`` (:meth:`apply_userlist`) and then every
    ``presence`` delta (:meth:`apply_presence`); ``users`` and ``busy`` are
    then what the server's full list would say.
    """

    def __init__(self) -> None:
        self.users: list[str] = []
        self.busy: set[str] = set()

    def __contains__(self, name: object) -> bool:
        return name in self.users

    def apply_userlist(self, users: Iterable[str], busy: Iterable[str] = ()) -> None:
        """Replace everything with a full list."""
        self.users = list(dict.fromkeys(users))
        self.busy = set(busy).intersection(self.users)

    def apply_presence(
        self,
        joined: Iterable[str] = (),
        left: Iterable[str] = (),
        renamed: Iterable[tuple[str, str]] = (),
        busy: Iterable[str] = (),
        idle: Iterable[str] = (),
    ) -> None:
        """Apply one delta in the protocol's order: left, renamed, joined, busy/idle."""
        gone = set(left)
        self.users = [name for name in self.users if name not in gone]
        self.busy -= gone
        for old, new in renamed:
            self.users = [new if name == old else name for name in self.users]
            if old in self.busy:
                self.busy.discard(old)
                self.busy.add(new)
        for name in joined:
            if name not in self.users:
                self.users.append(name)
        self.busy.update(name for name in busy if name in self.users)
        self.busy.difference_update(idle)

    def apply(self, event: Event) -> bool:
        """Apply a :class:`UserList` or :class:`Presence`; return whether it was one."""
        if isinstance(event, UserList):
            self.apply_userlist(event.users, event.busy)
        elif isinstance(event, Presence):
            self.apply_presence(event.joined, event.left, event.renamed, event.busy, event.idle)
        else:
            return False
        return True
