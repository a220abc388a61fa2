"""Routing: who receives each message, and through which cluster path (no I/O).

One row per message type a client sends (``docs/protocol.md`` has the same
table; ``tests/unit/test_routing_table.py`` keeps the two in step):

<!-- routing:start -->
| type | rate bucket | who receives it | cluster path |
| --- | --- | --- | --- |
| `username` | chat | the sender, then everyone's list | `Claim`, then publish `Joined`/`Renamed` |
| `message` | chat | the sender's room, sender included | publish `ChatLine` |
| `history-request` | chat | the sender (a `history` page) | none (the store is shared) |
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
| `call-diagnosis` | signal | `target` | `Deliver` to its node |
| `call-report` | signal | nobody: the server counts and logs it | none |
| `file-offer` | signal | `target`; none: the sender's room | `Deliver`, or publish `Relayed` |
| `file-accept` | signal | `target` | `Deliver` to its node |
| `file-decline` | signal | `target` | `Deliver` to its node |
| `file-cancel` | signal | `target`; none: the sender's room | `Deliver`, or publish `Relayed` |
| `file-signal` | signal | `target` | `Deliver` to its node |
| any other, with `target` | signal | `target` | `Deliver` to its node |
| any other, no `target` | signal | the sender's room, sender included | publish `Relayed` |
<!-- routing:end -->

A targeted message to a user who is not online, or is in another room,
gets the sender ``no-such-user`` (the same words: no leak across rooms); in
a cluster the target's node answers ``Undeliverable`` and the sender's node
turns that into the same error. Call messages also
move the call state machine (:mod:`chinwag.core.calls`) on both the sender's
and the target's node.

A public chat line is also stored (``StoreChat``, by the sender's node only).
It is numbered for ``seq`` clients and kept in their recent ring, queued for
parked users (within half the backlog: chat never ends a session), and held
for a member whose joining history is still being read
(:mod:`chinwag.core.chat_history`), so history always comes first.

A little over chinwag's ~400-line guide on purpose: this is where a newcomer
looks up the rule for any message type, so the table above and every rule it
names (rate buckets, chat fan-out, relay targeting, the call messages' hooks
into :mod:`~chinwag.core.calls`) stay in one file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import msgspec

from .callreports import CallReports
from .calls import CALL_MESSAGES, Outcome
from .chat_history import LineStore, chat_to_member
from .effects import Forward, Publish, UpdateRecord
from .errors import ProtocolError, error_message
from .events import ChatLine, Deliver, Relayed, Status, Undeliverable
from .members import MemberState
from .protocol import (
    Chat,
    HistoryRequest,
    Inbound,
    JoinRoom,
    Relay,
    SfuRequest,
    SignIn,
    chat_text,
    encode,
    relayed,
)
from .status import is_busy, record_of, room_call_since
from .targeted import receiver_full, take_inbound, targeted_refusal

if TYPE_CHECKING:
    from .context import Context
    from .members import Member

__all__ = ["MAX_HOPS", "Router", "message_type"]

#: Times a ``Deliver`` follows a session that moved on (each hop is one hand-over the
#: sender's node had not heard of yet); past it, the sender hears ``no-such-user``.
MAX_HOPS: Final = 3


def message_type(message: Inbound) -> str:
    """The wire ``type`` of a checked message."""
    if isinstance(message, SignIn):
        return "username"
    if isinstance(message, Chat):
        return "message"
    if isinstance(message, JoinRoom):
        return "join-room"
    if isinstance(message, HistoryRequest):
        return "history-request"
    return message.type


class Router:
    """Delivers chat and relayed messages, and follows the calls they make."""

    def __init__(self, context: Context) -> None:
        self._ctx = context
        self.reports = CallReports(context.outbox)
        self._lines = LineStore(context)

    # -- the rate bucket column ----------------------------------------------

    def within_rate(self, member: Member, message: Inbound) -> bool:
        """Spend from the message's bucket; False (or ``rate-limited``) when empty."""
        now = self._ctx.monotonic()
        if isinstance(message, Relay) and message.target is None:
            self._check_broadcast(member, message, now)
        if isinstance(message, Relay | SfuRequest):
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

    def _check_broadcast(self, member: Member, message: Relay, now: float) -> None:
        """A message for everyone: small, and within bytes x recipients per second.

        Its cost grows with the audience, so one user cannot make every reader
        take megabytes a second (slower readers would be dropped).
        """
        policy = self._ctx.policy
        size = len(message.raw)
        if size > policy.broadcast_max_bytes:
            raise ProtocolError(
                "broadcast-too-large",
                f"A message without `target` goes to everyone and can be at most "
                f"{policy.broadcast_max_bytes} bytes ({size} sent); it was not delivered.",
                message.type,
            )
        rate = policy.broadcast_rate
        audience = len(self._ctx.directory.members_of(member.room))  # it goes to the room only
        cost = min(rate.burst, size * max(1, audience))
        if not member.broadcast_bucket.take(rate, now, cost):
            raise ProtocolError(
                "rate-limited",
                f"Too many messages to everyone: at most {rate.per_second / 1024:g} KiB a "
                "second, times the number of people in your room, may be sent without `target`; "
                "this one was not delivered.",
                message.type,
            )

    # -- chat ----------------------------------------------------------------

    def chat(self, sender: Member, text: str) -> None:
        assert sender.name is not None
        date = int(self._ctx.clock() * 1000)
        self.deliver_chat(sender.name, sender.conn, date, text, sender.room)
        if self._ctx.policy.history:
            self._lines.store(sender, date, text)
        if self._ctx.node is not None:
            line = ChatLine(sender.name, sender.conn, date, text, sender.room)
            self._ctx.outbox.emit(Publish(line))

    def deliver_chat(self, name: str, conn: int, date: int, text: str, room: str) -> None:
        """One chat line to every user here in ``room``, escaped for clients without ``plain-text``.

        Clients that are neither numbered nor waiting for history share one
        payload (the common case, encoded once); the others each get theirs.
        """
        line = {"type": "message", "name": name, "date": date, "id": conn}
        plain = encode({**line, "text": text})
        html = encode({**line, "text": chat_text(text, plain_text=False)})
        shared: dict[bytes, list[int]] = {plain: [], html: []}
        for member in self._ctx.directory.connected_in(room):
            payload = plain if "plain-text" in member.features else html
            if member.mailbox.numbered or member.history_wait is not None:
                chat_to_member(self._ctx, member, payload)
            else:
                shared[payload].append(member.conn)
        for payload, conns in shared.items():
            self._ctx.outbox.send_payload(conns, payload)
        for member in self._ctx.directory.parked():
            if member.room != room:
                continue
            chat_to_member(self._ctx, member, plain if "plain-text" in member.features else html)

    # -- relay -----------------------------------------------------------------

    def broadcast(self, payload: bytes, room: str) -> None:
        conns = (m.conn for m in self._ctx.directory.connected_in(room))
        self._ctx.outbox.send_payload(conns, payload)

    def relay(self, sender: Member, message: Relay) -> None:
        name = sender.name
        assert name is not None
        target = message.target
        if message.type == "call-report":
            self._call_report(name, message)
            return
        payload = relayed(message, name)
        if target is None:
            self.broadcast(payload, sender.room)
            if self._ctx.node is not None:
                self._ctx.outbox.emit(Publish(Relayed(payload, sender.room)))
            return
        directory = self._ctx.directory
        if directory.room_of(target) != sender.room:  # offline, or another room
            raise ProtocolError(
                "no-such-user",
                f"{target} is not online; the {message.type} was not delivered.",
                message.type,
                target,
            )
        kind = message.type
        local = directory.local(target)
        remote = directory.remote(target) if local is None else None
        if kind == "room-signal":
            self._check_room_signal(name, target)
        elif kind == "call-invite":
            if room_call_since(self._ctx, name):
                raise ProtocolError(
                    "in-call", "Leave the room call before calling someone.", kind, target
                )
            features = local.features if local is not None else (remote.features if remote else ())
            if "ringing" not in features or room_call_since(self._ctx, target):
                self._ring_for_reference(name, target)
                return
        now = self._ctx.monotonic()
        refused = targeted_refusal(sender, local, len(payload), self._ctx.policy, now, kind, target)
        if refused is not None:
            if now - sender.warned_at >= 1.0:  # one warning a second, not one per frame
                sender.warned_at = now
                raise refused
            return
        if kind in CALL_MESSAGES:  # not candidates, media-state, ...: the hot path
            self._follow_call(name, target, kind, refuse=True)
        if local is not None:
            self.to_member(local, payload)
        else:
            assert remote is not None and self._ctx.node is not None
            deliver = Deliver(name, self._ctx.node, target, kind, payload)
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
        call.signalled(sender)  # its seat is in use (see CallDesk.release_idle)

    def _same_room(self, sender: str, target: str) -> bool:
        room = self._ctx.directory.room_of(target)
        return room is not None and room == self._ctx.directory.room_of(sender)

    def deliver_from_node(self, event: Deliver) -> None:
        """A message another node relayed to a user of this one; if the user's session
        moved on (taken over, resumed) before the sender's node heard, it follows."""
        member = self._ctx.directory.local(event.target)
        moved = self._ctx.directory.remote(event.target) if member is None else None
        if moved is not None and moved.node != self._ctx.node and event.hops < MAX_HOPS:
            follow = msgspec.structs.replace(event, hops=event.hops + 1)
            self._ctx.outbox.emit(Forward(moved.node, follow))
            return
        if member is None or not self._same_room(event.sender, event.target):
            undeliverable = Undeliverable(event.sender, event.target, event.kind)
            self._ctx.outbox.emit(Forward(event.sender_node, undeliverable))
            return
        now, rate = self._ctx.monotonic(), self._ctx.policy.inbound_rate
        if not take_inbound(member, len(event.payload), rate, now):
            full = Undeliverable(event.sender, event.target, event.kind, full=True)
            self._ctx.outbox.emit(Forward(event.sender_node, full))
            return
        # The sender's node already refused what it had to: follow, then deliver.
        self._follow_call(event.sender, event.target, event.kind, refuse=False)
        self.to_member(member, event.payload)

    def undeliverable(self, sender: str, target: str, kind: str, full: bool = False) -> None:
        if full:
            error = receiver_full(target, kind)
            self._tell_sender(sender, error.code, error.message, kind, target)
            return
        self._tell_sender(
            sender,
            "no-such-user",
            f"{target} is not online; the {kind} was not delivered.",
            kind,
            target,
        )

    def unavailable(self, sender: str, target: str, kind: str) -> None:
        """A message for another node's user could not be carried (the bus is down)."""
        message = (
            f"{target} is on another server, which cannot be reached now; "
            f"the {kind} was not delivered."
        )
        self._tell_sender(sender, "unavailable", message, kind, target)

    def _tell_sender(self, sender: str, code: str, message: str, kind: str, target: str) -> None:
        member = self._ctx.directory.local(sender)
        if member is not None:
            self.to_member(member, encode(error_message(code, message, kind, target)), error=True)

    def to_member(self, member: Member, payload: bytes, error: bool = False) -> None:
        """Deliver a message meant for ``member`` alone: now, or queued while parked.

        ``error``: it is an ``error`` message (see ``Send.error``).
        """
        mailbox = member.mailbox
        if member.state is MemberState.CONNECTED:  # member.connected, inlined: the hot path
            if mailbox.numbered:
                payload = mailbox.stamp(payload)
                mailbox.sent(payload)
            self._ctx.outbox.send_payload((member.conn,), payload, error)
            return
        payload = mailbox.stamp(payload)
        policy = self._ctx.policy
        mailbox.queue(payload, policy.backlog_messages, policy.backlog_bytes)

    # -- calls -------------------------------------------------------------------

    def _ring_for_reference(self, caller: str, callee: str) -> None:
        """Answer a ``call-invite`` for a client that cannot ring.

        The reference client answers every offer at once, so the server
        accepts on its behalf (or declines as busy), and the caller goes on to
        send its ``video-offer``.
        """
        reply: dict[str, Any]
        if room_call_since(self._ctx, callee) or (
            is_busy(self._ctx, callee) and self._ctx.calls.partner_of(callee) != caller
        ):
            reply = {"type": "call-decline", "name": callee, "target": caller, "reason": "busy"}
        else:
            self._follow_call(caller, callee, "call-invite", refuse=False)
            reply = {"type": "call-accept", "name": callee, "target": caller, "auto": True}
        member = self._ctx.directory.local(caller)
        assert member is not None
        self.to_member(member, encode(reply))

    def _call_report(self, sender: str, message: Relay) -> None:
        member = self._ctx.directory.local(sender)
        assert member is not None  # only a signed-in local member's frames are relayed
        now = self._ctx.monotonic()
        target = message.target
        link = target is not None and self._in_one_room_call(sender, target)
        self.reports.receive(
            member.conn, sender, target, message.raw, now, link=link, address=member.address
        )

    def _in_one_room_call(self, name: str, other: str) -> bool:
        """Both are seated in the same room's call (a link of its mesh)."""
        rooms = self._ctx.directory
        same_room = rooms.room_of(name) == rooms.room_of(other)
        return (
            same_room
            and room_call_since(self._ctx, name) > 0
            and room_call_since(self._ctx, other) > 0
        )

    def _follow_call(self, sender: str, target: str, kind: str, refuse: bool) -> None:
        if kind not in CALL_MESSAGES:  # candidates, media-state, ...: the hot path
            return
        step = self._ctx.calls.follow(sender, target, kind)
        if step.outcome is Outcome.REFUSED and refuse:
            raise ProtocolError(
                "not-in-call", f"Not in a call with {target}: {step.why}.", kind, target
            )
        self.reports.busy_changed(step.changed, self._ctx.calls.in_call)
        for name in step.changed:
            self.busy_changed(name)

    def end_calls_of(self, name: str) -> None:
        """Hang up, on ``name``'s behalf, its local partners (ringing or talking).

        Partners on other nodes are hung up by their own node when it hears
        that ``name`` left.
        """
        partners, changed = self._ctx.calls.end_all(name)
        self.reports.busy_changed(changed, self._ctx.calls.in_call)
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
                Publish(Status(name, is_busy(self._ctx, name))),
                UpdateRecord(record_of(self._ctx, member)),
            )
