"""The door of a room as the room desk sees it: a gate it asks at every move (no I/O).

The room desk (:mod:`~chinwag.core.roomdesk`) checks names, the operator's
list and passwords; the gate adds the hosts' rules (locks, the waiting room,
bans, invites, roles: :mod:`~chinwag.core.hostdesk`) without the desk knowing
them. A lobby without hosts' rules has an :class:`OpenDoor`.
"""

from __future__ import annotations

from typing import Protocol

from .invites import Invite
from .members import Member, Pass

__all__ = ["Gate", "OpenDoor"]


class Gate(Protocol):
    """Hosts' rules at the door; the room desk calls it at every move."""

    def screen(
        self, member: Member, who: str, room: str, invite: str | None, for_type: str
    ) -> Pass:
        """May ``who`` enter ``room``? Raises ProtocolError (banned, locked, bad invite)."""

    def entered(self, member: Member, opened: bool, invite: Invite | None) -> None:
        """``member`` is now in its room (``opened``: it opened it)."""

    def departed(self, name: str, key: str, local: bool, to: str | None = None) -> None:
        """``name`` left room ``key`` (for room ``to``; a local user if ``local``)."""

    def renamed(self, old: str, new: str, key: str) -> None:
        """A local user of room ``key`` renamed itself: its role and hand follow."""


class OpenDoor:
    """The gate of a lobby with no hosts' rules: everyone passes."""

    def screen(
        self, member: Member, who: str, room: str, invite: str | None, for_type: str
    ) -> Pass:
        return Pass()

    def entered(self, member: Member, opened: bool, invite: Invite | None) -> None:
        pass

    def departed(self, name: str, key: str, local: bool, to: str | None = None) -> None:
        pass

    def renamed(self, old: str, new: str, key: str) -> None:
        pass
