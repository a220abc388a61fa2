"""What the parts of the lobby share: its policy, node, state and clocks (no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .calls import CallBook
from .directory import Directory
from .limits import Rate
from .outbox import Outbox
from .presence import RoomPresence
from .rooms import RoomBook

__all__ = ["Context", "Policy"]


@dataclass(frozen=True, slots=True)
class Policy:
    """Limits and timings of the lobby (built from Settings by the server)."""

    chat_rate: Rate = Rate(5.0, 20.0)
    signal_rate: Rate = Rate(200.0, 1000.0)
    resume_grace: float = 30.0
    backlog_messages: int = 256
    backlog_bytes: int = 256 * 1024
    ring_timeout: float = 30.0
    history: bool = False  # public chat lines are stored and sent on joining
    history_lines: int = 50  # lines sent on joining
    #: Chat lines stored per client address (more are relayed, not stored).
    history_per_address: Rate = Rate(2.0, 120.0)
    #: Frames held per connection while its sign-in or resume waits on the cluster.
    held_frames: int = 64
    held_bytes: int = 256 * 1024
    #: A message with no ``target`` goes to everyone: small, and limited in bytes
    #: times recipients per second (signaling broadcasts are small and rare).
    broadcast_max_bytes: int = 4096
    broadcast_rate: Rate = Rate(1024 * 1024, 4 * 1024 * 1024)
    #: Bytes of targeted messages (relays, direct messages) one sender may send, and one
    #: receiver may be sent by everyone together: a receiver reading at 256 KiB/s is never
    #: pushed over its send buffer by what others send it; senders past either are told
    #: ``rate-limited`` (naming the target when it is the receiver that is full).
    targeted_rate: Rate = Rate(128 * 1024, 512 * 1024)
    inbound_rate: Rate = Rate(256 * 1024, 512 * 1024)
    room_call_max: int = 8
    #: Largest file clients may send each other (told at sign-in; the bytes go peer to peer).
    file_max_bytes: int = 100 * 1024 * 1024
    #: The largest room call kept as a mesh when an SFU is configured; None: no SFU.
    mesh_max: int | None = None
    #: Whether people in an SFU call may record it (``--recordings``).
    recordings: bool = False
    #: Seconds a seat holder with someone to connect to may send no room-signal (then the
    #: seat is released: a silent bot cannot hold a seat; a browser negotiates in seconds).
    room_call_idle: float = 30.0
    room_call_per_address: int = 6  # seats one client address may hold in one call
    #: TURN credentials issued per client address (sign-ins, refreshes, /api/ice-servers):
    #: 20 at once, then one every 20 s; past it a client gets STUN only and asks again later.
    turn_per_address: Rate = Rate(0.05, 20.0)
    turn_signed_in_only: bool = False  # TURN only to sessions that gave a credential


@dataclass(frozen=True, slots=True)
class Context:
    """One node's shared state, handed to each part of the lobby.

    ``clock`` is wall time (chat dates, credential expiry); ``monotonic``
    measures durations (rates, grace periods).
    """

    policy: Policy
    node: str | None
    directory: Directory
    calls: CallBook
    outbox: Outbox
    presence: RoomPresence
    rooms: RoomBook
    clock: Callable[[], float]
    monotonic: Callable[[], float]
