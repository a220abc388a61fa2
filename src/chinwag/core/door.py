"""The door of each room with hosts: who may come in, and roles on the way in and out (no I/O).

At the door (:meth:`Door.screen`, called by the room desk before anything
changes): a banned name key or address is refused (``banned``), a locked
room refuses newcomers (``room-closed``) unless their invite was minted to
open the lock, a room with a waiting room sends newcomers to knock (its
hidden waiting room, :func:`~chinwag.core.moderation.waiting_name`).
Invites (``invite-*`` errors) skip the waiting room; people with a role
(configured hosts, token roles) and people coming back from a breakout room
skip both. On the way in a member gets its role; on the way out its role and
hand go, and the room keeps a host (:func:`~chinwag.core.moderation.promoted`).

This is the :class:`~chinwag.core.gate.Gate` the room desk asks; what hosts
do inside is :mod:`~chinwag.core.hostdesk`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import moderation as rules
from .errors import ProtocolError
from .events import InvitesSpent, RoomControl
from .invites import Invite, InviteBook, read_invite
from .members import Pass
from .moderation import Entry, Role, is_waiting_key
from .names import name_key
from .rooms import DEFAULT_ROOM, Room

if TYPE_CHECKING:
    from .breakouts import Breakouts
    from .context import Context
    from .members import Member
    from .roomnews import RoomNews

__all__ = ["Door", "room_label"]


class Door:
    """The hosts' rules at every room's door (the room desk's :class:`~chinwag.core.gate.Gate`)."""

    def __init__(
        self,
        context: Context,
        news: RoomNews,
        invites: InviteBook,
        secret: bytes,
        breakouts: Breakouts,
    ) -> None:
        self._ctx = context
        self._news = news
        self._invites = invites
        self._secret = secret
        self._breakouts = breakouts

    def screen(
        self, member: Member, who: str, room: str, invite: str | None, for_type: str
    ) -> Pass:
        """May ``who`` (``member``) enter ``room``? Raises ProtocolError; changes nothing."""
        key = name_key(room)
        shown = self.check_invite(invite, key, for_type) if invite else None
        found = self._ctx.rooms.find(key)
        control = found.control if found is not None else None
        if control is None:
            return Pass(shown)
        if rules.banned(control, name_key(who), member.address):
            raise ProtocolError(
                "banned",
                f"You were removed from {room_label(found)} and cannot come back.",
                for_type,
            )
        ranked = member.grants.get(key) in ("host", "moderator") or _configured_host(found, who)
        returning = self._ctx.rooms.get(member.room) is not None and member.room in {
            name_key(b) for b in control.breakouts
        }
        if ranked or returning:
            return Pass(shown)
        if control.entry == Entry.LOCKED and not (shown is not None and shown.opens_lock):
            raise ProtocolError(
                "room-closed", f"{room_label(found)} is locked: nobody new may enter.", for_type
            )
        return Pass(shown, control.entry == Entry.WAITING and shown is None)

    def check_invite(self, token: str, key: str, for_type: str) -> Invite:
        """The invite ``token`` to room ``key``; ProtocolError if it is bad, spent or another's."""
        invite = read_invite(self._secret, token, self._ctx.clock(), for_type)
        if name_key(invite.room) != key:
            raise ProtocolError(
                "invite-invalid", f"This invite link is for room {invite.room!r}.", for_type
            )
        self._invites.refuse_spent(invite, for_type)
        return invite

    def entered(self, member: Member, opened: bool, invite: Invite | None) -> None:
        """``member`` is in its room now: its role, a spent invite, everyone told."""
        assert member.name is not None
        room = self._ctx.rooms.get(member.room)
        if room is None:
            return
        if is_waiting_key(room.key):
            return  # its hosts hear of it with the presence flush
        if invite is not None and self._invites.use(invite):
            self._news.publish(InvitesSpent(used=((invite.id, invite.expires),)))
        control = room.control
        if control is None and opened:
            control = self._breakouts.control_for(room)  # a breakout room starts as its main one
        role = self._role_on_entry(member, room, opened and control is None, invite)
        if control is None and role is Role.GUEST and not room.hosts:
            return  # a room nobody hosts stays as it always was
        before = control or RoomControl(room.name)
        after = rules.with_role(before, member.name, role) if role is not Role.GUEST else before
        if after is not room.control:
            self._news.change(room, after)
        else:
            self._news.tell(member)

    def _role_on_entry(
        self, member: Member, room: Room, opened: bool, invite: Invite | None
    ) -> Role:
        assert member.name is not None
        held = rules.role_of(room.control, member.name)
        candidates = [held]
        if opened and room.key != DEFAULT_ROOM and not room.hosts:
            candidates.append(Role.HOST)  # whoever opens an ad-hoc room hosts it
        if _configured_host(room, member.name):
            candidates.append(Role.HOST)
        granted = member.grants.get(room.key)
        if granted is not None:
            candidates.append(Role(granted))
        if invite is not None:
            candidates.append(Role(invite.role))
        return max(candidates, key=rules.rank)

    def departed(self, name: str, key: str, local: bool, to: str | None = None) -> None:
        """``name`` left room ``key``: its role and hand go, and the room keeps a host."""
        room = self._ctx.rooms.get(key)
        if room is None or room.control is None or not local or is_waiting_key(key):
            return
        present = self._ctx.directory.members_of(key)
        if not present:
            return  # the room closes, and its control with it
        control = room.control
        if to is None or to not in {name_key(b) for b in control.breakouts}:
            control = rules.without(control, name)  # breakout-goers keep their role
        self._keep_a_host(room, control)

    def renamed(self, old: str, new: str, key: str) -> None:
        room = self._ctx.rooms.get(key)
        if room is not None and room.control is not None:
            self._news.change(room, rules.renamed(room.control, old, new))

    def _keep_a_host(self, room: Room, control: RoomControl) -> None:
        present = self._ctx.directory.members_of(room.key)
        hosted = room.key != DEFAULT_ROOM or bool(room.hosts)
        promoted = None
        if hosted and not control.parent:
            control, promoted = rules.promoted(control, present)
        if control != room.control:
            self._news.change(room, control)
        if promoted is not None:
            self._news.announce(room, "promote", "", promoted)

    def node_lost(self) -> None:
        """Users of a lost node are gone: drop their roles, and keep every room hosted."""
        for room in self._ctx.rooms.live():
            if room.control is not None and not is_waiting_key(room.key):
                present = self._ctx.directory.members_of(room.key)
                self._keep_a_host(room, rules.demoted(room.control, present))


def room_label(room: Room | None) -> str:
    """How a room is named in an error: "the lobby" or "room 'name'"."""
    if room is None or room.key == DEFAULT_ROOM:
        return "the lobby"
    return f"room {room.name!r}"


def _configured_host(room: Room | None, name: str) -> bool:
    return room is not None and name_key(name) in room.hosts
