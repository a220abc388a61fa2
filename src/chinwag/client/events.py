"""The events a :class:`~chinwag.client.ChinwagClient` receives: small frozen records (no I/O).

Each record is one message type of docs/protocol.md, with typed fields;
``raw`` keeps the message exactly as received. :mod:`.parsing` checks the
fields and builds the records from decoded JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import ErrorReply

__all__ = [
    "CallAccept",
    "CallDecline",
    "CallInvite",
    "ChatMessage",
    "ErrorReceived",
    "Event",
    "FileMessage",
    "HangUp",
    "IceCandidate",
    "IceServer",
    "IceServers",
    "MediaState",
    "Moderation",
    "NameTaken",
    "Participant",
    "Presence",
    "PublicRoom",
    "Reconnecting",
    "Resumed",
    "RoomCall",
    "RoomEntered",
    "RoomList",
    "RoomSignal",
    "SessionLost",
    "SignedIn",
    "Unknown",
    "UserList",
    "VideoAnswer",
    "VideoOffer",
    "Welcome",
]


@dataclass(frozen=True, kw_only=True)
class Event:
    """One message from the server; ``raw`` is the message exactly as received."""

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class Welcome(Event):
    """``id``: the socket is open; the server numbered this connection."""

    id: int


@dataclass(frozen=True, kw_only=True)
class SignedIn(Event):
    """``signed-in``: the name (after any numbering) and the features accepted.

    ``resume`` is the token that takes this session back after a drop;
    ``resumed`` says whether this sign-in continued an earlier session.
    """

    id: int | None
    name: str
    features: frozenset[str]
    resume: str | None = None
    resumed: bool = False
    room: RoomEntered | None = None  # with the ``rooms`` feature: where it signed in
    file_max_bytes: int = 0  # the largest file people may send each other (0: none)


@dataclass(frozen=True, kw_only=True)
class NameTaken(Event):
    """``rejectusername``: the wanted name was taken; the server gave ``name``."""

    name: str


@dataclass(frozen=True, kw_only=True)
class UserList(Event):
    """``userlist``: everyone online, in sign-in order, and who is in a call."""

    users: tuple[str, ...]
    busy: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class Presence(Event):
    """``presence``: what changed since the last list or delta."""

    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    busy: tuple[str, ...] = ()
    idle: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ChatMessage(Event):
    """``message``: one chat line from ``name`` (the sender's own lines included)."""

    name: str
    text: str
    date: int | None = None


@dataclass(frozen=True, kw_only=True)
class IceServer:
    """One entry of ``iceServers``, as ``RTCIceServer`` takes it."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True, kw_only=True)
class IceServers(Event):
    """``ice-servers``: what to use for calls; ``expires`` is Unix time, or None."""

    servers: tuple[IceServer, ...]
    expires: int | None = None


@dataclass(frozen=True, kw_only=True)
class CallInvite(Event):
    """``call-invite``: ``name`` is calling; ``audio``/``video`` say what it offers."""

    name: str
    audio: bool = True
    video: bool = True


@dataclass(frozen=True, kw_only=True)
class CallAccept(Event):
    """``call-accept``: ``name`` accepted (``auto`` when the server did it for them)."""

    name: str
    auto: bool = False


@dataclass(frozen=True, kw_only=True)
class CallDecline(Event):
    """``call-decline``: ``name`` will not take the call; ``reason`` says why."""

    name: str
    reason: str = "declined"


@dataclass(frozen=True, kw_only=True)
class HangUp(Event):
    """``hang-up``: ``name`` ended a ringing or running call."""

    name: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class VideoOffer(Event):
    """``video-offer``: an SDP offer from ``name``."""

    name: str
    sdp: str


@dataclass(frozen=True, kw_only=True)
class VideoAnswer(Event):
    """``video-answer``: an SDP answer from ``name``."""

    name: str
    sdp: str


@dataclass(frozen=True, kw_only=True)
class IceCandidate(Event):
    """``new-ice-candidate``: a trickled candidate (``candidate`` is "" at the end)."""

    name: str
    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None
    username_fragment: str | None = None


@dataclass(frozen=True, kw_only=True)
class MediaState(Event):
    """``media-state``: what ``name`` is sending (mute, camera off, screen share)."""

    name: str
    audio: bool
    video: bool
    screen: bool = False


@dataclass(frozen=True, kw_only=True)
class ErrorReceived(Event):
    """``error``: the server refused something this client sent."""

    code: str
    message: str
    for_type: str | None = None
    target: str | None = None

    def exception(self) -> ErrorReply:
        """The same error as an exception, to raise."""
        return ErrorReply(self.code, self.message, self.for_type, self.target)


@dataclass(frozen=True, kw_only=True)
class Reconnecting(Event):
    """Made by the client, not the server: the socket dropped (``code``), retrying.

    Attempt number ``attempt`` starts after ``delay`` seconds. Sends raise
    ConnectionClosed until :class:`Resumed` or :class:`SessionLost`.
    """

    attempt: int
    delay: float
    code: int | None = None


@dataclass(frozen=True, kw_only=True)
class Resumed(Event):
    """Made by the client: back after a drop, and the server kept the session.

    Messages sent to this user meanwhile follow; calls carry on.
    """

    name: str


@dataclass(frozen=True, kw_only=True)
class SessionLost(Event):
    """Made by the client: back after a drop, but as a new session.

    The server had ended the old one (restart, grace ran out): others saw this
    user leave, calls were hung up, and ``name`` may differ from before.
    """

    name: str


@dataclass(frozen=True, kw_only=True)
class FileMessage(Event):
    """``file-offer``, ``-accept``, ``-decline``, ``-cancel`` or ``-signal`` from ``name``
    about the file ``file`` (docs/protocol.md, "Files"); the other fields are in ``raw``."""

    type: str
    name: str
    file: str


@dataclass(frozen=True, kw_only=True)
class Unknown(Event):
    """A message of a type this client does not know, or of a shape it cannot use."""

    type: str
    name: str | None = None


#: Any one kind of event, for methods that return the kind they were asked for.
E = TypeVar("E", bound=Event)


@dataclass(frozen=True, kw_only=True)
class Participant:
    """One seat of a room call; ``rollback`` False: it declared ``no-rollback``."""

    name: str
    rollback: bool = True


@dataclass(frozen=True, kw_only=True)
class RoomCall(Event):
    """``room-call``: the room call's participants in join order (empty: it ended)."""

    room: str
    started: int | None
    participants: tuple[Participant, ...]

    def names(self) -> list[str]:
        return [p.name for p in self.participants]


@dataclass(frozen=True, kw_only=True)
class RoomEntered(Event):
    """``room`` (and ``signed-in``'s ``room``): the room this client is in now."""

    room: str
    title: str = ""
    public: bool = False
    locked: bool = False
    call: RoomCall | None = None


@dataclass(frozen=True, kw_only=True)
class PublicRoom:
    room: str
    title: str
    count: int


@dataclass(frozen=True, kw_only=True)
class RoomList(Event):
    """``rooms``: the public rooms and how many people are in each."""

    rooms: tuple[PublicRoom, ...]


@dataclass(frozen=True, kw_only=True)
class RoomSignal(Event):
    """``room-signal`` from ``name``: a description (``offer``/``answer``) or a candidate."""

    name: str
    description_type: str | None = None
    sdp: str | None = None
    candidate: IceCandidate | None = None


@dataclass(frozen=True, kw_only=True)
class Moderation(Event):
    """``moderation``: what a host or moderator did in ``room`` (docs/protocol.md, "Hosts").

    ``target`` None: everyone (a "mute everyone"); ``by`` None: the server or
    the operator's API. ``kind`` is the muted stream (``audio``, ``video``,
    ``screen``) for ``action`` ``mute``.
    """

    room: str
    action: str
    by: str | None = None
    target: str | None = None
    kind: str | None = None
    text: str | None = None
