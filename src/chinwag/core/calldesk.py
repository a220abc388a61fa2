"""The call desk: room-call seats, their cap, idle seats, and telling the room (no I/O).

* A room call is joined and left with ``room-call-join``/``-leave``; every
  change sends ``room-call`` to everyone in the room who has the ``rooms``
  feature. A user who leaves for good leaves the call; a parked one stays.
* The cap holds cluster-wide: in a cluster a seat is claimed through the bus
  (``ClaimSeat``, answered by ``Lobby.seat_claimed``); seats per client
  address are capped; a seat whose holder had someone to connect to and sent
  no ``room-signal`` for ``Policy.room_call_idle`` seconds is released.
* In a cluster, call changes travel in the user's record (``Moved`` and the
  shared directory), so a node that starts late or loses another node learns
  the same calls from the records alone.

Entering rooms and moving between them is :mod:`~chinwag.core.roomdesk`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .effects import ClaimSeat, ReleaseSeat, SfuEnd, SfuLeave
from .errors import ProtocolError
from .events import UserRecord
from .roomcall import CallMode, Participant, RoomCall, RoomRefused
from .roomevents import need_rooms_feature, observe, publish_place
from .rooms import Room

if TYPE_CHECKING:
    from .context import Context
    from .members import Member

__all__ = ["CallDesk"]


class CallDesk:
    """Seats members in their room's call and tells the room what changed."""

    def __init__(self, context: Context) -> None:
        self._ctx = context
        #: Called with the room and the name just before someone leaves its call
        #: (the recording desk stops a recording its starter leaves).
        self.on_leaving: Callable[[Room, str], None] = lambda _room, _name: None

    def call_join(self, member: Member) -> None:
        """``room-call-join``: take a seat in the room's call (opening it if idle)."""
        name = member.name
        assert name is not None
        need_rooms_feature(member, "room-call-join")
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
            observe(self._ctx, "call.started", room)
        self.call_changed(room, name)
        publish_place(self._ctx, member)

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
                if member is None or not self.leave_call(name, room.key):
                    continue
                if member.connected:
                    released = ProtocolError(
                        "not-in-call",
                        f"Your seat in the call was released: no signaling for {idle_for:g} s.",
                        "room-call-join",
                    )
                    self._ctx.outbox.send((member.conn,), released.as_message())
                publish_place(self._ctx, member)

    def call_leave(self, member: Member) -> None:
        """``room-call-leave``: give up the seat."""
        assert member.name is not None
        need_rooms_feature(member, "room-call-leave")
        if not self.leave_call(member.name, member.room):
            raise ProtocolError(
                "not-in-call", "You are not in this room's call.", "room-call-leave"
            )
        publish_place(self._ctx, member)

    def end_call(self, key: str) -> None:
        """Every local participant of room ``key``'s call loses its seat (a host ended it)."""
        room = self._ctx.rooms.get(key)
        for name in room.call.names() if room is not None and room.call is not None else []:
            member = self._ctx.directory.local(name)
            if member is not None and self.leave_call(name, key):
                publish_place(self._ctx, member)

    def leave_call(self, name: str, key: str, here: bool = True) -> bool:
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
            observe(self._ctx, "call.ended", room)
        self.call_changed(room, name)
        return True

    def follow_record(self, room: Room, record: UserRecord) -> None:
        """Another node's user, now in ``room`` as ``record`` says: seat it in the call, or
        not, as its record says (``record.call``: when it took its seat)."""
        key = room.key
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
            self.leave_call(record.name, key, here=False)

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


def _call_full(room: str, cap: int) -> ProtocolError:
    return ProtocolError(
        "room-call-full",
        f"The call in {room or 'the lobby'} is full ({cap} people).",
        "room-call-join",
    )
