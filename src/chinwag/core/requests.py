"""Requests a client makes of the server itself: rooms and stored chat (no I/O).

Unlike chat and relayed messages, these go to nobody else: they move the
sender between rooms, into or out of its room's call, list the public rooms,
page back through stored chat, or ask the SFU link to publish or subscribe.
:func:`~chinwag.core.protocol.parse_frame` reads the envelope and hands the
fields here to be checked.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from .errors import ProtocolError
from .rooms import MAX_TITLE_LENGTH, clean_room

__all__ = [
    "LAYERS",
    "MAX_LINE_ID",
    "RECORDING_ACTIONS",
    "ROOM_REQUESTS",
    "SFU_REQUESTS",
    "SFU_SERVER_TYPES",
    "HistoryRequest",
    "JoinRoom",
    "RecordingRequest",
    "RoomRequest",
    "SfuRequest",
    "history_request",
    "join_room",
    "recording_request",
    "room_request",
    "sfu_request",
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
    invite: str | None = None  # an invite link's token for this room


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


def join_room(
    room: object, password: object, public: object, title: object, invite: object = None
) -> JoinRoom:
    """Check a ``join-room``'s fields; raises ProtocolError (``bad-field``, ``bad-room``)."""
    for field, value in (("password", password), ("invite", invite)):
        if value is not None and not isinstance(value, str):
            raise ProtocolError("bad-field", f"`{field}` must be a string.", "join-room")
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
    assert password is None or isinstance(password, str)
    assert invite is None or isinstance(invite, str)
    return JoinRoom(clean_room(room, "join-room"), password, public, title.strip(), invite)


# -- room calls on an SFU (core/sfu.py says who may send them) --------------------

#: What a client may ask of the SFU link.
SFU_REQUESTS: Final = frozenset(
    {"sfu-publish", "sfu-subscribe", "sfu-answer", "sfu-view", "sfu-unmute"}
)
#: What only the server sends about SFU calls (never relayed from a client).
SFU_SERVER_TYPES: Final = frozenset({"sfu-published", "sfu-offer", "sfu-speaker", "sfu-moved"})
#: The layers a tile may ask for (the three simulcast layers), or nothing.
LAYERS: Final = frozenset({"high", "medium", "low", "off"})
#: The description each request carries, if any.
_DESCRIPTION_TYPE: Final = {"sfu-publish": "offer", "sfu-answer": "answer"}
MAX_VIEWS: Final = 256
#: The streams Janus can hold back for a host's mute (a screen share is sent as video).
MEDIA_KINDS: Final = frozenset({"audio", "video"})


class SfuRequest(NamedTuple):
    """One checked SFU request (see the module docstring)."""

    type: str
    description: dict[str, str] | None = None
    views: tuple[tuple[str, str], ...] = ()
    media: str = ""  # sfu-unmute: audio or video


def sfu_request(kind: str, description: object, views: object, media: object) -> SfuRequest:
    """Check an SFU request's fields; raises ProtocolError (``bad-field``) saying which."""
    wanted = _DESCRIPTION_TYPE.get(kind)
    checked: dict[str, str] | None = None
    if wanted is not None:
        if (
            not isinstance(description, dict)
            or description.get("type") != wanted
            or not isinstance(description.get("sdp"), str)
            or not description["sdp"]
        ):
            raise ProtocolError(
                "bad-field",
                f'`{kind}` needs a `description` {{"type": "{wanted}", "sdp": "..."}}.',
                kind,
            )
        checked = {"type": wanted, "sdp": description["sdp"]}
    layers: tuple[tuple[str, str], ...] = ()
    if kind == "sfu-view":
        if (
            not isinstance(views, dict)
            or len(views) > MAX_VIEWS
            or not all(isinstance(n, str) and v in LAYERS for n, v in views.items())
        ):
            raise ProtocolError(
                "bad-field",
                '`views` must map participant names to "high", "medium", "low" or "off".',
                kind,
            )
        layers = tuple(sorted(views.items()))
    if kind == "sfu-unmute":
        if media not in MEDIA_KINDS:
            raise ProtocolError("bad-field", "`kind` must be audio or video.", kind)
        assert isinstance(media, str)
        return SfuRequest(kind, media=media)
    return SfuRequest(kind, checked, layers)


# -- recording an SFU call (core/recording.py says who may) -----------------------

#: What ``room-recording`` may ask: start recording the sender's call, or stop it.
RECORDING_ACTIONS: Final = frozenset({"start", "stop"})


class RecordingRequest(NamedTuple):
    """``room-recording`` with ``action`` ``start`` or ``stop``."""

    action: str
    type: str = "room-recording"


def recording_request(action: object) -> RecordingRequest:
    """Check ``room-recording``'s ``action``; raises ProtocolError (``bad-field``)."""
    if action not in RECORDING_ACTIONS:
        raise ProtocolError(
            "bad-field", '`room-recording` needs `action`: "start" or "stop".', "room-recording"
        )
    assert isinstance(action, str)
    return RecordingRequest(action)
