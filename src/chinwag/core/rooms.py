"""Rooms and room calls: their settings, passwords and the room-call state machine (no I/O).

Who is *in* a room is the directory's to say (:mod:`~chinwag.core.directory`);
this module holds what a room is besides its people: its name as typed, its
settings (title, public, password) and its call.

A room call (a mesh: everyone connected to everyone) has participants in join
order, each with its ``rollback`` flag, a start time and a cap. Its states:

=========== ========= ===========
state       event     next
=========== ========= ===========
idle        join      active
idle        fill      full
active      join      active
active      fill      full
active      leave     active
active      empty     ended
full        leave     active
full        shed      full
full        empty     ended
full        overflow  full
=========== ========= ===========

The event is named from where it leads: ``join`` leaves seats free, ``fill``
takes the last one, ``leave`` frees one, ``empty`` lets the last participant
go, ``shed`` leaves a call that another node over-filled still full, and
``overflow`` is a seat the cluster granted while this node's view still
counts someone who left on another node (in a cluster, seats are claimed
through the bus, atomically: ``ClaimSeat``). A local ``join`` in ``full`` is
not in the table: refused with ``room-call-full``.
``ended`` is final; the next join opens a new call.

Participants are ordered by (join time, name), so every node that hears of
the same joins lists them in the same order, whatever order the news came in.

A call's *mode* is ``mesh`` (everyone sends to everyone) or ``sfu`` (everyone
publishes once to Janus and receives the others from it). With an SFU
configured (``mesh_max`` set), a join that makes the call larger than
``mesh_max`` moves it to ``sfu``, and it stays there until it ends: a call
that shrinks again keeps its one media path rather than moving twice (each
move costs every participant a renegotiation and a moment of frozen video,
and calls that grew once tend to grow again). The one way back is no SFU
answering at all: a call of ``mesh_max`` or fewer then becomes a mesh again
(``back_to_mesh``). Without an SFU it is always a mesh.
"""

from __future__ import annotations

import enum
import hmac
import logging
import secrets
from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Protocol

from .errors import ProtocolError
from .events import RoomControl, RoomSettings
from .names import name_key, unsafe_characters

__all__ = [
    "DEFAULT_ROOM",
    "LOCK_MARK",
    "MAX_ROOM_LENGTH",
    "TRANSITIONS",
    "CallEvent",
    "CallMode",
    "Participant",
    "Recording",
    "Room",
    "RoomBook",
    "RoomCall",
    "RoomCallState",
    "RoomRefused",
    "clean_room",
    "lock",
    "looser",
    "opens",
    "room_book",
]

log = logging.getLogger(__name__)

DEFAULT_ROOM: Final = ""  # shown as "Lobby"; reference clients live here
MAX_ROOM_LENGTH: Final = 64
MAX_TITLE_LENGTH: Final = 120
#: Separates a locked room's key from its lock in the history store's room id
#: (a control character: no room name can contain it).
LOCK_MARK: Final = "\x1f"


def clean_room(raw: object, for_type: str) -> str:
    """The trimmed room name, or ``bad-room`` saying what is wrong (the username rules, longer)."""
    if not isinstance(raw, str):
        raise ProtocolError("bad-room", "`room` must be a string.", for_type)
    room = raw.strip()
    if len(room) > MAX_ROOM_LENGTH:
        raise ProtocolError(
            "bad-room", f"A room name can be at most {MAX_ROOM_LENGTH} characters.", for_type
        )
    shown = unsafe_characters(room)
    if shown is not None:
        raise ProtocolError(
            "bad-room",
            f"A room name cannot contain control characters or < > & \" '; found: {shown}",
            for_type,
        )
    return room


def lock(password: str, created: int, opener: str, title: str, public: bool) -> RoomSettings:
    """Settings for a new room; ``password`` is kept only as a salted digest."""
    if not password:
        return RoomSettings(title, public, created=created, opener=opener)
    salt = secrets.token_bytes(16)
    return RoomSettings(title, public, salt, _digest(password, salt), created, opener)


def opens(settings: RoomSettings, password: str | None) -> bool:
    """Whether ``password`` opens a room with ``settings`` (compared in constant time)."""
    if not settings.locked:
        return True
    attempt = _digest(password or "", settings.salt)
    return hmac.compare_digest(attempt, settings.digest)


def _digest(password: str, salt: bytes) -> bytes:
    """HMAC-SHA256 keyed by the room's random salt: about a microsecond, on the event loop.

    A slow hash (PBKDF2 took 4.5 ms) froze the server under 60 connections
    opening locked rooms. Cheap is safe here: a room password is a group's
    code, guessed online, and online guesses are budgeted per address
    (:mod:`~chinwag.core.roomguard`); offline guessing needs the digest, which
    only the processes and the cluster's Redis hold, and that Redis also holds
    what the password protects (the room's members and, while it lives, its
    history). Never reuse a personal password as a room password.
    """
    return hmac.new(salt, password.encode(), "sha256").digest()


def looser(ours: RoomSettings, theirs: RoomSettings) -> bool:
    """Whether ``theirs`` should replace ``ours`` as a room's settings everywhere.

    A lock wins over no lock (whoever entered an unlocked twin is re-checked),
    then the earliest opener (``created``, then ``opener``) wins.
    """
    if ours.locked != theirs.locked:
        return theirs.locked
    return (theirs.created, theirs.opener) < (ours.created, ours.opener)


class RoomCallState(enum.Enum):
    IDLE = "idle"
    ACTIVE = "active"
    FULL = "full"
    ENDED = "ended"


class CallEvent(enum.Enum):
    JOIN = "join"
    FILL = "fill"
    LEAVE = "leave"
    SHED = "shed"
    EMPTY = "empty"
    OVERFLOW = "overflow"


_S = RoomCallState
_E = CallEvent
TRANSITIONS: Final[dict[tuple[RoomCallState, CallEvent], RoomCallState]] = {
    (_S.IDLE, _E.JOIN): _S.ACTIVE,
    (_S.IDLE, _E.FILL): _S.FULL,
    (_S.ACTIVE, _E.JOIN): _S.ACTIVE,
    (_S.ACTIVE, _E.FILL): _S.FULL,
    (_S.ACTIVE, _E.LEAVE): _S.ACTIVE,
    (_S.ACTIVE, _E.EMPTY): _S.ENDED,
    (_S.FULL, _E.LEAVE): _S.ACTIVE,
    (_S.FULL, _E.SHED): _S.FULL,
    (_S.FULL, _E.EMPTY): _S.ENDED,
    (_S.FULL, _E.OVERFLOW): _S.FULL,
}


class CallMode(enum.Enum):
    MESH = "mesh"
    SFU = "sfu"


class RoomRefused(Exception):
    """An illegal move of a room call: nothing changed. ``code`` is the error code to send."""

    def __init__(self, code: str, why: str) -> None:
        super().__init__(why)
        self.code = code
        self.why = why


class Recording(NamedTuple):
    """An SFU call being recorded: since when (Unix ms) and who started it."""

    since: int
    by: str


class Participant(NamedTuple):
    since: int  # Unix ms when it joined; first in the sort order
    name: str
    rollback: bool


@dataclass(slots=True, eq=False)
class RoomCall:
    """One room's call: participants in join order, and its state."""

    cap: int
    mesh_max: int | None = None  # the largest mesh; None: no SFU, always a mesh
    state: RoomCallState = _S.IDLE
    mode: CallMode = CallMode.MESH
    participants: list[Participant] = field(default_factory=list)
    #: The earliest join time this call has seen: with the room, it names the call on
    #: the SFU. Every node converges on it (joins racing on two nodes are ordered by
    #: time), and it stays when the first participant leaves.
    opened: int = 0
    #: Set while the call is recorded (an SFU call only; core/recording.py decides).
    recording: Recording | None = None
    #: This node's participants who have someone to negotiate with and have sent no
    #: ``room-signal`` since (monotonic time since when); see ``RoomDesk.release_idle``.
    owes: dict[str, float] = field(default_factory=dict)

    def newcomer(self, name: str, local: Iterable[str], now: float) -> None:
        """``name`` took a seat: every local participant now has someone to signal to."""
        for other in local:
            if other != name or len(self.participants) > 1:
                self.owes.setdefault(other, now)

    def signalled(self, name: str) -> None:
        self.owes.pop(name, None)

    @property
    def started(self) -> int | None:
        return self.participants[0].since if self.participants else None

    def has(self, name: str) -> bool:
        return any(p.name == name for p in self.participants)

    def names(self) -> list[str]:
        return [p.name for p in self.participants]

    def join(self, participant: Participant, *, seated_elsewhere: bool = False) -> None:
        """Seat ``participant``; ``seated_elsewhere`` when another node already seated it.

        Raises RoomRefused (``room-call-full``) when a local join finds no seat.
        """
        count = len(self.participants) + 1
        if count < self.cap:
            event = _E.JOIN
        elif self.state is _S.FULL and seated_elsewhere:
            event = _E.OVERFLOW
        else:
            event = _E.FILL
        self._move(event, f"{participant.name} joins")
        if not self.participants or participant.since < self.opened:
            self.opened = participant.since
        insort(self.participants, participant)
        if self.mode is CallMode.MESH and self.mesh_max is not None and count > self.mesh_max:
            log.info("room call: %d people, over the mesh's %d: mesh -> sfu", count, self.mesh_max)
            self.mode = CallMode.SFU

    def back_to_mesh(self) -> bool:
        """No SFU answers: an SFU call of ``mesh_max`` or fewer becomes a mesh again (the
        caller has ended its recording, which was the SFU's); whether it did."""
        small = self.mesh_max is not None and len(self.participants) <= self.mesh_max
        if self.mode is not CallMode.SFU or not small or self.recording is not None:
            return False
        log.info("room call: no SFU, %d people: sfu -> mesh", len(self.participants))
        self.mode = CallMode.MESH
        return True

    def leave(self, name: str) -> None:
        """Unseat ``name``; raises RoomRefused (``not-in-call``) if it has no seat."""
        if not self.has(name):
            raise RoomRefused("not-in-call", f"{name} is not in this room's call")
        count = len(self.participants) - 1
        event = _E.EMPTY if count == 0 else _E.SHED if count >= self.cap else _E.LEAVE
        self._move(event, f"{name} leaves")
        self.participants = [p for p in self.participants if p.name != name]
        self.owes.pop(name, None)

    def as_message(self, room: str) -> dict[str, Any]:
        """The ``room-call`` message (``participants`` empty and ``started`` null: ended).

        ``mode`` is there only for an SFU call: a mesh's message is as before SFUs existed.
        """
        message: dict[str, Any] = {
            "type": "room-call",
            "room": room,
            "started": self.started,
            "participants": [{"name": p.name, "rollback": p.rollback} for p in self.participants],
        }
        if self.mode is CallMode.SFU:
            message["mode"] = self.mode.value
            since_by = self.recording
            message["recording"] = since_by._asdict() if since_by is not None else None
        return message

    def check(self) -> None:
        names = self.names()
        assert len(set(names)) == len(names), names
        assert self.participants == sorted(self.participants), self.participants
        assert (self.state is _S.FULL) == (len(names) >= self.cap) or self.state is _S.ENDED
        assert (self.state in (_S.IDLE, _S.ENDED)) == (not names), (self.state, names)
        assert self.mode is CallMode.MESH or self.mesh_max is not None, self
        # Only an SFU call is recorded, and only while whoever started it is in it.
        assert self.recording is None or (
            self.mode is CallMode.SFU and self.recording.by in names
        ), self

    def _move(self, event: CallEvent, what: str) -> None:
        after = TRANSITIONS.get((self.state, event))
        if after is None:
            log.info("room call: %s refused in state %s (%s)", what, self.state.value, event.value)
            raise RoomRefused("room-call-full", f"the call is full ({self.cap} people)")
        log.debug("room call: %s: %s -> %s", what, self.state.value, after.value)
        self.state = after


@dataclass(slots=True, eq=False)
class Room:
    """A room that exists (someone is in it), or one the operator configured."""

    name: str  # as its opener (or the config) typed it
    settings: RoomSettings
    configured: bool = False
    call: RoomCall | None = None
    #: Roles, entry, bans, hands (core/moderation.py); None: a room nobody hosts.
    control: RoomControl | None = None
    hosts: frozenset[str] = frozenset()  # name keys of the hosts the operator named

    @property
    def key(self) -> str:
        return name_key(self.name)

    @property
    def history_key(self) -> str:
        """Where this room's chat is stored: a locked room's lines belong to its lock.

        A room someone opened with a password stores under its key and its
        lock's salt, so whoever opens the same name later (with or without a
        password) never reads them, even after a restart; they are also purged
        when the room ends. The operator's rooms keep one history.
        """
        if self.settings.locked and not self.configured:
            return f"{self.key}{LOCK_MARK}{self.settings.salt.hex()}"
        return self.key

    def describe(self) -> dict[str, Any]:
        """ROOM: what a member is told on joining (``call`` is the ``room-call`` body or null)."""
        call = self.call.as_message(self.name) if self.call is not None else None
        if call is not None:
            del call["type"]
        return {
            "room": self.name,
            "title": self.settings.title,
            "public": self.settings.public,
            "locked": self.settings.locked,
            "call": call,
        }

    def adopt(self, settings: RoomSettings | None) -> bool:
        """Another node's view of this room's settings (see :func:`looser`); True if taken,
        when whoever is inside must be checked against the new lock."""
        if settings is None or self.configured or settings == self.settings:
            return False
        if looser(self.settings, settings):
            self.settings = settings
            return True
        return False

    def seats(self, cap: int, mesh_max: int | None = None) -> RoomCall:
        """The room's call, opened (idle) if there is none; ``mesh_max`` as in :class:`RoomCall`."""
        if self.call is None:
            self.call = RoomCall(cap, mesh_max)
        return self.call

    def close_ended_call(self) -> None:
        if self.call is not None and not self.call.participants:
            self.call = None


class RoomBook:
    """The rooms that exist on this node's view of the cluster, and the configured ones.

    Invariants (``check``, given the directory's rooms): the live rooms are
    exactly the rooms someone is in; every room-call participant is in that
    room; a call with no participants is gone.
    """

    def __init__(self, configured: Iterable[Room] = (), restricted: bool = False) -> None:
        self.configured = {room.key: room for room in configured}
        self.restricted = restricted
        self._live: dict[str, Room] = {}
        self.version = 0  # counts rooms opening and closing (the public list's cache key)

    def get(self, key: str) -> Room | None:
        """A room someone is in."""
        return self._live.get(key)

    def find(self, key: str) -> Room | None:
        """A room someone is in, or a configured one nobody is in yet."""
        return self._live.get(key) or self.configured.get(key)

    def live(self) -> list[Room]:
        return list(self._live.values())

    def open(self, room: Room) -> Room:
        """``room`` has its first member now."""
        assert room.key not in self._live, room
        self._live[room.key] = room
        self.version += 1
        return room

    def ensure(self, name: str, settings: RoomSettings | None) -> tuple[Room, bool]:
        """The live room named ``name``, opened from another node's record if new here;
        and whether its settings just changed to a stricter or earlier opener's."""
        key = name_key(name)
        room = self._live.get(key)
        if room is None:
            room = self.configured.get(key) or Room(name, settings or RoomSettings())
            return self.open(room), False
        return room, room.adopt(settings)

    def history_key(self, key: str) -> str:
        """Where the chat of room ``key`` is stored (see :attr:`Room.history_key`)."""
        room = self._live.get(key)
        return room.history_key if room is not None else key

    def vacate(self, key: str) -> Room | None:
        """Nobody is in room ``key`` any more: it is gone (a configured one waits, call-less)."""
        room = self._live.pop(key, None)
        if room is not None:
            room.call = None
            room.control = None  # bans and roles last as long as the room
            self.version += 1
        return room

    def check(self, occupied: Iterable[str], members: dict[str, dict[str, None]]) -> None:
        assert set(self._live) == set(occupied), (set(self._live), set(occupied))
        for key, room in self._live.items():
            assert room.key == key, (room, key)
            if room.call is not None:
                room.call.check()
                assert room.call.participants, room
                assert set(room.call.names()) <= set(members[key]), (room.call, members[key])


class RoomEntry(Protocol):
    """A room the operator set up (``config.RoomConfig``), name already checked."""

    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def public(self) -> bool: ...
    @property
    def hosts(self) -> tuple[str, ...]: ...


def room_book(
    entries: Iterable[RoomEntry], restricted: bool, lobby_hosts: Iterable[str] = ()
) -> RoomBook:
    """The book of a node whose operator configured ``entries`` (all nodes alike).

    ``lobby_hosts`` names hosts of the default room, which otherwise has none.
    """
    rooms = [
        Room(
            e.name,
            lock(e.password, 0, "", e.title, e.public),
            configured=True,
            hosts=frozenset(name_key(host) for host in e.hosts),
        )
        for e in entries
    ]
    hosts = frozenset(name_key(host) for host in lobby_hosts)
    if hosts:
        rooms.append(Room(DEFAULT_ROOM, RoomSettings(), configured=True, hosts=hosts))
    return RoomBook(rooms, restricted)
