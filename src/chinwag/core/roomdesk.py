"""The rooms' front desk: who may enter, moving between rooms, room calls (no I/O).

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
* A room call is joined and left with ``room-call-join``/``-leave``; every
  change sends ``room-call`` to everyone in the room who has the ``rooms``
  feature. A user who leaves for good leaves the call; a parked one stays.
* In a cluster, room and call changes travel in the user's record (``Moved``
  and the shared directory), so a node that starts late or loses another
  node learns the same rooms and calls from the records alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .effects import (
    ClaimSeat,
    ConnId,
    Publish,
    PurgeHistory,
    ReleaseSeat,
    RoomEvent,
    SfuEnd,
    SfuLeave,
    UpdateRecord,
)
from .errors import ProtocolError
from .events import Moved, RoomSettings, UserRecord
from .gate import Gate, OpenDoor, Pass
from .moderation import is_waiting_key, waiting_name
from .names import name_key
from .roomclaims import Joining, RoomClaims, unclaimed_lock
from .roomguard import RoomGuard
from .rooms import DEFAULT_ROOM, CallMode, Participant, Room, RoomCall, RoomRefused, lock, opens

if TYPE_CHECKING:
    from .context import Context
    from .directory import Member
    from .routing import Router

__all__ = ["ROOM_LIST_AGE", "ROOM_PAGE", "RoomDesk"]

ROOM_PAGE = 100  # public rooms in one ``rooms`` answer (``offset`` pages on)
ROOM_LIST_AGE = 1.0  # seconds the sorted public list is reused


class RoomDesk:
    """Lets members into rooms and room calls, and tells each room what changed."""

    def __init__(self, context: Context, router: Router) -> None:
        self._ctx = context
        self._router = router
        self._guard = RoomGuard(context.monotonic())
        self.claims = RoomClaims(context)
        #: Called with the room and the name just before someone leaves its call
        #: (the recording desk stops a recording its starter leaves).
        self.on_leaving: Callable[[Room, str], None] = lambda _room, _name: None
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
            self._observe("room.started", found.name)
        member.room = key
        self._observe("participant.joined", self._ctx.rooms.get(key), opener)
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
        self._leave_call(member.name, member.room)
        old = member.room
        opened = self.settle(
            member, name, found, password, member.name, public, title, allowed.wait, claimed
        )
        self._ctx.directory.move(member, member.room)
        self.gate.departed(member.name, old, True, member.room)
        self._observe("participant.left", self._ctx.rooms.get(old), member.name)
        self._vacate_if_empty(old, here=True)
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

    def list_rooms(self, member: Member, offset: int = 0) -> None:
        """``list-rooms``: a page of the public rooms and how many people are in each."""
        self._need_rooms_feature(member, "list-rooms")
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
        call = room.seats(self._ctx.policy.room_call_max, self._ctx.policy.mesh_max)
        if call.has(name):
            self._ctx.outbox.send((member.conn,), call.as_message(room.name))
            return
        same_address = [
            m
            for m in self._ctx.directory.local_in(room.key)
            if m.address == member.address and m.name is not None and call.has(m.name)
        ]
        per_address = self._ctx.policy.room_call_per_address
        if len(same_address) >= per_address:
            room.close_ended_call()
            raise ProtocolError(
                "room-call-full",
                f"Your address holds {per_address} seats in this call already.",
                "room-call-join",
            )
        if self._ctx.node is not None:  # the cap holds cluster-wide: Redis counts the seats
            cap = self._ctx.policy.room_call_max
            self._ctx.outbox.emit(ClaimSeat(member.conn, room.key, name, cap))
            room.close_ended_call()
            return
        self._take_seat(member, room, call, elsewhere_ok=False)

    def seat_claimed(self, member: Member, key: str, ok: bool) -> None:
        """The cluster answered ``member``'s seat claim in room ``key``'s call."""
        name = member.name
        room = self._ctx.rooms.get(key)
        if name is None or member.room != key or room is None:  # moved or left meanwhile
            if ok and name is not None:
                self._ctx.outbox.emit(ReleaseSeat(key, name))
            return
        call = room.seats(self._ctx.policy.room_call_max, self._ctx.policy.mesh_max)
        if not ok or call.has(name):
            if not ok:
                room.close_ended_call()
                full = _call_full(room.name, call.cap)
                self._ctx.outbox.send((member.conn,), full.as_message())
            return
        self._take_seat(member, room, call, elsewhere_ok=True)

    def _take_seat(self, member: Member, room: Room, call: RoomCall, elsewhere_ok: bool) -> None:
        """Seat ``member``: ``elsewhere_ok`` when the cluster granted the seat (this node's
        view may lag behind someone's leaving on another node)."""
        name = member.name
        assert name is not None
        # after everyone seated, even if this node's clock is behind theirs
        latest = call.participants[-1].since + 1 if call.participants else 0
        since = max(int(self._ctx.clock() * 1000), latest)
        participant = Participant(since, name, "no-rollback" not in member.features)
        starting = not call.participants
        try:
            call.join(participant, seated_elsewhere=elsewhere_ok)
        except RoomRefused as refused:
            room.close_ended_call()
            if elsewhere_ok:
                self._ctx.outbox.emit(ReleaseSeat(room.key, name))
            raise _call_full(room.name, call.cap) from refused
        local = (m.name for m in self._ctx.directory.local_in(room.key) if m.name is not None)
        call.newcomer(name, [n for n in local if call.has(n)], self._ctx.monotonic())
        if starting:
            self._observe("call.started", room)
        self.call_changed(room, name)
        self._published(member)

    def signalled(self, name: str, key: str) -> None:
        """``name`` sent a ``room-signal`` in room ``key``'s call: its seat is in use."""
        room = self._ctx.rooms.get(key)
        if room is not None and room.call is not None:
            room.call.signalled(name)

    def release_idle(self) -> None:
        """Housekeeping: release the seats of local participants who had someone to connect
        to and sent no ``room-signal`` for ``Policy.room_call_idle`` seconds."""
        idle_for = self._ctx.policy.room_call_idle
        deadline = self._ctx.monotonic() - idle_for
        for room in self._ctx.rooms.live():
            call = room.call
            idle = [n for n, since in call.owes.items() if since <= deadline] if call else []
            for name in idle:
                member = self._ctx.directory.local(name)
                if member is None or not self._leave_call(name, room.key):
                    continue
                if member.connected:
                    released = ProtocolError(
                        "not-in-call",
                        f"Your seat in the call was released: no signaling for {idle_for:g} s.",
                        "room-call-join",
                    )
                    self._ctx.outbox.send((member.conn,), released.as_message())
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
        self._leave_call(name, key, here=local)
        self.gate.departed(name, key, local)
        if local:
            self._observe("participant.left", self._ctx.rooms.get(key), name)
        self._vacate_if_empty(key, here=local)

    def remote_placed(self, record: UserRecord, old: str | None) -> None:
        """Another node's user is now as ``record`` says (the directory already has it);
        ``old`` is the key of the room it was in before, if any."""
        key = name_key(record.room)
        room, stricter = self._ctx.rooms.ensure(record.room, record.settings)
        if stricter:
            self._recheck(room)
        if old is not None and old != key:
            self._leave_call(record.name, old, here=False)
            self.gate.departed(record.name, old, False, key)
            self._vacate_if_empty(old)
        in_call = room.call is not None and room.call.has(record.name)
        if record.call and not in_call:
            call = room.seats(self._ctx.policy.room_call_max, self._ctx.policy.mesh_max)
            opened = call.opened
            call.join(
                Participant(record.call, record.name, "no-rollback" not in record.features),
                seated_elsewhere=True,
            )
            if call.opened != opened and call.mode is CallMode.SFU and opened:
                # An earlier join from another node renames the call: its SFU room too.
                self._ctx.outbox.emit(SfuEnd(room.key, opened))
            local = (m.name for m in self._ctx.directory.local_in(room.key) if m.name)
            call.newcomer(record.name, [n for n in local if call.has(n)], self._ctx.monotonic())
            self.call_changed(room, record.name)
        elif not record.call and in_call:
            self._leave_call(record.name, key, here=False)

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

    def end_call(self, key: str) -> None:
        """Every local participant of room ``key``'s call loses its seat (a host ended it)."""
        room = self._ctx.rooms.get(key)
        for name in room.call.names() if room is not None and room.call is not None else []:
            member = self._ctx.directory.local(name)
            if member is not None and self._leave_call(name, key):
                self._published(member)

    def _leave_call(self, name: str, key: str, here: bool = True) -> bool:
        """``name`` leaves room ``key``'s call (``here``: a member of this node)."""
        room = self._ctx.rooms.get(key)
        if room is None or room.call is None or not room.call.has(name):
            return False
        call = room.call
        self.on_leaving(room, name)
        call.leave(name)
        if self._ctx.node is not None and self._ctx.directory.remote(name) is None:
            self._ctx.outbox.emit(ReleaseSeat(key, name))  # a seat this node claimed
        room.close_ended_call()
        if call.mode is CallMode.SFU:  # out of Janus at once, and its room gone with the call
            self._ctx.outbox.emit(SfuLeave(room.key, call.opened, name))
            if room.call is None:
                self._ctx.outbox.emit(SfuEnd(room.key, call.opened))
        if room.call is None and here:
            self._observe("call.ended", room)
        self.call_changed(room, name)
        return True

    def call_changed(self, room: Room, name: str | None) -> None:
        """Tell the room's ``rooms`` clients; ``name``'s busy state changed (if one is given)."""
        message = room.call.as_message(room.name) if room.call is not None else None
        if message is None:
            message = {"type": "room-call", "room": room.name, "started": None, "participants": []}
        self.tell_room(room, message)
        if name is not None:
            self._ctx.presence.touch(room.key, name)

    def tell_room(self, room: Room, message: dict[str, Any]) -> None:
        """Send ``message`` to everyone connected in ``room`` who has the ``rooms`` feature."""
        audience = (
            m.conn for m in self._ctx.directory.connected_in(room.key) if "rooms" in m.features
        )
        self._ctx.outbox.send(audience, message)

    def _vacate_if_empty(self, key: str, here: bool = False) -> None:
        """Close room ``key`` if nobody is in it (``here``: its last member left from this
        node, which reports ``room.finished``)."""
        if self._ctx.directory.members_of(key):
            return
        room = self._ctx.rooms.vacate(key)
        if room is not None:
            self.claims.vacated(key)
        if room is not None and here:
            self._observe("room.finished", room)
        if room is not None and room.history_key != key and self._ctx.policy.history:
            self._ctx.outbox.emit(PurgeHistory(room.history_key))

    def _observe(self, event: str, room: Room | str | None, name: str | None = "") -> None:
        """Report ``event`` (a webhook's name) in ``room`` to observers; never for waiting
        rooms, which are a room's hidden hall, not a room."""
        label = room.name if isinstance(room, Room) else room
        if label is not None and not is_waiting_key(label):
            self._ctx.outbox.emit(RoomEvent(event, label, name or ""))

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


def _call_full(room: str, cap: int) -> ProtocolError:
    return ProtocolError(
        "room-call-full",
        f"The call in {room or 'the lobby'} is full ({cap} people).",
        "room-call-join",
    )
