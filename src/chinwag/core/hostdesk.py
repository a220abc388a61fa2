"""The hosts' desk: what hosts, moderators and guests do in a room (no I/O).

* **At the door**: :mod:`~chinwag.core.door` (its :class:`~chinwag.core.door.Door`
  is the room desk's gate, built here with the desk's news and invites).
* **Requests** (:meth:`HostDesk.act`): each :class:`~chinwag.core.actions.RoomAction`
  is checked against the sender's role first; a guest sending a host's
  request gets ``forbidden`` and nothing changes.
* **Across nodes**: a changed :class:`~chinwag.core.events.RoomControl` is
  published whole; an action on people (remove, deny, admit, mute, end the
  call, move to a breakout room, a system message) is a
  :class:`~chinwag.core.events.HostOrder` that every node carries out on its
  own users (:meth:`HostDesk.carry_out`), telling its members of the room.
* Every action is told to the room (a ``moderation`` message) and is an
  effect (:class:`~chinwag.core.effects.Moderated`) the transport logs and an
  observer can turn into webhooks.

The plain operations an HTTP API calls are :meth:`remove`, :meth:`end_call`,
:meth:`say` and :meth:`mint` (and :meth:`act` for anything a person may do).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import msgspec

from . import moderation as rules
from .actions import RoomAction
from .breakouts import Breakouts
from .closecodes import CloseCode
from .door import Door, room_label
from .effects import Close
from .errors import ProtocolError
from .events import HostOrder, InvitesSpent, RoomControl
from .invites import MAX_INVITE_LIFETIME, Invite, InviteBook, mint_invite
from .limits import Rate, TokenBucket
from .members import Pass
from .moderation import Entry, Role, waiting_name
from .names import name_key
from .roomnews import RoomNews
from .rooms import Room
from .sfu import enforce_mute

if TYPE_CHECKING:
    from .context import Context
    from .members import Member
    from .ports import CallEnding, JoiningHistory, RoomMover

__all__ = ["REACTION_RATE", "HostDesk"]

#: Reactions from one person: a burst of 5, then one a second.
REACTION_RATE: Final = Rate(1.0, 5.0)
#: How a person who is removed or denied is disconnected (the web client stays away).
_CLOSES: Final = {"remove": CloseCode.REMOVED, "deny": CloseCode.DENIED}

EndSession = Callable[["Member"], None]


class HostDesk:
    """Roles, the door, and hosts' actions for every room of one node."""

    def __init__(
        self,
        context: Context,
        desk: RoomMover,
        calls: CallEnding,
        history: JoiningHistory,
        invite_secret: bytes | None,
    ) -> None:
        self._ctx = context
        self._desk = desk
        self._calls = calls
        self._history = history
        self._secret = invite_secret or secrets.token_bytes(32)
        self.news = RoomNews(context)
        self.invites = InviteBook()
        self.breakouts = Breakouts(context, self.news, self.order)
        #: The hosts' rules at the door (the room desk's gate).
        self.door = Door(context, self.news, self.invites, self._secret, self.breakouts)
        #: Ends a local session for good (``SignIns.leave``).
        self.end_session: EndSession = lambda member: None

    # -- requests ------------------------------------------------------------------

    def act(self, member: Member, action: RoomAction) -> None:
        """One room action from ``member``, if its role allows it (else ``forbidden``)."""
        assert member.name is not None
        kind = action.type
        if "rooms" not in member.features:
            raise ProtocolError("bad-room", "Room actions need the `rooms` feature.", kind)
        room = self._ctx.rooms.get(member.room)
        assert room is not None
        control = room.control or RoomControl(room.name)
        role = rules.role_of(room.control, member.name)
        others_hand = kind == "lower-hand" and action.target not in (None, member.name)
        needed = "lower-hands" if others_hand else kind
        if not rules.allowed(role, needed) or (
            kind == "invite-create" and action.role == "moderator" and role is not Role.HOST
        ):
            raise ProtocolError(
                "forbidden",
                f"Only a {rules.ACTIONS[needed].value} of {room_label(room)} may send {kind}"
                f" (you are a {role.value}); nothing changed.",
                kind,
            )
        if kind.startswith("breakout-"):
            self.breakouts.act(member, room, control, action)
            return
        handler = getattr(self, "_" + kind.replace("-", "_"))
        handler(member, room, control, action)

    def _set_role(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        target = self._present(room, a.target, a.type)
        if target == _name(member):
            raise ProtocolError("bad-field", "You cannot change your own role.", a.type)
        self.news.change(room, rules.with_role(control, target, Role(a.role)))
        self.news.announce(room, "role", _name(member), target, role=a.role)

    def _set_entry(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        self.news.change(room, msgspec.structs.replace(control, entry=a.entry))
        self.news.announce(room, "entry", _name(member), "", entry=a.entry)
        if a.entry == Entry.OPEN:  # opening the door lets in whoever was waiting
            for name in list(self._ctx.directory.members_of(waiting_name(room.key))):
                self.order(HostOrder(room.key, "admit", _name(member), name))

    def _admit(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        self.order(HostOrder(room.key, "admit", _name(member), self._waiting(room, a)))

    def _deny(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        self.order(HostOrder(room.key, "deny", _name(member), self._waiting(room, a)))

    def _remove(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        target = self._present(room, a.target, a.type)
        if target == _name(member):
            raise ProtocolError("bad-field", "You cannot remove yourself; leave instead.", a.type)
        self._outranked(control, _name(member), target, a.type)
        self.remove(room.name, target, a.ban, _name(member))

    def _mute(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        target = self._present(room, a.target, a.type) if a.target else ""
        if target:
            self._outranked(control, _name(member), target, a.type)
        self.order(HostOrder(room.key, "mute", _name(member), target, kind=a.kind))

    def _end_call(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        self.end_call(room.name, _name(member))

    def _lower_hands(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        self.news.change(room, msgspec.structs.replace(control, hands=()))
        self.news.announce(room, "lower-hands", _name(member), "")

    def _raise_hand(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        if _name(member) not in control.hands:
            self.news.change(room, rules.with_hand(control, _name(member), True))

    def _lower_hand(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        target = self._present(room, a.target, a.type) if a.target else _name(member)
        if target in control.hands:
            self.news.change(room, rules.with_hand(control, target, False))
            if target != _name(member):
                self.news.announce(room, "lower-hand", _name(member), target)

    def _reaction(self, member: Member, room: Room, control: RoomControl, a: RoomAction) -> None:
        now = self._ctx.monotonic()
        if member.reactions is None:
            member.reactions = TokenBucket(REACTION_RATE, now)
        if not member.reactions.take(REACTION_RATE, now):
            raise ProtocolError(
                "rate-limited", "Too many reactions: at most one a second (bursts of 5).", a.type
            )
        message = {"type": "reaction", "room": room.name, "name": _name(member), "emoji": a.emoji}
        self.news.to_room(room.key, message)

    def _invite_create(
        self, member: Member, room: Room, control: RoomControl, a: RoomAction
    ) -> None:
        token, invite = self.mint(room.name, a.role, a.ttl, single=a.single, opens_lock=a.pass_lock)
        self._ctx.outbox.send(
            (member.conn,), {"type": "invite", "invite": token, **invite.describe()}
        )
        self.news.log(room, "invite", _name(member), "", role=a.role, id=invite.id)

    def _invite_revoke(
        self, member: Member, room: Room, control: RoomControl, a: RoomAction
    ) -> None:
        invite_id, expires = a.invite, int(self._ctx.clock()) + MAX_INVITE_LIFETIME
        if a.invite.count(".") == 2:  # the link's token rather than its id
            invite = self.door.check_invite(a.invite, room.key, a.type)
            invite_id, expires = invite.id, invite.expires
        self.invites.revoke(invite_id, expires)
        self.news.publish(InvitesSpent(revoked=((invite_id, expires),)))
        self._ctx.outbox.send((member.conn,), {"type": "invite", "id": invite_id, "revoked": True})
        self.news.log(room, "invite-revoke", _name(member), "", id=invite_id)

    # -- plain operations (also for an HTTP API) -------------------------------------

    def remove(self, room_name: str, target: str, ban: bool = False, by: str = "") -> None:
        """Remove ``target`` from room ``room_name`` (``ban``: for the room's lifetime)."""
        room = self._ctx.rooms.get(name_key(room_name))
        if room is None:
            return
        if ban:
            control = room.control or RoomControl(room.name)
            self.news.change(room, rules.with_ban(control, name_key(target), ""))
        self.order(HostOrder(room.key, "remove", by, target, ban=ban))

    def end_call(self, room_name: str, by: str = "") -> None:
        """End room ``room_name``'s call for everyone in it."""
        self.order(HostOrder(name_key(room_name), "end-call", by))

    def say(self, room_name: str, text: str, by: str = "") -> None:
        """A system message to everyone in room ``room_name``."""
        self.order(HostOrder(name_key(room_name), "say", by, text=text))

    def mint(
        self, room: str, role: str, ttl: float, *, single: bool = False, opens_lock: bool = False
    ) -> tuple[str, Invite]:
        """A signed invite link token to ``room`` for ``role``, valid for ``ttl`` seconds."""
        expires = self._ctx.clock() + ttl
        return mint_invite(self._secret, room, role, expires, single=single, opens_lock=opens_lock)

    # -- orders, carried out on every node -------------------------------------------

    def order(self, order: HostOrder) -> None:
        """Carry out ``order`` here and on every other node."""
        self.carry_out(order)
        self.news.publish(order)

    def carry_out(self, order: HostOrder, here: bool = True) -> None:
        """Carry out ``order`` on this node's users, and tell its members of the room
        (``here``: the order was given on this node)."""
        room = self._ctx.rooms.get(order.room)
        if room is None:
            return
        if order.action != "move":  # the breakout desk tells the room once for everyone
            detail = {"kind": order.kind, "ban": order.ban, "text": order.text}
            self.news.announce(
                room, order.action, order.by, order.target, local=True, here=here, **detail
            )
        if order.action == "end-call":
            self._calls.end_call(order.room)
            return
        if order.action == "mute":
            enforce_mute(self._ctx, room, order)  # at Janus in an SFU call
        if order.action not in ("remove", "deny", "admit", "move"):
            return  # mute and say: the clients act on the notice
        key = waiting_name(order.room) if order.action in ("admit", "deny") else order.room
        names = [order.target] if order.target else list(self._ctx.directory.members_of(key))
        for name in names:
            member = self._ctx.directory.local(name)
            if member is None or member.room != key:
                continue
            if order.action in _CLOSES:
                self._send_off(member, room, order)
            else:
                self.move(member, room.name if order.action == "admit" else order.to)

    def move(self, member: Member, to: str) -> None:
        """Move a local ``member`` into room ``to`` past any door (admitted, or sent by a host)."""
        self._desk.move(member, to, self._ctx.rooms.find(name_key(to)), Pass())
        self._history.joined(member)

    def _send_off(self, member: Member, room: Room, order: HostOrder) -> None:
        if order.ban and member.address and room.control is not None:
            # Only this node knows the address: added without a new version, so it
            # cannot replace a host's change made elsewhere at the same moment (bans merge).
            room.control = rules.with_ban(room.control, name_key(order.target), member.address)
            self.news.publish(room.control)
        if member.connected:
            if order.action == "deny":  # not in the room: the room's notice did not reach it
                notice = self.news.notice(room, order.action, order.by, order.target)
                self._ctx.outbox.send((member.conn,), notice)
            why = "removed from the room" if order.action == "remove" else "not let in"
            self._ctx.outbox.emit(Close(member.conn, _CLOSES[order.action], why))
        self.end_session(member)

    # -- from other nodes --------------------------------------------------------------

    def control_from_node(self, control: RoomControl) -> None:
        room = self._ctx.rooms.get(name_key(control.room))
        if room is None:
            return
        if control.newer_than(room.control):
            ours = room.control
            room.control = control if ours is None else rules.with_bans_of(control, ours)
            self.news.tell_room(room)
        elif room.control is not None:  # an older snapshot still brings its bans
            room.control = rules.with_bans_of(room.control, control)

    def invites_from_node(self, event: InvitesSpent) -> None:
        self.invites.learn(event.used, event.revoked)

    def node_joined(self) -> None:
        """A node (re)joined: tell it every room's control and every spent invite."""
        for room in self._ctx.rooms.live():
            if room.control is not None and self._ctx.directory.local_names():
                self.news.publish(room.control)
        used, revoked = self.invites.spent()
        if used or revoked:
            self.news.publish(InvitesSpent(used, revoked))

    # -- checks ----------------------------------------------------------------------

    def _present(self, room: Room, target: str | None, kind: str) -> str:
        listed = self._ctx.directory.listed_as(target or "")
        if listed is None or listed not in self._ctx.directory.members_of(room.key):
            raise ProtocolError(
                "no-such-user", f"{target} is not in {room_label(room)}.", kind, target
            )
        return listed

    @staticmethod
    def _outranked(control: RoomControl, actor: str, target: str, kind: str) -> None:
        """A moderator acts on guests only; a host on anyone (else ``forbidden``)."""
        theirs = rules.role_of(control, target)
        if not rules.outranks(rules.role_of(control, actor), theirs):
            raise ProtocolError(
                "forbidden", f"A moderator may not send {kind} about {target} ({theirs.value}); "
                "nothing changed.", kind, target,
            )  # fmt: skip

    def _waiting(self, room: Room, a: RoomAction) -> str:
        listed = self._ctx.directory.listed_as(a.target or "")
        if listed is None or listed not in self._ctx.directory.members_of(waiting_name(room.key)):
            raise ProtocolError(
                "no-such-user",
                f"{a.target} is not waiting to enter {room_label(room)}.",
                a.type,
                a.target,
            )
        return listed


def _name(member: Member) -> str:
    assert member.name is not None  # room actions come from signed-in members
    return member.name
