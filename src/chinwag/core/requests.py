"""Requests a client makes of the server itself: rooms and stored chat (no I/O).

Unlike chat and relayed messages, these go to nobody else: they move the
sender between rooms, into or out of its room's call, list the public rooms,
or page back through stored chat. :func:`~chinwag.core.protocol.parse_frame`
reads the envelope and hands the fields here to be checked.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from .errors import ProtocolError
from .rooms import MAX_TITLE_LENGTH, clean_room

__all__ = [
    "MAX_LINE_ID",
    "ROOM_REQUESTS",
    "HistoryRequest",
    "JoinRoom",
    "RoomRequest",
    "history_request",
    "join_room",
    "room_request",
]

#: Stored chat line ids are positive and below 2**53 (exact in JavaScript).
MAX_LINE_ID: Final = 2**53

#: Requests about rooms that carry no fields (``join-room`` is :class:`JoinRoom`).
ROOM_REQUESTS: Final = frozenset({"list-rooms", "room-call-join", "room-call-leave"})


class JoinRoom(NamedTuple):
    """``join-room``: move to another room without reconnecting.

    ``public``/``title``/``password`` set the room up only if this join opens it.
    """

    room: str
    password: str | None = None
    public: bool = False
    title: str = ""


class RoomRequest(NamedTuple):
    """``list-rooms`` (from the ``offset``-th room), ``room-call-join`` or ``room-call-leave``."""

    type: str
    offset: int = 0


def room_request(kind: str, offset: object) -> RoomRequest:
    """Check a room request's fields; raises ProtocolError (``bad-field``)."""
    if offset is None:
        return RoomRequest(kind)
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < MAX_LINE_ID:
        raise ProtocolError("bad-field", "`offset` must be a whole number from 0.", kind)
    return RoomRequest(kind, offset)


class HistoryRequest(NamedTuple):
    """``history-request``: a page of stored chat older than line ``before`` (None: the newest)."""

    before: int | None
    room: str | None  # the room the client means; None: its own


def history_request(before: object, room: object) -> HistoryRequest:
    """Check a ``history-request``'s fields; raises ProtocolError (``bad-field``)."""
    if before is not None and (
        not isinstance(before, int) or isinstance(before, bool) or not 0 < before < MAX_LINE_ID
    ):
        raise ProtocolError(
            "bad-field",
            "`before` must be the id of a stored line (a whole number from 1 to 2**53 - 1)"
            " or absent for the newest lines.",
            "history-request",
        )
    if room is not None and not isinstance(room, str):
        raise ProtocolError("bad-field", "`room` must be a room name string.", "history-request")
    return HistoryRequest(before, room)


def join_room(room: object, password: object, public: object, title: object) -> JoinRoom:
    """Check a ``join-room``'s fields; raises ProtocolError (``bad-field``, ``bad-room``)."""
    if password is not None and not isinstance(password, str):
        raise ProtocolError("bad-field", "`password` must be a string.", "join-room")
    if not isinstance(public, bool):
        raise ProtocolError("bad-field", "`public` must be true or false.", "join-room")
    if not isinstance(title, str) or len(title) > MAX_TITLE_LENGTH or not title.isprintable():
        raise ProtocolError(
            "bad-field",
            f"`title` must be printable text of at most {MAX_TITLE_LENGTH} characters.",
            "join-room",
        )
    if room is None:
        raise ProtocolError("bad-room", "`join-room` needs a `room`.", "join-room")
    return JoinRoom(clean_room(room, "join-room"), password, public, title.strip())
