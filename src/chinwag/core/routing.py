"""Routing: who receives each message, and through which cluster path (no I/O).

One row per message type a client sends (``docs/protocol.md`` has the same
table; ``tests/unit/test_routing_table.py`` keeps the two in step):

<!-- routing:start -->
| type | rate bucket | who receives it | cluster path |
| --- | --- | --- | --- |
| `username` | chat | the sender, then everyone's list | `Claim`, then publish `Joined`/`Renamed` |
| `message` | chat | the sender's room, sender included | publish `ChatLine` |
| `join-room` | chat | the sender (`room`, then the list); both rooms' lists | publish `Moved` |
| `list-rooms` | chat | the sender (`rooms`) | none: every node knows every room |
| `room-call-join` | chat | everyone in the room with `rooms` (`room-call`) | publish `Moved` |
| `room-call-leave` | chat | everyone in the room with `rooms` (`room-call`) | publish `Moved` |
| `room-signal` | signal | `target` in the sender's room call | `Deliver` to its node |
| `call-invite` | signal | `target`; reference targets: the server answers | `Deliver` to its node |
| `call-accept` | signal | `target` | `Deliver` to its node |
| `call-decline` | signal | `target` | `Deliver` to its node |
| `call-connected` | signal | `target` in a call with the sender | `Deliver` to its node |
| `video-offer` | signal | `target` | `Deliver` to its node |
| `video-answer` | signal | `target` | `Deliver` to its node |
| `new-ice-candidate` | signal | `target` | `Deliver` to its node |
| `hang-up` | signal | `target` | `Deliver` to its node |
| `media-state` | signal | `target` | `Deliver` to its node |
| any other, with `target` | signal | `target` | `Deliver` to its node |
| any other, no `target` | signal | the sender's room, sender included | publish `Relayed` |
<!-- routing:end -->

A targeted message to a user who is not online, or is in another room,
gets the sender ``no-such-user`` (the same words: no leak across rooms); in
a cluster the target's node answers ``Undeliverable`` and the sender's node
turns that into the same error. Call messages also
move the call state machine (:mod:`chinwag.core.calls`) on both the sender's
and the target's node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .calls import Outcome
from .effects import Forward, Publish, UpdateRecord
from .errors import ProtocolError, error_message
from .events import ChatLine, Deliver, Relayed, Status, Undeliverable, UserRecord
from .protocol import (
    Chat,
    Inbound,
    JoinRoom,
    Relay,
    SignIn,
    encode,
    escape_html,
    relayed,
    strip_tags,
)

if TYPE_CHECKING:
    from .context import Context
    from .directory import Member

__all__ = ["Router", "message_type"]


def message_type(message: Inbound) -> str:
    """The wire ``type`` of a checked message."""
    if isinstance(message, SignIn):
        return "username"
    if isinstance(message, Chat):
        return "message"
    if isinstance(message, JoinRoom):
        return "join-room"
    return message.type


class Router:
    """Delivers chat and relayed messages, and follows the calls they make."""

    def __init__(self, context: Context) -> None:
        self._ctx = context
        #: Called with a parked member whose backlog overflowed: end its session.
        self.on_overflow: Callable[[Member], None] = lambda member: None

    # -- queries -------------------------------------------------------------

    def is_busy(self, name: str) -> bool:
        """In a one-to-one call (connecting or active) or in a room call."""
        remote = self._ctx.directory.remote(name)
        if remote is not None:
            return remote.busy
        return self._ctx.calls.in_call(name) or self.room_call_since(name) > 0

    def room_call_since(self, name: str) -> int:
        """When a listed user joined its room's call (Unix ms), 0 when not in it."""
        remote = self._ctx.directory.remote(name)
        if remote is not None:
            return remote.call
        room = self._ctx.rooms.get(self._ctx.directory.room_of(name) or "")
        if room is None or room.call is None:
            return 0
        return next((p.since for p in room.call.participants if p.name == name), 0)

    def record_of(self, member: Member) -> UserRecord:
        """What the cluster's shared directory holds for a local user."""
        assert member.name is not None
        features = tuple(sorted(member.features))
        room = self._ctx.rooms.get(member.room)
        return UserRecord(
            member.name,
            self._ctx.node or "",
            features,
            self.is_busy(member.name),
            room.name if room is not None else "",
            self.room_call_since(member.name),
            room.settings if room is not None and member.room else None,
        )

    # -- the rate bucket column ----------------------------------------------

    def within_rate(self, member: Member, message: Inbound) -> bool:
        """Spend from the message's bucket; False (or ``rate-limited``) when empty."""
        now = self._ctx.monotonic()
        if isinstance(message, Relay):
            bucket, rate, kind = member.signal_bucket, self._ctx.policy.signal_rate, message.type
        else:
            bucket, rate = member.chat_bucket, self._ctx.policy.chat_rate
            kind = message_type(message)
        if bucket.take(rate, now):
            return True
        if now - member.warned_at >= 1.0:  # one warning a second, not one per frame
            member.warned_at = now
            raise ProtocolError(
                "rate-limited",
                f"Too many messages: at most {rate.per_second:g} per second "
                f"(bursts of {rate.burst:g}); this {kind} and others until the rate "
                "drops were not delivered.",
                kind,
            )
        return False

    # -- chat ----------------------------------------------------------------

    def chat(self, sender: Member, text: str) -> None:
        assert sender.name is not None
        date = int(self._ctx.clock() * 1000)
        self.deliver_chat(sender.name, sender.conn, date, text, sender.room)
        if self._ctx.node is not None:
            line = ChatLine(sender.name, sender.conn, date, text, sender.room)
            self._ctx.outbox.emit(Publish(line))

    def deliver_chat(self, name: str, conn: int, date: int, text: str, room: str) -> None:
        """One chat line to every connected user here in ``room``, escaped for reference clients."""
        line = {"type": "message", "name": name, "date": date, "id": conn}
        plain: list[int] = []
        html: list[int] = []
        for member in self._ctx.directory.connected_in(room):
            (plain if "plain-text" in member.features else html).append(member.conn)
        self._ctx.outbox.send(plain, {**line, "text": text})
        if html:
            self._ctx.outbox.send(html, {**line, "text": escape_html(strip_tags(text))})

    # -- relay -----------------------------------------------------------------

    def broadcast(self, payload: bytes, room: str) -> None:
        conns = (m.conn for m in self._ctx.directory.connected_in(room))
        self._ctx.outbox.send_payload(conns, payload)

    def relay(self, sender: Member, message: Relay) -> None:
        name = sender.name
        assert name is not None
        payload = relayed(message, name)
        target = message.target
        if target is None:
            self.broadcast(payload, sender.room)
            if self._ctx.node is not None:
                self._ctx.outbox.emit(Publish(Relayed(payload, sender.room)))
            return
        if self._ctx.directory.room_of(target) != sender.room:  # offline, or another room
            raise ProtocolError(
                "no-such-user",
                f"{target} is not online; the {message.type} was not delivered.",
                message.type,
                target,
            )
        if message.type == "room-signal":
            self._check_room_signal(name, target)
        elif message.type == "call-invite" and self.room_call_since(name):
            raise ProtocolError(
                "in-call", "Leave the room call before calling someone.", message.type, target
            )
        local = self._ctx.directory.local(target)
        remote = self._ctx.directory.remote(target)
        features = (
            local.features if local is not None else frozenset(remote.features if remote else ())
        )
        if message.type == "call-invite" and (
            "ringing" not in features or self.room_call_since(target)
        ):
            self._ring_for_reference(name, target)
            return
        sender_name = name
        self._follow_call(sender_name, target, message.type, refuse=True)
        if local is not None:
            self.to_member(local, payload)
        else:
            assert remote is not None and self._ctx.node is not None
            deliver = Deliver(sender_name, self._ctx.node, target, message.type, payload)
            self._ctx.outbox.emit(Forward(remote.node, deliver))

    def _check_room_signal(self, sender: str, target: str) -> None:
        room = self._ctx.rooms.get(self._ctx.directory.room_of(sender) or "")
        call = room.call if room is not None else None
        if call is None or not call.has(sender) or not call.has(target) or sender == target:
            raise ProtocolError(
                "not-in-call",
                f"{target} and you are not both in this room's call; the room-signal was dropped.",
                "room-signal",
                target,
            )

    def _same_room(self, sender: str, target: str) -> bool:
        room = self._ctx.directory.room_of(target)
        return room is not None and room == self._ctx.directory.room_of(sender)

    def deliver_from_node(self, event: Deliver) -> None:
        """A message another node relayed to a user of this one."""
        member = self._ctx.directory.local(event.target)
        if member is None or not self._same_room(event.sender, event.target):
            undeliverable = Undeliverable(event.sender, event.target, event.kind)
            self._ctx.outbox.emit(Forward(event.sender_node, undeliverable))
            return
        # The sender's node already refused what it had to: follow, then deliver.
        self._follow_call(event.sender, event.target, event.kind, refuse=False)
        self.to_member(member, event.payload)

    def undeliverable(self, sender: str, target: str, kind: str) -> None:
        member = self._ctx.directory.local(sender)
        if member is not None:
            error = error_message(
                "no-such-user",
                f"{target} is not online; the {kind} was not delivered.",
                kind,
                target,
            )
            self.to_member(member, encode(error))

    def to_member(self, member: Member, payload: bytes) -> None:
        """Deliver a message meant for ``member`` alone: now, or queued while parked."""
        mailbox = member.mailbox
        payload = mailbox.stamp(payload)
        if member.connected:
            self._ctx.outbox.send_payload((member.conn,), payload)
            mailbox.sent(payload)
            return
        policy = self._ctx.policy
        if not mailbox.queue(payload, policy.backlog_messages, policy.backlog_bytes):
            self.on_overflow(member)  # more than a resume can catch up with: gone for good

    # -- calls -------------------------------------------------------------------

    def _ring_for_reference(self, caller: str, callee: str) -> None:
        """Answer a ``call-invite`` for a client that cannot ring.

        The reference client answers every offer at once, so the server
        accepts on its behalf (or declines as busy), and the caller goes on to
        send its ``video-offer``.
        """
        reply: dict[str, Any]
        if self.room_call_since(callee) or (
            self.is_busy(callee) and self._ctx.calls.partner_of(callee) != caller
        ):
            reply = {"type": "call-decline", "name": callee, "target": caller, "reason": "busy"}
        else:
            self._follow_call(caller, callee, "call-invite", refuse=False)
            reply = {"type": "call-accept", "name": callee, "target": caller, "auto": True}
        member = self._ctx.directory.local(caller)
        assert member is not None
        self.to_member(member, encode(reply))

    def _follow_call(self, sender: str, target: str, kind: str, refuse: bool) -> None:
        step = self._ctx.calls.follow(sender, target, kind)
        if step.outcome is Outcome.REFUSED and refuse:
            raise ProtocolError(
                "not-in-call", f"Not in a call with {target}: {step.why}.", kind, target
            )
        for name in step.changed:
            self.busy_changed(name)

    def end_calls_of(self, name: str) -> None:
        """Hang up, on ``name``'s behalf, its local partners (ringing or talking).

        Partners on other nodes are hung up by their own node when it hears
        that ``name`` left.
        """
        partners, changed = self._ctx.calls.end_all(name)
        for other in changed:
            self.busy_changed(other)
        for other in partners:
            member = self._ctx.directory.local(other)
            if member is not None:
                hang_up = {"type": "hang-up", "name": name, "target": other, "reason": "gone"}
                self.to_member(member, encode(hang_up))

    def busy_changed(self, name: str) -> None:
        self._ctx.presence.touch(self._ctx.directory.room_of(name), name)
        member = self._ctx.directory.local(name)
        if self._ctx.node is not None and member is not None:
            self._ctx.outbox.emit(
                Publish(Status(name, self.is_busy(name))), UpdateRecord(self.record_of(member))
            )
