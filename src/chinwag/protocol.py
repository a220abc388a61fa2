"""Wire records: what a client may send, checked at the edge (no I/O).

``parse_frame`` turns one text frame into one of three typed records, or
raises :class:`~chinwag.errors.ProtocolError` with the code that says what was
wrong. The lobby never sees a raw dict it has not checked.

The reference protocol (see ``docs/protocol.md``): ``username`` signs in or
renames, ``message`` is public chat, and any other ``type`` is passed through,
to ``target`` if it names a user, to everyone otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

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
    "strip_tags",
]

MAX_NAME_LENGTH: Final = 32
MAX_TEXT_LENGTH: Final = 2000

#: Optional behaviours a client asks for in ``username.features``.
#: ``deltas``: presence as one full list, then ``presence`` deltas.
#: ``ringing``: the client understands ``call-invite``/``call-accept``/``call-decline``.
#: ``plain-text``: chat text arrives exactly as typed (the client inserts it as
#: text); without it, text is made safe for ``innerHTML`` as the reference expects.
FEATURES: Final = frozenset({"deltas", "ringing", "plain-text"})

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


@dataclass(frozen=True, slots=True)
class SignIn:
    """``username``: sign in, or rename when already signed in."""

    name: str
    features: frozenset[str] = frozenset()
    resume: str | None = None
    credential: str | None = None


@dataclass(frozen=True, slots=True)
class Chat:
    """``message``: one public chat line."""

    text: str


@dataclass(frozen=True, slots=True)
class Relay:
    """Any other type, passed through; ``body`` is the whole message object."""

    type: str
    target: str | None
    body: dict[str, Any]


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
    try:
        value = _decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise ProtocolError("bad-json", "The frame is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ProtocolError("bad-message", "A message must be a JSON object.")
    kind = value.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError("bad-type", "A message needs a non-empty string `type`.")
    if kind == "username":
        return _sign_in(value)
    if kind == "message":
        return Chat(_text(value))
    if kind in SERVER_TYPES:
        raise ProtocolError(
            "bad-type", f"`{kind}` is sent by the server only and cannot be relayed.", kind
        )
    target = value.get("target")
    if target is not None and not isinstance(target, str):
        raise ProtocolError("bad-field", "`target` must be a username string.", kind)
    return Relay(kind, target or None, value)


def _sign_in(value: dict[str, Any]) -> SignIn:
    features = value.get("features", [])
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise ProtocolError("bad-field", "`features` must be a list of strings.", "username")
    resume = value.get("resume")
    credential = value.get("credential")
    for field, field_value in (("resume", resume), ("credential", credential)):
        if field_value is not None and not isinstance(field_value, str):
            raise ProtocolError("bad-field", f"`{field}` must be a string.", "username")
    return SignIn(
        clean_name(value.get("name")), FEATURES.intersection(features), resume, credential
    )


def _text(value: dict[str, Any]) -> str:
    text = value.get("text")
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
