"""The records of one user of this node, shared by every desk (no I/O).

A :class:`Member` is one socket's user (signing in, connected or parked);
:class:`Pending` is its sign-in while it waits on the cluster, and
:class:`SignInRoom` the room that sign-in goes to. They live apart from the
desks that change them (:mod:`~chinwag.core.directory`,
:mod:`~chinwag.core.signin`, :mod:`~chinwag.core.handover`) so that every desk
can name them without importing another desk.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from .effects import ConnId, LoadHistory
from .events import RoomSettings
from .invites import Invite
from .limits import TokenBucket
from .outbox import Mailbox
from .protocol import SignIn
from .rooms import DEFAULT_ROOM, Room

__all__ = [
    "NO_CONN",
    "RESUME_WAIT",
    "Frame",
    "HistoryWait",
    "Member",
    "MemberState",
    "Pass",
    "Pending",
    "SignInRoom",
]

Frame = str | bytes

#: Seconds a sign-in waits for another node's session (a resume, a take-over) before it
#: goes on without it.
RESUME_WAIT: Final = 3.0

NO_CONN: Final[ConnId] = -1  # ``Member.conn`` of a session handed over with no socket


class MemberState(enum.Enum):
    SIGNING_IN = "signing-in"  # a socket, no name yet (maybe waiting on the cluster)
    CONNECTED = "connected"  # signed in, with a socket
    PARKED = "parked"  # signed in, socket lost; may resume until ``parked_until``


@dataclass(slots=True)
class HistoryWait:
    """Chat lines held for a member until the history it is sent on joining is read."""

    load: LoadHistory
    held: list[bytes] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Member:
    """One user of this node. ``conn`` is its socket unless ``PARKED``."""

    conn: ConnId
    chat_bucket: TokenBucket
    signal_bucket: TokenBucket
    broadcast_bucket: TokenBucket
    address: str = ""  # the client's address (per-address limits)
    state: MemberState = MemberState.SIGNING_IN
    name: str | None = None
    features: frozenset[str] = frozenset()
    token: str | None = None
    parked_until: float = 0.0
    mailbox: Mailbox = field(default_factory=Mailbox)
    pending: Pending | None = None  # a sign-in waiting on the cluster
    room: str = ""  # the key of the room it is in (or will be, while signing in)
    room_password: str | None = None  # what it entered its room with (checked again if
    # another node's stricter lock on the same room wins); kept in this process only
    ice_refresh_at: float | None = None
    warned_at: float = -1.0
    history_wait: HistoryWait | None = None  # joined; its history is being read
    expires: float | None = None  # Unix time its sign-in token stops working
    credentialed: bool = False  # signed in with a password or token (may get TURN)
    targeted_bytes: TokenBucket | None = None  # bytes it sent with a `target`
    inbound_bytes: TokenBucket | None = None  # bytes sent to it with a `target`, by anyone
    grants: dict[str, str] = field(default_factory=dict)  # room key -> role its token grants
    reactions: TokenBucket | None = None  # reactions sent (core/hostdesk.py)

    @property
    def connected(self) -> bool:
        return self.state is MemberState.CONNECTED


class Pass(NamedTuple):
    """What the gate decided about one entry: the invite shown, and whether to knock."""

    invite: Invite | None = None
    wait: bool = False  # into the waiting room until a host or moderator admits


@dataclass(slots=True)
class SignInRoom:
    """The room a new sign-in goes to, as the room desk allowed it."""

    name: str = DEFAULT_ROOM
    found: Room | None = None  # None: the sign-in opens it
    password: str | None = None
    allowed: Pass = field(default_factory=Pass)  # the gate's word: an invite, a knock
    claimed: RoomSettings | None = None  # a new room's settings, as the cluster agreed


@dataclass(slots=True)
class Pending:
    """A sign-in waiting for the cluster: a name claim, or another node's session."""

    request: SignIn
    name: str
    number: int
    notice: dict[str, Any] | None
    held: list[Frame] = field(default_factory=list)  # frames that came meanwhile
    held_size: int = 0
    resume_until: float | None = None  # waiting for another node to hand a session over
    expires: float | None = None  # a signed token's expiry: the name is never numbered
    warned: bool = False  # told that held frames were dropped
    taking_over: bool = False  # a token's name: its holder's node was asked to give it up
    entry: SignInRoom = field(default_factory=SignInRoom)  # the room it goes to
    opening: RoomSettings | None = None  # name claimed; the new room's claim offered these

    def hold(self, data: Frame, max_frames: int, max_bytes: int) -> bool:
        """Keep ``data`` for when the wait ends; False (dropped) past the limits."""
        if len(self.held) >= max_frames or self.held_size + len(data) > max_bytes:
            return False
        self.held.append(data)
        self.held_size += len(data)
        return True
