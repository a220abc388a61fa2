"""One room call: its participants, its mode and its state machine (no I/O).

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
and calls that grew once tend to grow again). Without an SFU it is always a mesh.
"""

from __future__ import annotations

import enum
import logging
from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

__all__ = [
    "TRANSITIONS",
    "CallEvent",
    "CallMode",
    "Participant",
    "Recording",
    "RoomCall",
    "RoomCallState",
    "RoomRefused",
]

log = logging.getLogger(__name__)


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
    #: ``room-signal`` since (monotonic time since when); see ``CallDesk.release_idle``.
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
