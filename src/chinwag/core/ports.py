"""What the lobby's parts ask of each other and of the server, as narrow protocols (no I/O).

A desk names here the few calls it makes on another desk, never that desk's
class: the lobby (the composition root) builds the desks and hands each the
ones it needs, and mypy checks that they fit. This module imports only leaf
modules (records, rooms, members, the gate), so every desk may import it
without closing an import circle.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from .effects import ConnId
from .events import HostOrder, RoomSettings, UserRecord
from .gate import Gate
from .members import Frame, Member, Pass, SignInRoom
from .protocol import SignIn
from .rooms import Room

__all__ = [
    "Authenticator",
    "CallEnding",
    "CallNews",
    "CallSeats",
    "Hangups",
    "IceProvider",
    "JoiningHistory",
    "Mail",
    "Orders",
    "Placement",
    "RoomEntrance",
    "RoomMover",
    "RoomOffers",
    "SignInHistory",
    "SignInSteps",
    "Welcome",
    "WelcomeBack",
]


# -- the server's, handed to the lobby -------------------------------------------------


class Authenticator(Protocol):
    def check(self, name: str, credential: str | None, now: float) -> float | None:
        """The expiry of a signed token that lets ``name`` sign in, None for a password;
        raise ProtocolError if ``credential`` does not."""


class IceProvider(Protocol):
    @property
    def relays(self) -> bool:
        """Whether it hands out TURN relays."""

    def for_user(self, name: str, now: float, turn: bool = True) -> dict[str, Any]:
        """The ``ice-servers`` message for ``name``; ``expires`` is Unix time or None;
        without TURN credentials when ``turn`` is False."""


# -- the router's (core/routing.py) ------------------------------------------------------


class Hangups(Protocol):
    def end_calls_of(self, name: str) -> None:
        """Hang up ``name``'s one-to-one calls with this node's users."""


class Mail(Protocol):
    def to_member(self, member: Member, payload: bytes, error: bool = False) -> None:
        """Deliver a message meant for ``member`` alone (queued while it is parked)."""


# -- the room desk's (core/roomdesk.py) -------------------------------------------------


class RoomOffers(Protocol):
    """Claiming a new room's settings through the cluster (core/roomclaims.py)."""

    def offer(
        self, conn: ConnId, name: str, password: str | None, opener: str, title: str, public: bool
    ) -> RoomSettings | None: ...


class RoomEntrance(Protocol):
    """Entering a room at sign-in: checked first, then settled."""

    gate: Gate

    @property
    def claims(self) -> RoomOffers:
        """Where a room this sign-in opens is claimed through the cluster first."""

    def admit(
        self, member: Member, name: str, password: str | None, for_type: str, invited: bool = False
    ) -> Room | None: ...

    def settle(
        self,
        member: Member,
        name: str,
        found: Room | None,
        password: str | None,
        opener: str,
        public: bool = False,
        title: str = "",
        wait: bool = False,
        claimed: RoomSettings | None = None,
    ) -> bool: ...

    def claimed_settings(
        self,
        member: Member,
        name: str,
        offered: RoomSettings,
        won: RoomSettings | None,
        password: str | None,
        invited: bool,
        for_type: str,
    ) -> RoomSettings: ...

    def gone(self, name: str, key: str, local: bool = True) -> None: ...


class Placement(Protocol):
    """Where users of a session moved between nodes, or of another node, are."""

    def gone(self, name: str, key: str, local: bool = True) -> None: ...

    def restore(self, member: Member, record: UserRecord) -> None: ...

    def restored(self, record: UserRecord) -> None: ...

    def remote_placed(self, record: UserRecord, old: str | None) -> None: ...


class RoomMover(Protocol):
    def move(
        self,
        member: Member,
        name: str,
        found: Room | None,
        allowed: Pass,
        password: str | None = None,
        public: bool = False,
        title: str = "",
    ) -> None: ...


# -- the call desk's (core/calldesk.py) -------------------------------------------------


class CallNews(Protocol):
    def call_changed(self, room: Room, name: str | None) -> None: ...

    def tell_room(self, room: Room, message: dict[str, Any]) -> None: ...


class CallSeats(Protocol):
    """What the room desk asks of room calls when people move."""

    def leave_call(self, name: str, key: str, here: bool = True) -> bool: ...

    def follow_record(self, room: Room, record: UserRecord) -> None: ...


class CallEnding(Protocol):
    def end_call(self, key: str) -> None: ...


# -- chat history's (core/chat_history.py) ----------------------------------------------


class JoiningHistory(Protocol):
    def joined(self, member: Member) -> None:
        """``member`` joined its room: read its last lines, holding live chat until then."""


class SignInHistory(JoiningHistory, Protocol):
    def offered(self, features: frozenset[str]) -> frozenset[str]: ...


# -- the greeter's (core/greeting.py) ----------------------------------------------------


class Welcome(Protocol):
    def welcome(self, member: Member, resumed: bool) -> None: ...


class WelcomeBack(Protocol):
    def welcome_back(self, member: Member, missed: Iterable[bytes]) -> None: ...

    def refresh_ice(self, now: float) -> None: ...


# -- the host desk's (core/hostdesk.py) --------------------------------------------------


class Orders(Protocol):
    def order(self, order: HostOrder) -> None:
        """Carry out ``order`` here and on every other node."""


# -- sign-in's (core/signin.py), for the hand-over desk ----------------------------------


class SignInSteps(Protocol):
    def new_member(self, conn: ConnId, address: str = "") -> Member: ...

    def sign_in(
        self, member: Member, request: SignIn, notice: dict[str, Any] | None = None
    ) -> None: ...

    def claim(self, member: Member, name: str) -> None: ...

    def complete_sign_in(
        self,
        member: Member,
        request: SignIn,
        name: str,
        notice: dict[str, Any] | None,
        entry: SignInRoom,
        expires: float | None = None,
    ) -> None: ...

    def end_older_session(self, older: Member, handed_to: UserRecord | None = None) -> None: ...

    def token(self) -> str: ...

    def release_held(self, member: Member, held: list[Frame]) -> None: ...

    def leave(self, member: Member) -> None: ...
