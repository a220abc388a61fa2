"""Chat history in the core: what a joining client is sent, and paging back (no I/O).

The store itself is I/O and lives outside the core (``chinwag.history``); the
core only asks for it through effects and is answered through an input:

* A public chat line is stored with ``StoreChat`` (see :mod:`~chinwag.core.routing`).
* On joining (sign-in; later a room switch) the core emits ``LoadHistory``
  with ``joining=True`` and holds the member's live chat lines
  (:class:`~chinwag.core.members.HistoryWait`) until ``Lobby.history_loaded``
  brings the lines; it sends them, then the held lines, so history always
  arrives before anything said after the join. The hold is bounded (half the
  parked backlog's message count): past it, live chat goes on and the late
  history is not sent.
* A ``history-request`` emits ``LoadHistory`` with ``joining=False``; its
  answer is a ``history`` message whether or not the client asked for the
  feature.

What a client gets: with the ``history`` feature, one ``history`` message
``{"type": "history", "room", "lines": [{"id", "name", "date", "text"}], "more"}``;
without it (the tutorial's client), each line as an ordinary ``message``
frame with its original ``date``. Text is made safe for ``innerHTML`` exactly
as live lines are for clients without ``plain-text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from .effects import LoadHistory, StoreChat
from .errors import ProtocolError, error_message
from .limits import KeyedBuckets
from .members import HistoryWait, Member
from .moderation import is_waiting_key
from .names import name_key
from .protocol import HistoryRequest, chat_text, encode
from .rooms import LOCK_MARK, RoomBook

if TYPE_CHECKING:
    from .context import Context

__all__ = [
    "PAGE_LINES",
    "ChatHistory",
    "LineStore",
    "StoredLine",
    "chat_to_member",
    "release_held",
    "room_of",
]

#: Lines in one page answered to a ``history-request``.
PAGE_LINES: Final = 50


class StoredLine(NamedTuple):
    """A stored chat line as the core sees it (the transport maps the store's records)."""

    id: int
    name: str
    date: int  # Unix milliseconds
    text: str


def room_of(rooms: RoomBook, member: Member) -> str:
    """Where the chat of ``member``'s room is stored (a locked room's: under its lock)."""
    return rooms.history_key(member.room)


def chat_to_member(context: Context, member: Member, payload: bytes) -> None:
    """One chat line to one member: held, numbered, sent, or queued while parked."""
    wait = member.history_wait
    if wait is not None:
        if len(wait.held) < context.policy.backlog_messages // 2:
            wait.held.append(payload)
            return
        release_held(context, member)  # the read is too slow: live chat goes first
    mailbox = member.mailbox
    payload = mailbox.stamp(payload)
    if member.connected:
        context.outbox.send_payload((member.conn,), payload)
        mailbox.sent(payload)
    else:
        policy = context.policy
        mailbox.queue_chat(payload, policy.backlog_messages, policy.backlog_bytes)


def release_held(context: Context, member: Member) -> None:
    """Stop holding ``member``'s chat lines and deliver the held ones, in order.

    Called when its joining history was sent, and whenever the wait ends
    otherwise (a resume, a park, a newer join): held lines never stay held.
    """
    wait, member.history_wait = member.history_wait, None
    for payload in wait.held if wait is not None else ():
        chat_to_member(context, member, payload)


class LineStore:
    """Stores public chat lines (``StoreChat``), within each client address's quota."""

    def __init__(self, context: Context) -> None:
        self._ctx = context
        self._per_address = KeyedBuckets(context.policy.history_per_address)

    def store(self, sender: Member, date: int, text: str) -> None:
        """Store one line of ``sender``'s; past its address's quota: told, not stored."""
        assert sender.name is not None
        if self._per_address.take(sender.address, self._ctx.monotonic()):
            room = room_of(self._ctx.rooms, sender)
            self._ctx.outbox.emit(StoreChat(room, sender.name, date, text))
            return
        rate = self._ctx.policy.history_per_address
        error = error_message(
            "history-quota",
            f"Sent, but not stored: your address may store {rate.per_second * 60:g} chat lines "
            "a minute.",
            "message",
        )
        self._ctx.outbox.send((sender.conn,), error)


class ChatHistory:
    """Asks for stored chat on join and on request, and sends what comes back."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    def offered(self, features: frozenset[str]) -> frozenset[str]:
        """The features a client gets: ``history`` only when this server keeps history."""
        return features if self._ctx.policy.history else features - {"history"}

    def joined(self, member: Member) -> None:
        """``member`` joined its room: read its last lines, holding live chat until then."""
        lines = self._ctx.policy.history_lines
        if not self._ctx.policy.history or lines <= 0 or is_waiting_key(member.room):
            return  # (a knocker reads its room's history once let in)
        if member.history_wait is not None:  # a join before the last one's answer
            release_held(self._ctx, member)
        load = LoadHistory(member.conn, room_of(self._ctx.rooms, member), None, lines, joining=True)
        member.history_wait = HistoryWait(load)
        self._ctx.outbox.emit(load)

    def request(self, member: Member, request: HistoryRequest) -> None:
        """A ``history-request``: read a page older than ``before`` (or the newest)."""
        if not self._ctx.policy.history:
            raise ProtocolError(
                "history-off", "This server keeps no chat history.", "history-request"
            )
        if request.room is not None and name_key(request.room) != member.room:
            raise ProtocolError(
                "bad-field",
                f"`room` must be your own room ({self._room_name(member.room)!r}); history of "
                "other rooms is not sent.",
                "history-request",
            )
        room = room_of(self._ctx.rooms, member)
        self._ctx.outbox.emit(
            LoadHistory(member.conn, room, request.before, PAGE_LINES, joining=False)
        )

    def loaded(self, load: LoadHistory, lines: Sequence[StoredLine] | None) -> None:
        """The answer to ``load``: up to ``limit + 1`` lines, oldest first; None if unread."""
        member = self._ctx.directory.at(load.conn)
        if member is None or not member.connected:
            return  # gone, or parked: a parked member's held lines went to its backlog
        if not load.joining:
            self._send_page(member, load, lines)
            return
        if member.history_wait is None or member.history_wait.load is not load:
            return  # given up (too much live chat meanwhile), or a newer join
        if lines is not None:  # a history client hears of an empty room too
            self._send_joining(member, load, lines)
        release_held(self._ctx, member)

    def _send_page(
        self, member: Member, load: LoadHistory, lines: Sequence[StoredLine] | None
    ) -> None:
        if lines is None:
            error = error_message(
                "unavailable",
                "The chat history could not be read just now; ask again shortly.",
                "history-request",
            )
            self._ctx.outbox.send((member.conn,), error)
            return
        self._ctx.outbox.send((member.conn,), self._history_message(member, load, lines))

    def _send_joining(self, member: Member, load: LoadHistory, lines: Sequence[StoredLine]) -> None:
        if "history" in member.features:
            self._ctx.outbox.send((member.conn,), self._history_message(member, load, lines))
            return
        plain = "plain-text" in member.features
        self._ctx.outbox.send_each(
            member.conn,
            (
                encode(
                    {
                        "type": "message",
                        "name": line.name,
                        "date": line.date,
                        "text": chat_text(line.text, plain),
                    }
                )
                for line in lines[-load.limit :]
            ),
        )

    def _room_name(self, stored: str) -> str:
        """The room as its opener typed it (what clients know it by), from its history key."""
        key = stored.split(LOCK_MARK, 1)[0]
        room = self._ctx.rooms.get(key)
        return room.name if room is not None else key

    def _history_message(
        self, member: Member, load: LoadHistory, lines: Sequence[StoredLine]
    ) -> dict[str, Any]:
        plain = "plain-text" in member.features
        newest = lines[-load.limit :] if load.limit > 0 else []
        return {
            "type": "history",
            "room": self._room_name(load.room),
            "lines": [
                {
                    "id": line.id,
                    "name": line.name,
                    "date": line.date,
                    "text": chat_text(line.text, plain),
                }
                for line in newest
            ],
            "more": len(lines) > load.limit,
        }
