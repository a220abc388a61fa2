"""Wire records: what a client may send, checked at the edge (no I/O).

``parse_frame`` turns one text frame into one of three typed records, or
raises :class:`~chinwag.core.errors.ProtocolError` with the code that says what was
wrong. The lobby never sees a raw dict it has not checked.

The reference protocol (see ``docs/protocol.md``): ``username`` signs in or
renames, ``message`` is public chat, and any other ``type`` is passed through,
to ``target`` if it names a user, to everyone otherwise.
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

import msgspec

from .errors import ProtocolError

__all__ = [
    "FEATURES",
    "MAX_NAME_LENGTH",
    "MAX_TEXT_LENGTH",
    "SERVER_TYPES",
    "Chat",
    "Inbound",
    "Relay",
    "SignIn",
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
#: that says the last ``seq`` it got is sent again what the old socket lost.
FEATURES: Final = frozenset({"deltas", "ringing", "plain-text", "seq"})

#: Types only the server may send. Relaying them would let one client forge
#: server messages in another's page (a fake ``rejectusername`` renames it).
SERVER_TYPES: Final = frozenset(
    {"id", "rejectusername", "userlist", "error", "signed-in", "presence", "ice-servers"}
)

_FORBIDDEN_NAME_CHARS: Final = frozenset("<>&\"'")
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


class Chat(NamedTuple):
    """``message``: one public chat line."""

    text: str


class Relay(NamedTuple):
    """Any other type, passed through.

    ``raw`` is the frame exactly as received (checked to be a JSON object in
    valid UTF-8); ``name`` is the ``name`` field the client wrote, or UNSET.
    """

    type: str
    target: str | None
    raw: bytes
    name: Any


Inbound = SignIn | Chat | Relay


def encode(message: dict[str, Any]) -> bytes:
    """Serialize one outgoing message to the UTF-8 JSON of a text frame."""
    return _encoder.encode(message)


def parse_frame(data: str | bytes) -> Inbound:
    """Check one text frame and return its record.

    Raises ProtocolError (``bad-json``, ``bad-message``, ``bad-type``,
    ``bad-field``, ``bad-name``, ``text-too-long``); the caller answers the
    sender and changes nothing else.
    """
    raw = data.encode() if isinstance(data, str) else _valid_utf8(data)
    # The whole frame is decoded, not just the fields chinwag reads: a value no
    # receiver could decode (a number beyond the float range, 1e400) is refused
    # here, before it is relayed. It costs about 0.2 us more than decoding the
    # read fields alone (docs/performance.md).
    try:
        body = _decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError):  # ValidationError: a number out of range
        raise _undecodable(raw) from None
    if type(body) is not dict:
        raise ProtocolError("bad-message", "A message must be a JSON object.")
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError("bad-type", "A message needs a non-empty string `type`.")
    if kind == "username":
        return _sign_in(body)
    if kind == "message":
        return Chat(_text(body.get("text")))
    if kind in SERVER_TYPES:
        raise ProtocolError(
            "bad-type", f"`{kind}` is sent by the server only and cannot be relayed.", kind
        )
    target = body.get("target")
    if target is not None and not isinstance(target, str):
        raise ProtocolError("bad-field", "`target` must be a username string.", kind)
    return Relay(kind, target or None, raw, body.get("name", msgspec.UNSET))


class _AnyObject(msgspec.Struct):
    """Reads no field: decoding into it only tells an object from another JSON value."""


_object_only = msgspec.json.Decoder(_AnyObject)


def _undecodable(raw: bytes) -> ProtocolError:
    """The error for a frame the full decode refused: not an object, or not JSON."""
    try:
        _object_only.decode(raw)
    except msgspec.ValidationError:  # valid JSON up to a value that is not an object
        return ProtocolError("bad-message", "A message must be a JSON object.")
    except (msgspec.DecodeError, RecursionError):
        pass
    return ProtocolError("bad-json", "The frame is not valid JSON.")


def _valid_utf8(data: bytes) -> bytes:
    # Text frames must be UTF-8 (RFC 6455); msgspec does not check the fields it
    # skips, and a relayed frame with bad UTF-8 would make the receiving browser
    # drop its connection.
    try:
        data.decode()
    except UnicodeDecodeError:
        raise ProtocolError("bad-json", "The frame is not valid UTF-8 JSON.") from None
    return data


def relayed(message: Relay, sender: str) -> bytes:
    """The payload to pass on: the frame as sent, with ``name`` set to ``sender``.

    Clients usually write their own name, or none (``new-ice-candidate``), so
    the frame is passed on as it came, or with the name appended; only a wrong
    name costs a full decode and encode.
    """
    if message.name == sender:
        return message.raw
    if message.name is msgspec.UNSET:
        return message.raw.rstrip()[:-1] + b',"name":' + _encoder.encode(sender) + b"}"
    body = _decoder.decode(message.raw)
    body["name"] = sender
    return _encoder.encode(body)


def with_seq(payload: bytes, seq: int) -> bytes:
    """``payload`` (a JSON object) with ``"seq": seq`` added last, so it wins any earlier one."""
    return payload.rstrip()[:-1] + b',"seq":' + str(seq).encode() + b"}"


def _sign_in(body: dict[str, Any]) -> SignIn:
    features = body.get("features")
    features = features if features is not None else []
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise ProtocolError("bad-field", "`features` must be a list of strings.", "username")
    resume, credential = body.get("resume"), body.get("credential")
    for field, value in (("resume", resume), ("credential", credential)):
        if value is not None and not isinstance(value, str):
            raise ProtocolError("bad-field", f"`{field}` must be a string.", "username")
    seq = body.get("seq", 0)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ProtocolError("bad-field", "`seq` must be a whole number.", "username")
    return SignIn(
        clean_name(body.get("name")), FEATURES.intersection(features), resume, credential, seq
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
    bad = sorted({c for c in name if c in _FORBIDDEN_NAME_CHARS or not c.isprintable()})
    if bad:
        shown = " ".join(c if c.isprintable() else f"U+{ord(c):04X}" for c in bad)
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
