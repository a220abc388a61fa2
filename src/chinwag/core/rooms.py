"""Rooms: their names, settings and passwords, and the book of open rooms (no I/O).

Who is *in* a room is the directory's to say (:mod:`~chinwag.core.directory`);
this module holds what a room is besides its people: its name as typed, its
settings (title, public, password) and its call.

A room's call, and its state machine, is :mod:`~chinwag.core.roomcall`'s.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from .errors import ProtocolError
from .events import RoomControl, RoomSettings
from .names import name_key, unsafe_characters
from .roomcall import RoomCall

__all__ = [
    "DEFAULT_ROOM",
    "LOCK_MARK",
    "MAX_ROOM_LENGTH",
    "Room",
    "RoomBook",
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
