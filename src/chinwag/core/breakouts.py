"""Breakout rooms: a host splits a room's people into smaller rooms and brings them back (no I/O).

* ``breakout-open`` names N rooms after the main one ("Team · Breakout 1" ...)
  in the main room's control; each is an ordinary room, with its own chat and
  call, opened when the first person arrives. Its control names the main room
  (``parent``) and starts with the main room's hosts and moderators.
* ``breakout-assign`` says who goes where (numbers from 1; 0 stays in the main
  room), or ``random: true`` deals everyone but the host out evenly.
* ``breakout-start`` moves everyone assigned, with one action; ``breakout-broadcast``
  posts a system message in every breakout room; ``breakout-close`` brings
  everyone back and forgets the breakout rooms.

Moving skips every door: a host sent them. People in a breakout room may also
go back to the main room on their own (``join-room``), past its waiting room
and lock. Only the host's node decides; the moves are
:class:`~chinwag.core.events.HostOrder` s each node carries out for its users.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import msgspec

from .actions import RoomAction
from .errors import ProtocolError
from .events import HostOrder, RoomControl
from .names import name_key
from .rooms import MAX_ROOM_LENGTH

if TYPE_CHECKING:
    from .context import Context
    from .members import Member
    from .roomnews import RoomNews
    from .rooms import Room

__all__ = ["Breakouts", "breakout_names"]

_SUFFIX: Final = " · Breakout {}"


def breakout_names(main: str, count: int) -> tuple[str, ...]:
    """The names of ``count`` breakout rooms of room ``main``, cut to fit a room name."""
    longest = len(_SUFFIX.format(count))
    base = (main or "Lobby")[: MAX_ROOM_LENGTH - longest].rstrip()
    return tuple(base + _SUFFIX.format(i) for i in range(1, count + 1))


class Breakouts:
    """Opens, fills, messages and closes a room's breakout rooms."""

    def __init__(
        self, context: Context, news: RoomNews, order: Callable[[HostOrder], None]
    ) -> None:
        self._ctx = context
        self._news = news
        self._order = order  # carries an order out on every node (``HostDesk.order``)
        self._random = random.SystemRandom()

    def act(self, member: Member, room: Room, control: RoomControl, action: RoomAction) -> None:
        """A ``breakout-*`` request from a host of ``room`` (already allowed)."""
        assert member.name is not None
        news, kind = self._news, action.type
        if kind == "breakout-open":
            names = breakout_names(room.name, action.number)
            news.change(room, msgspec.structs.replace(control, breakouts=names, assignments={}))
            news.announce(room, kind, member.name, "", count=action.number)
            return
        if not control.breakouts:
            raise ProtocolError("bad-field", "Open breakout rooms first (breakout-open).", kind)
        if kind == "breakout-assign":
            assignments = self._assignments(member, room, control, action)
            news.change(room, msgspec.structs.replace(control, assignments=assignments))
        elif kind == "breakout-start":
            for name, index in control.assignments.items():
                to = control.breakouts[index]
                self._order(HostOrder(room.key, "move", member.name, name, to=to))
            news.announce(room, kind, member.name, "")
        elif kind == "breakout-broadcast":
            for name in control.breakouts:
                self._order(HostOrder(name_key(name), "say", member.name, text=action.text))
        else:  # breakout-close
            for name in control.breakouts:
                self._order(HostOrder(name_key(name), "move", member.name, to=room.name))
            news.change(room, msgspec.structs.replace(control, breakouts=(), assignments={}))
            news.announce(room, kind, member.name, "")

    def _assignments(
        self, member: Member, room: Room, control: RoomControl, action: RoomAction
    ) -> dict[str, int]:
        """Name -> index into ``breakouts``, by hand (numbers from 1, 0: stays) or dealt out."""
        present = self._ctx.directory.members_of(room.key)
        count = len(control.breakouts)
        if action.assignments is None:
            people = [n for n in present if n != member.name]
            self._random.shuffle(people)
            return {name: i % count for i, name in enumerate(people)}
        assignments = {}
        for name, number in action.assignments.items():
            if name not in present:
                raise ProtocolError(
                    "no-such-user", f"{name} is not in this room.", action.type, name
                )
            if number > count:
                raise ProtocolError(
                    "bad-field",
                    f"There are {count} breakout rooms; {number} is not one.",
                    action.type,
                )
            if number:
                assignments[name] = number - 1
        return assignments

    def control_for(self, room: Room) -> RoomControl | None:
        """A new breakout room's first control: its main room's hosts and moderators."""
        for main in self._ctx.rooms.live():
            control = main.control
            if control is not None and room.name in control.breakouts:
                return RoomControl(room.name, roles=dict(control.roles), parent=main.name)
        return None
