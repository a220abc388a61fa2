"""The rooms' front desk: who may enter, moving between rooms, room calls (no I/O).

* Entering a room (at sign-in, or with ``join-room``) is decided before
  anything changes: the room name, the operator's list (``no-such-room``),
  the password (``room-password-required``/``-wrong``, tries rate-limited
  per connection and per room), and no one-to-one call in progress
  (``in-call``). Whoever opens a new room sets its title, public flag and
  password.
* A move is a ``left`` in the old room's presence and a ``joined`` in the new
  one's; the mover is sent ``room`` and then the new room's full list.
* A room call is joined and left with ``room-call-join``/``-leave``; every
  change sends ``room-call`` to everyone in the room who has the ``rooms``
  feature. A user who leaves for good leaves the call; a parked one stays.
* In a cluster, room and call changes travel in the user's record (``Moved``
  and the shared directory), so a node that starts late or loses another
  node learns the same rooms and calls from the records alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .effects import Publish, UpdateRecord
from .errors import ProtocolError
from .events import Moved, RoomSettings, UserRecord
from .invites import Invite
from .limits import Rate, TokenBucket
from .moderation import is_waiting_key, waiting_name
from .names import name_key
from .rooms import (
    DEFAULT_ROOM,
    Participant,
    Room,
    RoomRefused,
    lock,
    opens,
    wrong_password_allowed,
)

if TYPE_CHECKING:
    from .context import Context
    from .directory import Member
    from .routing import Router

__all__ = ["ROOM_TRIES_PER_CONNECTION", "Gate", "Pass", "RoomDesk"]

#: Room-password tries from one connection: a few at once, then one every 5 s.
ROOM_TRIES_PER_CONNECTION = Rate(0.2, 5.0)


class Pass(NamedTuple):
    """What the gate decided about one entry: the invite shown, and whether to knock."""

    invite: Invite | None = None
    wait: bool = False  # into the waiting room until a host or moderator admits


class Gate(Protocol):
    """Hosts' rules at the door (core/hostdesk.py); the desk calls it at every move."""

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


class RoomDesk:
    """Lets members into rooms and room calls, and tells each room what changed."""

    def __init__(self, context: Context, router: Router) -> None:
        self._ctx = context
        self._router = router
        self.gate: Gate = OpenDoor()

    # -- entering ----------------------------------------------------------------

    def admit(
        self,
        member: Member,
        name: str,
        password: str | None,
        for_type: str,
        invited: bool = False,
    ) -> Room | None:
        """Check that ``member`` may enter room ``name``; the room, or None if it is new.

        ``invited``: a valid invite stands in for the password. Raises
        ProtocolError, having changed nothing but the try counters.
        """
        key = name_key(name)
        room = self._ctx.rooms.find(key)
        if room is None:
            if self._ctx.rooms.restricted and key != DEFAULT_ROOM:
                raise ProtocolError(
                    "no-such-room", f"There is no room {name!r} on this server.", for_type
                )
            return None
        if not room.settings.locked or invited:
            return room
        if not password:
            raise ProtocolError(
                "room-password-required", f"Room {room.name!r} needs a password.", for_type
            )
        now = self._ctx.monotonic()
        if member.room_tries is None:
            member.room_tries = TokenBucket(ROOM_TRIES_PER_CONNECTION, now)
        if not member.room_tries.take(ROOM_TRIES_PER_CONNECTION, now) or (
            not wrong_password_allowed(room, now)
        ):
            raise ProtocolError(
                "rate-limited", "Too many room-password tries; wait a few seconds.", for_type
            )
        if not opens(room.settings, password):
            raise ProtocolError(
                "room-password-wrong", f"Wrong password for room {room.name!r}.", for_type
            )
        return room

    def settle(
        self,
        member: Member,
        name: str,
        found: Room | None,
        password: str | None,
        opener: str,
        public: bool = False,
        title: str = "",
        wait: bool = False,
    ) -> bool:
        """Put ``member`` (about to be listed or moved) into room ``name``, as ``admit`` found it;
        True when it opens the room. ``wait``: into the room's waiting room instead.

        A room that someone else opened, locked, while this sign-in waited on
        the cluster is not entered: the member goes to the default room, told why.
        """
        if wait:
            name = waiting_name(found.name if found is not None else name)
            found = None
        key = name_key(name)
        live = self._ctx.rooms.get(key)
        if wait:
            pass
        elif found is None and live is not None and not opens(live.settings, password):
            refused = ProtocolError(
                "room-password-required", f"Room {live.name!r} was locked meanwhile.", "username"
            )
            self._ctx.outbox.send((member.conn,), refused.as_message())
            key = name = DEFAULT_ROOM
            live = self._ctx.rooms.get(key)
        if live is None:
            if found is None:
                created = int(self._ctx.clock() * 1000)
                opening = lock(password or "", created, opener, title, public)
                plain = key == DEFAULT_ROOM or wait
                found = Room(name, opening if not plain else RoomSettings())
            self._ctx.rooms.open(found)
        member.room = key
        return live is None and not wait

    def describe(self, key: str) -> dict[str, Any]:
        """ROOM for room ``key`` (sent in ``signed-in`` and ``room``)."""
        room = self._ctx.rooms.get(key)
        if is_waiting_key(key):  # knocking: the room it waits for, nothing of its inside
            name = room.name[1:] if room is not None else ""
            return {
                "room": name, "title": "", "public": False, "locked": False, "call": None,
                "waiting": True,
            }  # fmt: skip
        if room is None:  # only while a member is being placed
            return {"room": "", "title": "", "public": False, "locked": False, "call": None}
        return room.describe()

    # -- moving ------------------------------------------------------------------

    def join_room(
        self,
        member: Member,
        name: str,
        password: str | None,
        public: bool,
        title: str,
        invite: str | None = None,
    ) -> None:
        """``join-room``: move ``member`` to another room, or tell it again where it is."""
        assert member.name is not None
        self._need_rooms_feature(member, "join-room")
        if self._ctx.calls.involved(member.name):
            raise ProtocolError(
                "in-call", "Hang up the one-to-one call before changing rooms.", "join-room"
            )
        if name_key(name) == member.room:
            self._tell_where(member)
            return
        allowed = self.gate.screen(member, member.name, name, invite, "join-room")
        found = self.admit(member, name, password, "join-room", allowed.invite is not None)
        self.move(member, name, found, allowed, password, public, title)

    def move(
        self,
        member: Member,
        name: str,
        found: Room | None,
        allowed: Pass,
        password: str | None = None,
        public: bool = False,
        title: str = "",
    ) -> None:
        """Move ``member`` into room ``name`` (checked by ``admit`` and the gate, or moved
        there by a host), telling both rooms."""
        assert member.name is not None
        self._leave_call(member.name, member.room)
        old = member.room
        opened = self.settle(
            member, name, found, password, member.name, public, title, allowed.wait
        )
        self._ctx.directory.move(member, member.room)
        self.gate.departed(member.name, old, True, member.room)
        self._vacate_if_empty(old)
        presence = self._ctx.presence
        presence.forget(member.conn)
        presence.touch(old, member.name)
        presence.touch(member.room, member.name)
        self._tell_where(member)
        self._published(member)  # first: other nodes know the room before its new control
        self.gate.entered(member, opened, allowed.invite)

    def _tell_where(self, member: Member) -> None:
        self._ctx.outbox.send((member.conn,), {"type": "room", **self.describe(member.room)})
        if "deltas" in member.features:
            self._ctx.presence.room(member.room).owe_full_list(member.conn)
        else:
            names = list(self._ctx.directory.members_of(member.room))
            self._ctx.outbox.send((member.conn,), {"type": "userlist", "users": names})

    def list_rooms(self, member: Member) -> None:
        """``list-rooms``: the public rooms and how many people are in each."""
        self._need_rooms_feature(member, "list-rooms")
        self._ctx.outbox.send((member.conn,), {"type": "rooms", "rooms": self.public_rooms()})

    def public_rooms(self) -> list[dict[str, Any]]:
        """The rooms marked public, never the default room (also ``GET /api/rooms``)."""
        members = self._ctx.directory.members_of
        listed = [
            {"room": room.name, "title": room.settings.title, "count": len(members(room.key))}
            for room in self._ctx.rooms.live()
            if room.settings.public and room.key != DEFAULT_ROOM
        ]
        return sorted(listed, key=lambda entry: (-entry["count"], entry["room"]))

    # -- room calls --------------------------------------------------------------

    def call_join(self, member: Member) -> None:
        """``room-call-join``: take a seat in the room's call (opening it if idle)."""
        name = member.name
        assert name is not None
        self._need_rooms_feature(member, "room-call-join")
        if self._ctx.calls.involved(name):
            raise ProtocolError(
                "in-call",
                "Hang up the one-to-one call before joining the room call.",
                "room-call-join",
            )
        room = self._ctx.rooms.get(member.room)
        assert room is not None
        call = room.seats(self._ctx.policy.room_call_max)
        if call.has(name):
            self._ctx.outbox.send((member.conn,), call.as_message(room.name))
            return
        # after everyone seated, even if this node's clock is behind theirs
        latest = call.participants[-1].since + 1 if call.participants else 0
        since = max(int(self._ctx.clock() * 1000), latest)
        participant = Participant(since, name, "no-rollback" not in member.features)
        try:
            call.join(participant)
        except RoomRefused as refused:
            room.close_ended_call()
            raise ProtocolError(
                "room-call-full",
                f"The call in {room.name or 'the lobby'} is full ({call.cap} people).",
                "room-call-join",
            ) from refused
        self._call_changed(room, name)
        self._published(member)

    def call_leave(self, member: Member) -> None:
        """``room-call-leave``: give up the seat."""
        assert member.name is not None
        self._need_rooms_feature(member, "room-call-leave")
        if not self._leave_call(member.name, member.room):
            raise ProtocolError(
                "not-in-call", "You are not in this room's call.", "room-call-leave"
            )
        self._published(member)

    def gone(self, name: str, key: str, local: bool = True) -> None:
        """``name`` (already out of the directory) left room ``key`` for good."""
        self._leave_call(name, key)
        self.gate.departed(name, key, local)
        self._vacate_if_empty(key)

    def remote_placed(self, record: UserRecord, old: str | None) -> None:
        """Another node's user is now as ``record`` says (the directory already has it);
        ``old`` is the key of the room it was in before, if any."""
        key = name_key(record.room)
        room = self._ctx.rooms.ensure(record.room, record.settings)
        if old is not None and old != key:
            self._leave_call(record.name, old)
            self.gate.departed(record.name, old, False, key)
            self._vacate_if_empty(old)
        in_call = room.call is not None and room.call.has(record.name)
        if record.call and not in_call:
            room.seats(self._ctx.policy.room_call_max).join(
                Participant(record.call, record.name, "no-rollback" not in record.features),
                seated_elsewhere=True,
            )
            self._call_changed(room, record.name)
        elif not record.call and in_call:
            self._leave_call(record.name, key)

    def restore(self, member: Member, record: UserRecord) -> None:
        """A session handed over from another node: its room and seat come with it."""
        room = self._ctx.rooms.ensure(record.room, record.settings)
        member.room = room.key

    def restored(self, record: UserRecord) -> None:
        """After ``restore`` and the directory listing: take the seat if this node lacked it."""
        self.remote_placed(record, None)

    # -- helpers -----------------------------------------------------------------

    def end_call(self, key: str) -> None:
        """Every local participant of room ``key``'s call loses its seat (a host ended it)."""
        room = self._ctx.rooms.get(key)
        if room is None or room.call is None:
            return
        for name in room.call.names():
            member = self._ctx.directory.local(name)
            if member is not None and self._leave_call(name, key):
                self._published(member)

    def _leave_call(self, name: str, key: str) -> bool:
        room = self._ctx.rooms.get(key)
        if room is None or room.call is None or not room.call.has(name):
            return False
        room.call.leave(name)
        room.close_ended_call()
        self._call_changed(room, name)
        return True

    def _call_changed(self, room: Room, name: str) -> None:
        """Tell the room's ``rooms`` clients; ``name``'s busy state changed."""
        message = room.call.as_message(room.name) if room.call is not None else None
        if message is None:
            message = {"type": "room-call", "room": room.name, "started": None, "participants": []}
        audience = (
            m.conn for m in self._ctx.directory.connected_in(room.key) if "rooms" in m.features
        )
        self._ctx.outbox.send(audience, message)
        self._ctx.presence.touch(room.key, name)

    def _vacate_if_empty(self, key: str) -> None:
        if not self._ctx.directory.members_of(key):
            self._ctx.rooms.vacate(key)

    def _published(self, member: Member) -> None:
        """Tell the other nodes where ``member`` is now, and in which call."""
        if self._ctx.node is not None:
            record = self._router.record_of(member)
            self._ctx.outbox.emit(Publish(Moved(record)), UpdateRecord(record))

    @staticmethod
    def _need_rooms_feature(member: Member, for_type: str) -> None:
        if "rooms" not in member.features:
            raise ProtocolError(
                "bad-room",
                "Rooms need the `rooms` feature, declared when signing in.",
                for_type,
            )
