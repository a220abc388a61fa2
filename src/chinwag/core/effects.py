"""What the lobby asks its transport to do: the effects of one input.

The lobby never does I/O; every input returns a list of these, carried out in
order by the transport (``Send``, ``Close``), by the history link
(``StoreChat``, ``LoadHistory``) or, in a cluster, by the ``ClusterLink``
(the rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import msgspec

from .events import BusEvent, RoomSettings, UserRecord

__all__ = [
    "Adopt",
    "Claim",
    "ClaimRoom",
    "ClaimSeat",
    "Close",
    "ConnId",
    "CountCall",
    "Effect",
    "Forward",
    "HandOver",
    "LoadHistory",
    "Moderated",
    "Publish",
    "PurgeHistory",
    "Release",
    "ReleaseRoom",
    "ReleaseSeat",
    "RoomEvent",
    "Send",
    "SfuEnd",
    "SfuLeave",
    "SfuModerate",
    "SfuRecord",
    "SfuSignal",
    "StoreChat",
    "UpdateRecord",
]

ConnId = int


class Send(msgspec.Struct, frozen=True, gc=False):
    """Write ``payload`` (UTF-8 JSON) as one text frame to each connection.

    A msgspec Struct: one is made for every relayed message, and a Struct is
    made in C, about four times faster than a NamedTuple (whose ``__new__`` is
    Python); ``gc=False``: it holds no objects that could refer back to it.

    ``error``: the payload is an ``error`` message. The transport budgets the
    error replies a client's frames earn (docs/security.md) by this flag, so it
    never reads a payload's bytes to tell.
    """

    conns: tuple[ConnId, ...]
    payload: bytes
    error: bool = False


class Close(NamedTuple):
    """Close one connection with a WebSocket close code."""

    conn: ConnId
    code: int
    reason: str


class CountCall(NamedTuple):
    """Count one call event in ``/metrics`` (core/callreports.py says which).

    ``event``: ``started``, ``connected``, ``failed`` (``label``: the reason),
    ``first-frame`` (``seconds``: time to first frame) or ``route`` (``label``:
    ``local/remote`` candidate types of the selected pair).
    """

    event: str
    label: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Claim:
    """Claim ``record.name`` cluster-wide, then call ``Lobby.claimed``."""

    conn: ConnId
    record: UserRecord


@dataclass(frozen=True, slots=True)
class Release:
    """Free a claimed name cluster-wide."""

    name: str


@dataclass(frozen=True, slots=True)
class ClaimSeat:
    """Take one of ``cap`` seats of room ``room``'s call (a room key) for ``name``,
    cluster-wide and atomically, then call ``Lobby.seat_claimed``."""

    conn: ConnId
    room: str
    name: str
    cap: int


@dataclass(frozen=True, slots=True)
class ReleaseSeat:
    """Give up ``name``'s seat in room ``room``'s call cluster-wide."""

    room: str
    name: str


@dataclass(frozen=True, slots=True)
class ClaimRoom:
    """Claim room ``room``'s settings (a room key) cluster-wide and atomically, offering
    ``settings``, then call ``Lobby.room_claimed`` with the winning ones."""

    conn: ConnId
    room: str
    settings: RoomSettings


@dataclass(frozen=True, slots=True)
class ReleaseRoom:
    """This node holds room ``room`` no more (it ended here): free its claim when the
    last node lets go."""

    room: str


@dataclass(frozen=True, slots=True)
class UpdateRecord:
    """Store a changed record (busy) in the shared directory."""

    record: UserRecord


@dataclass(frozen=True, slots=True)
class Publish:
    """Tell every other node."""

    event: BusEvent


@dataclass(frozen=True, slots=True)
class Forward:
    """Tell one node."""

    node: str
    event: BusEvent


@dataclass(frozen=True, slots=True)
class HandOver:
    """Give a claimed name to ``record.node`` (its session resumed there)."""

    record: UserRecord


@dataclass(frozen=True, slots=True)
class Adopt:
    """A name handed over to this node is now this node's."""

    record: UserRecord


@dataclass(frozen=True, slots=True)
class StoreChat:
    """Append one public chat line to the history store (never waits)."""

    room: str
    name: str
    date: int  # Unix milliseconds, as relayed
    text: str


@dataclass(frozen=True, slots=True)
class PurgeHistory:
    """Delete every stored line of ``room`` (a history key), after the lines queued before it."""

    room: str


@dataclass(frozen=True, slots=True, eq=False)
class LoadHistory:
    """Read stored lines of ``room``, then call ``Lobby.history_loaded`` with this effect.

    The newest ``limit + 1`` lines older than ``before`` (None: the newest of
    all), oldest first; the extra line only tells whether there are more.
    ``joining`` marks the read made when ``conn`` joined, whose chat lines the
    lobby holds until the answer comes. Compared by identity: each is one read.
    """

    conn: ConnId
    room: str
    before: int | None
    limit: int
    joining: bool


@dataclass(frozen=True, slots=True)
class SfuSignal:
    """Carry out a checked SFU request of participant ``name`` in the call ``room``/``opened``.

    ``kind`` is the request's type (``sfu-publish``, ``sfu-subscribe``,
    ``sfu-answer``, ``sfu-view``); ``description`` the SDP it carried,
    ``views`` the layers it asked for. The SFU link answers through
    ``Lobby.sfu_reply``. ``name`` is the sender's signed-in name: nobody
    publishes or subscribes as someone else.
    """

    room: str  # the room's key
    opened: int  # the call's opening time: a new call in the same room is another SFU room
    name: str
    kind: str
    description: dict[str, str] | None = None
    views: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SfuLeave:
    """``name`` is out of the SFU call (left, dropped or removed): kick it from Janus now."""

    room: str
    opened: int
    name: str


@dataclass(frozen=True, slots=True)
class SfuEnd:
    """The SFU call ended (its last participant left): destroy its Janus room."""

    room: str
    opened: int


@dataclass(frozen=True, slots=True)
class SfuModerate:
    """Janus stops (``mute``) or resumes forwarding ``name``'s ``kind`` stream
    (``audio`` or ``video``, the m-line a screen share also uses) to everyone in
    the call ``room``/``opened``, whatever ``name``'s client does.

    A host's ``mute`` in an SFU call mutes; ``name``'s own ``sfu-unmute`` lifts
    it. The SFU link keeps the state for the whole call, so a re-publish (a
    reload, ``sfu-moved``) stays muted.
    """

    room: str
    opened: int
    name: str
    kind: str
    mute: bool


@dataclass(frozen=True, slots=True)
class SfuRecord:
    """Start (``on``) or stop recording the SFU call ``room``/``opened``.

    ``since`` (Unix ms) and ``by`` name the recording (its folder comes from
    the room and ``since``); ``title`` is the room's name as people see it.
    The SFU link answers a failure through ``Lobby.sfu_recording_failed``.
    """

    room: str
    opened: int
    since: int
    by: str
    on: bool
    title: str = ""


@dataclass(frozen=True, slots=True)
class Moderated:
    """A host's, moderator's or the server's action in ``room``, for the log and observers
    (webhooks): ``action`` as in the ``moderation`` message, ``detail`` its other facts."""

    room: str
    action: str
    by: str
    target: str
    detail: tuple[tuple[str, str], ...] = ()
    #: False on the nodes that carry out another node's order: only the node where
    #: an action happened reports it to observers (one webhook per action).
    here: bool = True


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """Something observers (webhooks) hear of, on the node where it happened.

    ``event``: ``room.started``, ``room.finished``, ``participant.joined``,
    ``participant.left``, ``call.started`` or ``call.ended`` (and
    ``recording.finished``, from a recorder); ``name`` the participant (empty
    for room and call events); ``detail`` more facts for the event's data.
    """

    event: str
    room: str
    name: str = ""
    detail: tuple[tuple[str, str], ...] = ()


Effect = (
    Send
    | Close
    | CountCall
    | StoreChat
    | LoadHistory
    | PurgeHistory
    | Claim
    | Release
    | ClaimSeat
    | ReleaseSeat
    | ClaimRoom
    | ReleaseRoom
    | UpdateRecord
    | Publish
    | Forward
    | HandOver
    | Adopt
    | SfuSignal
    | SfuLeave
    | SfuEnd
    | SfuModerate
    | SfuRecord
    | Moderated
    | RoomEvent
)
