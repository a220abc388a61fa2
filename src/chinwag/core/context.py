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
    #: Frames held per connection while its sign-in or resume waits on the cluster.
    held_frames: int = 64
    held_bytes: int = 256 * 1024
    #: A message with no ``target`` goes to everyone: small, and limited in bytes
    #: times recipients per second (signaling broadcasts are small and rare).
    broadcast_max_bytes: int = 4096
    broadcast_rate: Rate = Rate(1024 * 1024, 4 * 1024 * 1024)
    room_call_max: int = 8
    #: The largest room call kept as a mesh when an SFU is configured; None: no SFU.
    mesh_max: int | None = None
    #: Whether people in an SFU call may record it (``--recordings``).
    recordings: bool = False


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
