"""Wire records: what a client may send, checked at the edge (no I/O).

``parse_frame`` turns one text frame into one typed record (:data:`Inbound`),
or raises :class:`~chinwag.core.errors.ProtocolError` with the code that says
what was wrong. The lobby never sees a raw dict it has not checked. The
records of requests made of the server itself (rooms, stored chat) and their
checks live in :mod:`~chinwag.core.requests`; this module reads their fields
off the frame and re-exports them.

The reference protocol (see ``docs/protocol.md``): ``username`` signs in or
renames, ``message`` is public chat, ``history-request`` asks for stored chat,
and any other ``type`` is passed through,
to ``target`` if it names a user, to everyone otherwise.
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

import msgspec

from .actions import ROOM_ACTIONS, RoomAction, room_action
from .errors import ProtocolError
from .names import invisible_characters, unsafe_characters
from .requests import (
    MAX_LINE_ID,
    ROOM_REQUESTS,
    SFU_REQUESTS,
    SFU_SERVER_TYPES,
    HistoryRequest,
    JoinRoom,
    RecordingRequest,
    RoomRequest,
    SfuRequest,
    history_request,
    join_room,
    recording_request,
    room_request,
    sfu_request,
)
from .rooms import clean_room

__all__ = [
    "FEATURES",
    "MAX_LINE_ID",
    "MAX_NAME_LENGTH",
    "MAX_TEXT_LENGTH",
    "ROOM_REQUESTS",
    "SERVER_FIELDS",
    "SERVER_TYPES",
    "Chat",
    "HistoryRequest",
    "Inbound",
    "JoinRoom",
    "RecordingRequest",
    "Relay",
    "RoomAction",
    "RoomRequest",
    "SfuRequest",
    "SignIn",
    "chat_text",
    "clean_name",
    "encode",
    "escape_html",
    "numbered_name",
    "parse_frame",
    "relayed",
    "strip_tags",
    "with_seq",
]

MAX_NAME_LENGTH: Final = 32
MAX_TEXT_LENGTH: Final = 2000

#: Optional behaviours a client asks for in ``username.features``.
#: ``deltas``: presence as one full list, then ``presence`` deltas.
#: ``ringing``: the client understands ``call-invite``/``call-accept``/``call-decline``.
#: ``plain-text``: chat text arrives exactly as typed (the client inserts it as
#: text); without it, text is made safe for ``innerHTML`` as the reference expects.
#: ``seq``: messages meant for this client alone carry a rising ``seq``; a resume
#: that says the last ``seq`` it got is sent again what the old socket lost
#: (public chat lines included).
#: ``history``: stored chat arrives as one ``history`` message on joining, and
#: older pages on ``history-request``; without it, as ordinary ``message`` frames.
#: ``rooms``: the client understands rooms and room calls (``room``, ``room-call``, ...).
#: ``no-rollback``: the client cannot roll back an offer (aiortc), so it is the
#: impolite side of each room-call pair (``rollback: false`` in ``room-call``).
FEATURES: Final = frozenset(
    {"deltas", "ringing", "plain-text", "seq", "history", "rooms", "no-rollback"}
)

#: Types only the server may send. Relaying them would let one client forge
#: server messages in another's page (a fake ``rejectusername`` renames it).
SERVER_TYPES: Final = frozenset(
    {
        "id",
        "rejectusername",
        "userlist",
        "error",
        "signed-in",
        "presence",
        "ice-servers",
        "history",
        "room",
        "rooms",
        "room-call",
        *SFU_SERVER_TYPES,
        "room-control",
        "moderation",
        "invite",
    }
)

#: Fields of a relayed message that only the server sets: ``name`` is always
#: the sender's, ``seq`` numbers what the receiver got (a forged one would
#: spoil its resume). A client's own values are dropped.
SERVER_FIELDS: Final = ("name", "seq")

_TAG = re.compile(r"<[^>]+>")
_ESCAPES: Final = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
)
_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


class SignIn(NamedTuple):
    """``username``: sign in, or rename when already signed in."""

    name: str
    features: frozenset[str] = frozenset()
    resume: str | None = None
    credential: str | None = None
    seq: int = 0  # with ``resume``: the last ``seq`` the client received
    room: str | None = None  # with the ``rooms`` feature: the room to sign in to
    room_password: str | None = None
    invite: str | None = None  # an invite link's token, for ``room``


class Chat(NamedTuple):
    """``message``: one public chat line."""

    text: str


class Relay(msgspec.Struct, frozen=True, gc=False):
    """Any other type, passed through (a Struct, as ``Send``: one per relayed message).

    ``raw`` is the frame exactly as received (checked to be a JSON object in
    valid UTF-8); ``name`` is the ``name`` field the client wrote, or UNSET;
    ``forged`` is True when it also wrote a field only the server may set
    (``seq``), which ``relayed`` strips.
    """

    type: str
    target: str | None
    raw: bytes
    name: Any
    forged: bool = False


Inbound = (
    SignIn
    | Chat
    | HistoryRequest
    | Relay
    | JoinRoom
    | RoomRequest
    | SfuRequest
    | RecordingRequest
    | RoomAction
)


class _Envelope(msgspec.Struct):
    """The fields chinwag reads; the rest is checked as JSON and passed on untouched."""

    type: Any = None
    target: Any = None
    name: Any = msgspec.UNSET
    text: Any = None
    features: Any = None
    resume: Any = None
    credential: Any = None
    seq: Any = msgspec.UNSET
    before: Any = None
    room: Any = None
    roomPassword: Any = None  # the wire's name
    password: Any = None
    public: Any = False
    title: Any = ""
    action: Any = None
    offset: Any = None
    invite: Any = None


#: The types that are requests of the server itself, read through ``_Envelope``.
_OWN_TYPES: Final = (
    frozenset({"username", "message", "history-request", "join-room", "room-recording"})
    | ROOM_REQUESTS
    | SFU_REQUESTS
    | ROOM_ACTIONS
)


def encode(message: dict[str, Any]) -> bytes:
    """Serialize one outgoing message to the UTF-8 JSON of a text frame."""
    return _encoder.encode(message)


def parse_frame(data: str | bytes) -> Inbound:
    """Check one text frame and return its record.

    Raises ProtocolError (``bad-json``, ``bad-message``, ``bad-type``,
    ``bad-field``, ``bad-name``, ``text-too-long``); the caller answers the
    sender and changes nothing else.

    The frame is decoded once, whole: that one decode checks it is UTF-8
    (RFC 6455; a relayed frame with bad UTF-8 would make the receiving
    browser drop its connection) and that every value in it can be decoded
    by any receiver (a number beyond the float range, 1e400, cannot), since
    relayed frames are passed on as sent. Relayed messages, the hot path,
    read their few fields off the decoded object; the server's own requests
    go through the typed envelope.
    """
    raw = data.encode() if isinstance(data, str) else data
    try:
        body = _decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        raise _undecodable(raw) from None
    if body.__class__ is not dict:
        raise ProtocolError("bad-message", "A message must be a JSON object.")
    kind = body.get("type")
    if kind.__class__ is not str or not kind:
        raise ProtocolError("bad-type", "A message needs a non-empty string `type`.")
    if kind in _OWN_TYPES:
        return _own_request(kind, msgspec.convert(body, _Envelope), body)
    if kind in SERVER_TYPES:
        raise ProtocolError(
            "bad-type", f"`{kind}` is sent by the server only and cannot be relayed.", kind
        )
    target = body.get("target")
    if target is not None and target.__class__ is not str:
        raise ProtocolError("bad-field", "`target` must be a username string.", kind)
    return Relay(kind, target or None, raw, body.get("name", msgspec.UNSET), "seq" in body)


def _own_request(kind: str, envelope: _Envelope, body: dict[str, Any]) -> Inbound:
    """A message for the server itself (one of ``_OWN_TYPES``), from its envelope."""
    if kind == "username":
        return _sign_in(envelope)
    if kind == "message":
        return Chat(_text(envelope.text))
    if kind == "history-request":
        return history_request(envelope.before, envelope.room)
    if kind == "join-room":
        return join_room(
            envelope.room, envelope.password, envelope.public, envelope.title, envelope.invite
        )
    if kind == "room-recording":
        return recording_request(envelope.action)
    if kind in SFU_REQUESTS:
        return sfu_request(kind, body.get("description"), body.get("views"), body.get("kind"))
    if kind in ROOM_ACTIONS:
        return room_action(kind, body)
    return room_request(kind, envelope.offset)


class _Kind(msgspec.Struct):
    """Reads ``type`` alone: tells an object from another JSON value, skipping the rest."""

    type: Any = None


_kind_only = msgspec.json.Decoder(_Kind)


def _undecodable(raw: bytes) -> ProtocolError:
    """The error for a frame the decode refused: not an object, not JSON, or not UTF-8."""
    try:
        raw.decode()  # msgspec checks only the strings it reads; this checks all
    except UnicodeDecodeError:
        return ProtocolError("bad-json", "The frame is not valid UTF-8 JSON.")
    try:
        kind = _kind_only.decode(raw).type
    except msgspec.ValidationError:  # valid JSON, but not an object
        return ProtocolError("bad-message", "A message must be a JSON object.")
    except (msgspec.DecodeError, RecursionError):
        return ProtocolError("bad-json", "The frame is not valid UTF-8 JSON.")
    # An object holding a value no receiver can decode: 1e400 passes the skipping decode.
    return ProtocolError(
        "bad-json",
        "The frame holds a value no receiver can decode (a number out of range).",
        kind if isinstance(kind, str) else None,
    )


def relayed(message: Relay, sender: str) -> bytes:
    """The payload to pass on: the frame as sent, with ``name`` set to ``sender``
    and the other fields the server owns (``SERVER_FIELDS``) taken out.

    Clients usually write their own name, or none (``new-ice-candidate``), so
    the frame is passed on as it came, or with the name appended; only a wrong
    name or a forged server field costs a full decode and encode.
    """
    if not message.forged:
        if message.name == sender:
            return message.raw
        if message.name is msgspec.UNSET:
            return message.raw.rstrip()[:-1] + b',"name":' + _encoder.encode(sender) + b"}"
    body = _decoder.decode(message.raw)
    body["name"] = sender  # where the client put it, if it did
    for field in SERVER_FIELDS:
        if field != "name":
            body.pop(field, None)
    return _encoder.encode(body)


def with_seq(payload: bytes, seq: int) -> bytes:
    """``payload`` (a JSON object) with ``"seq": seq`` added last, so it wins any earlier one."""
    return payload.rstrip()[:-1] + b',"seq":' + str(seq).encode() + b"}"


def _sign_in(envelope: _Envelope) -> SignIn:
    features = envelope.features if envelope.features is not None else []
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise ProtocolError("bad-field", "`features` must be a list of strings.", "username")
    for field, value in (("resume", envelope.resume), ("credential", envelope.credential)):
        if value is not None and not isinstance(value, str):
            raise ProtocolError("bad-field", f"`{field}` must be a string.", "username")
    seq = envelope.seq if envelope.seq is not msgspec.UNSET else 0
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ProtocolError("bad-field", "`seq` must be a whole number.", "username")
    for field, value in (("roomPassword", envelope.roomPassword), ("invite", envelope.invite)):
        if value is not None and not isinstance(value, str):
            raise ProtocolError("bad-field", f"`{field}` must be a string.", "username")
    name = envelope.name if envelope.name is not msgspec.UNSET else None
    room = clean_room(envelope.room, "username") if envelope.room is not None else None
    return SignIn(
        clean_name(name),
        FEATURES.intersection(features),
        envelope.resume,
        envelope.credential,
        seq,
        room,
        envelope.roomPassword,
        envelope.invite,
    )


def _text(text: object) -> str:
    if not isinstance(text, str):
        raise ProtocolError("bad-field", "`text` must be a string.", "message")
    if len(text) > MAX_TEXT_LENGTH:
        raise ProtocolError(
            "text-too-long",
            f"A chat message can be at most {MAX_TEXT_LENGTH} characters ({len(text)} sent).",
            "message",
        )
    return text


def clean_name(raw: object) -> str:
    """Return the trimmed username, or raise ``bad-name`` saying what is wrong."""
    if not isinstance(raw, str):
        raise ProtocolError("bad-name", "`name` must be a string.", "username")
    name = raw.strip()
    if not name:
        raise ProtocolError("bad-name", "The username is empty.", "username")
    if len(name) > MAX_NAME_LENGTH:
        raise ProtocolError(
            "bad-name", f"A username can be at most {MAX_NAME_LENGTH} characters.", "username"
        )
    invisible = invisible_characters(name)
    if invisible:
        raise ProtocolError(
            "bad-name",
            "A username cannot contain invisible or filler characters; found: "
            + " ".join(invisible),
            "username",
        )
    shown = unsafe_characters(name)
    if shown is not None:
        raise ProtocolError(
            "bad-name",
            f"A username cannot contain control characters or < > & \" '; found: {shown}",
            "username",
        )
    return name


def numbered_name(name: str, number: int) -> str:
    """The reference's fallback for a taken name (``alice`` -> ``alice1``), kept in length."""
    suffix = str(number)
    return name[: MAX_NAME_LENGTH - len(suffix)] + suffix


def strip_tags(text: str) -> str:
    """Remove HTML tags exactly as the reference server does."""
    return _TAG.sub("", text)


def escape_html(text: str) -> str:
    """Escape what tag stripping leaves (a lone ``<``) for ``innerHTML`` readers."""
    return text.translate(_ESCAPES)


def chat_text(text: str, plain_text: bool) -> str:
    """Chat text as a client gets it: as typed with ``plain-text``, else safe for innerHTML."""
    return text if plain_text else escape_html(strip_tags(text))
