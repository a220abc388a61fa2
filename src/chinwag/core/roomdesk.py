"""The rooms' front desk: who may enter, moving between rooms, the public list (no I/O).

* Entering a room (at sign-in, or with ``join-room``) is decided before
  anything changes: the room name, the operator's list (``no-such-room``),
  the password (``room-password-required``/``-wrong``; wrong guesses and
  new locks budgeted per address and server-wide by
  :class:`~chinwag.core.roomguard.RoomGuard`), and no one-to-one call in
  progress (``in-call``). Whoever opens a new room sets its title, public
  flag and password.
* In a cluster a node opening a room claims its settings through the bus
  first (:mod:`~chinwag.core.roomclaims`), and admits under the winning ones.
  Should two nodes still open one room each (a room opened without a claim),
  every node settles on the same settings (:func:`~chinwag.core.rooms.looser`: a lock wins, then
  the earliest opener); when a node adopts stricter settings, each of its
  members inside is checked again with the password it entered with, and
  whoever it does not open is moved to the default room, told why
  (``room-password-required``).
* A room opened with a password keeps its chat under its lock
  (:attr:`~chinwag.core.rooms.Room.history_key`), and its stored chat is
  purged (``PurgeHistory``) when it ends.
* A move is a ``left`` in the old room's presence and a ``joined`` in the new
  one's; the mover is sent ``room`` and then the new room's full list.
* Room calls (seats, their cap, idle seats) are :mod:`~chinwag.core.calldesk`'s;
  a member leaving a room leaves its call.
* In a cluster, room and call changes travel in the user's record (``Moved``
  and the shared directory), so a node that starts late or loses another
  node learns the same rooms and calls from the records alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .effects import ConnId, PurgeHistory
from .errors import ProtocolError
from .events import RoomSettings, UserRecord
from .gate import Gate, OpenDoor
from .members import Pass
from .moderation import is_waiting_key, waiting_name
from .names import name_key
from .roomclaims import Joining, RoomClaims, unclaimed_lock
from .roomevents import need_rooms_feature, observe, publish_place
from .roomguard import RoomGuard
from .rooms import DEFAULT_ROOM, Room, lock, opens

if TYPE_CHECKING:
    from .context import Context
    from .members import Member
    from .ports import CallSeats

__all__ = ["ROOM_LIST_AGE", "ROOM_PAGE", "RoomDesk"]

ROOM_PAGE = 100  # public rooms in one ``rooms`` answer (``offset`` pages on)
ROOM_LIST_AGE = 1.0  # seconds the sorted public list is reused


class RoomDesk:
    """Lets members into rooms and room calls, and tells each room what changed."""

    def __init__(self, context: Context, calls: CallSeats) -> None:
        self._ctx = context
        self.calls = calls
        self._guard = RoomGuard(context.monotonic())
        self.claims = RoomClaims(context)
        self._listed: tuple[int, float, list[dict[str, Any]]] | None = None  # the public list
        self.gate: Gate = OpenDoor()  # the hosts' rules (core/hostdesk.py)

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
        ProtocolError, having changed nothing but the guard's budgets.
        """
        key = name_key(name)
        room = self._ctx.rooms.find(key)
        now = self._ctx.monotonic()
        if room is None:
            if self._ctx.rooms.restricted and key != DEFAULT_ROOM:
                raise ProtocolError(
                    "no-such-room", f"There is no room {name!r} on this server.", for_type
                )
            if password and key != DEFAULT_ROOM and not self._guard.may_lock(member.address, now):
                raise ProtocolError(
                    "rate-limited",
                    "Too many locked rooms opened from your address; wait a few seconds.",
                    for_type,
                )
            return None
        if not invited:
            self._check_lock(member, room.name, room.settings, password, for_type)
        return room

    def _check_lock(
        self, member: Member, name: str, settings: RoomSettings, password: str | None, for_type: str
    ) -> None:
        """Raise unless ``password`` opens room ``name``'s ``settings`` (wrong ones budgeted)."""
        if not settings.locked:
            return
        if not password:
            raise ProtocolError(
                "room-password-required", f"Room {name!r} needs a password.", for_type
            )
        now = self._ctx.monotonic()
        wait = self._guard.may_check(member.address, now)
        if wait > 0:
            raise ProtocolError(
                "rate-limited",
                f"Too many wrong room passwords from your address; try again in {wait:.0f} s.",
                for_type,
            )
        right = opens(settings, password)
        self._guard.checked(member.address, right, now)
        if not right:
            raise ProtocolError(
                "room-password-wrong", f"Wrong password for room {name!r}.", for_type
            )

    def claimed_settings(
        self,
        member: Member,
        name: str,
        offered: RoomSettings,
        won: RoomSettings | None,
        password: str | None,
        invited: bool,
        for_type: str,
    ) -> RoomSettings:
        """The settings ``member`` opens room ``name`` with, the cluster having answered its
        claim of ``offered`` with ``won`` (None: the store was unreachable).

        Raises ProtocolError when the winner's lock does not open for ``password``
        (an invite stands in for it), or when a lock could not be claimed.
        """
        if won is None:
            if offered.locked:
                raise unclaimed_lock(name, offered, for_type)
            return offered
        if not invited and won != offered:
            self._check_lock(member, name, won, password, for_type)
        return won

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
        claimed: RoomSettings | None = None,
    ) -> bool:
        """Put ``member`` (about to be listed or moved) into room ``name``, as ``admit`` found it;
        True when it opens the room. ``wait``: into the room's waiting room instead.
        ``claimed``: the settings the cluster agreed on for a room it opens.

        A room that someone else opened, locked, while this sign-in waited on
        the cluster is not entered: the member goes to the default room, told why.
        """
        if wait:
            name, found = waiting_name(found.name if found is not None else name), None
        key = name_key(name)
        live = self._ctx.rooms.get(key)
        if found is None and live is not None and not wait and not opens(live.settings, password):
            refused = ProtocolError(
                "room-password-required", f"Room {live.name!r} was locked meanwhile.", "username"
            )
            self._ctx.outbox.send((member.conn,), refused.as_message())
            key = name = DEFAULT_ROOM
            live = self._ctx.rooms.get(key)
        if live is None:
            if found is None:
                created = int(self._ctx.clock() * 1000)
                opening = claimed or lock(password or "", created, opener, title, public)
                plain = key == DEFAULT_ROOM or wait
                found = Room(name, opening if not plain else RoomSettings())
            self._ctx.rooms.open(found)
            observe(self._ctx, "room.started", found.name)
        member.room = key
        observe(self._ctx, "participant.joined", self._ctx.rooms.get(key), opener)
        member.room_password = password if key != DEFAULT_ROOM else None
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
        need_rooms_feature(member, "join-room")
        if self._ctx.calls.involved(member.name):
            raise ProtocolError(
                "in-call", "Hang up the one-to-one call before changing rooms.", "join-room"
            )
        if name_key(name) == member.room:
            self._tell_where(member)
            return
        allowed = self.gate.screen(member, member.name, name, invite, "join-room")
        found = self.admit(member, name, password, "join-room", allowed.invite is not None)
        if found is None and not allowed.wait:  # opening it: claimed through the cluster first
            offered = self.claims.offer(member.conn, name, password, member.name, title, public)
            if offered is not None:
                self.claims.joining[member.conn] = Joining(
                    name, password, public, title, allowed, offered
                )
                return
        self.move(member, name, found, allowed, password, public, title)

    def room_claimed(self, conn: ConnId, member: Member | None, won: RoomSettings | None) -> None:
        """The cluster answered the claim of the room ``conn``'s ``join-room`` opens."""
        joining = self.claims.joining.pop(conn, None)
        if joining is None or member is None or member.name is None:
            return  # gone meanwhile: the claim is let go of (RoomClaims.answered)
        if self._ctx.calls.involved(member.name):
            raise ProtocolError(
                "in-call", "Hang up the one-to-one call before changing rooms.", "join-room"
            )
        invited = joining.allowed.invite is not None
        settings = None
        found = self._ctx.rooms.find(name_key(joining.name))
        if found is not None:  # opened here meanwhile, as it had been there: its lock decides
            found = self.admit(member, joining.name, joining.password, "join-room", invited)
        else:
            settings = self.claimed_settings(
                member, joining.name, joining.offered, won, joining.password, invited, "join-room"
            )
        self.move(
            member, joining.name, found, joining.allowed, joining.password, joining.public,
            joining.title, settings,
        )  # fmt: skip

    def move(
        self,
        member: Member,
        name: str,
        found: Room | None,
        allowed: Pass,
        password: str | None = None,
        public: bool = False,
        title: str = "",
        claimed: RoomSettings | None = None,
    ) -> None:
        """Move ``member`` (signed in) to room ``name``, as ``admit`` and the gate found it
        (or as a host sent it), telling both rooms; ``claimed`` as in ``settle``."""
        assert member.name is not None
        self.calls.leave_call(member.name, member.room)
        old = member.room
        opened = self.settle(
            member, name, found, password, member.name, public, title, allowed.wait, claimed
        )
        self._ctx.directory.move(member, member.room)
        self.gate.departed(member.name, old, True, member.room)
        observe(self._ctx, "participant.left", self._ctx.rooms.get(old), member.name)
        self._vacate_if_empty(old, here=True)
        presence = self._ctx.presence
        presence.forget(member.conn)
        presence.touch(old, member.name)
        presence.touch(member.room, member.name)
        self._tell_where(member)
        publish_place(self._ctx, member)  # first: other nodes know the room before its new control
        self.gate.entered(member, opened, allowed.invite)

    def _tell_where(self, member: Member) -> None:
        self._ctx.outbox.send((member.conn,), {"type": "room", **self.describe(member.room)})
        if "deltas" in member.features:
            self._ctx.presence.room(member.room).owe_full_list(member.conn)
        else:
            names = list(self._ctx.directory.members_of(member.room))
            self._ctx.outbox.send((member.conn,), {"type": "userlist", "users": names})

    def list_rooms(self, member: Member, offset: int = 0) -> None:
        """``list-rooms``: a page of the public rooms and how many people are in each."""
        need_rooms_feature(member, "list-rooms")
        page, total = self.public_rooms(offset)
        message = {"type": "rooms", "rooms": page, "offset": offset, "total": total}
        self._ctx.outbox.send((member.conn,), message)

    def public_rooms(self, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """:data:`ROOM_PAGE` public rooms from the ``offset``-th, most people first, never the
        default room; and how many there are (also ``GET /api/rooms``).

        The sorted list is rebuilt at most every :data:`ROOM_LIST_AGE` seconds
        (or when a room opens or closes): asking for it is cheap whatever the
        number of rooms; head counts may be that old.
        """
        now = self._ctx.monotonic()
        version = self._ctx.rooms.version
        if (
            self._listed is None
            or self._listed[0] != version
            or now - self._listed[1] >= ROOM_LIST_AGE
        ):
            members = self._ctx.directory.members_of
            counted = sorted(
                (-len(members(room.key)), room.name, room.settings.title)
                for room in self._ctx.rooms.live()
                if room.settings.public and room.key != DEFAULT_ROOM
            )
            listed = [{"room": name, "title": title, "count": -n} for n, name, title in counted]
            self._listed = (version, now, listed)
        listed = self._listed[2]
        return listed[offset : offset + ROOM_PAGE], len(listed)

    # -- leaving, and other nodes' users --------------------------------------------

    def gone(self, name: str, key: str, local: bool = True) -> None:
        """``name`` (already out of the directory) left room ``key`` for good."""
        self.calls.leave_call(name, key, here=local)
        self.gate.departed(name, key, local)
        if local:
            observe(self._ctx, "participant.left", self._ctx.rooms.get(key), name)
        self._vacate_if_empty(key, here=local)

    def remote_placed(self, record: UserRecord, old: str | None) -> None:
        """Another node's user is now as ``record`` says (the directory already has it);
        ``old`` is the key of the room it was in before, if any."""
        key = name_key(record.room)
        room, stricter = self._ctx.rooms.ensure(record.room, record.settings)
        if stricter:
            self._recheck(room)
        if old is not None and old != key:
            self.calls.leave_call(record.name, old, here=False)
            self.gate.departed(record.name, old, False, key)
            self._vacate_if_empty(old)
        self.calls.follow_record(room, record)

    def restore(self, member: Member, record: UserRecord) -> None:
        """A session handed over from another node: its room and seat come with it."""
        room, stricter = self._ctx.rooms.ensure(record.room, record.settings)
        member.room = room.key
        if stricter:
            self._recheck(room)

    def restored(self, record: UserRecord) -> None:
        """After ``restore`` and the directory listing: take the seat if this node lacked it."""
        self.remote_placed(record, None)

    # -- helpers -----------------------------------------------------------------

    def _recheck(self, room: Room) -> None:
        """``room`` took another node's stricter settings: whoever here entered it under the
        looser ones, with a password that does not open it now, goes to the default room."""
        for member in list(self._ctx.directory.local_in(room.key)):
            if member.name is None or opens(room.settings, member.room_password):
                continue
            if member.connected:
                refused = ProtocolError(
                    "room-password-required",
                    f"Room {room.name!r} was opened with a password elsewhere first; "
                    "you were moved to the lobby.",
                    "join-room",
                )
                self._ctx.outbox.send((member.conn,), refused.as_message())
            self.move(member, DEFAULT_ROOM, self._ctx.rooms.find(DEFAULT_ROOM), Pass())

    def _vacate_if_empty(self, key: str, here: bool = False) -> None:
        """Close room ``key`` if nobody is in it (``here``: its last member left from this
        node, which reports ``room.finished``)."""
        if self._ctx.directory.members_of(key):
            return
        room = self._ctx.rooms.vacate(key)
        if room is not None:
            self.claims.vacated(key)
        if room is not None and here:
            observe(self._ctx, "room.finished", room)
        if room is not None and room.history_key != key and self._ctx.policy.history:
            self._ctx.outbox.emit(PurgeHistory(room.history_key))
