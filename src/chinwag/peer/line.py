"""A phone's line: the one call in progress, its named states and how ringing ended.

The rules that move a line from state to state are :class:`~chinwag.peer.phone.Phone`'s
(its module docstring has the table); this module is what they act on: who
the line is with, which way it rang, its state (logged on every change), and
the outcome a :meth:`~chinwag.peer.phone.Phone.dial` waits for.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass, field

from ..client import Event
from ..core.calls import CallState
from .call import Call

__all__ = ["DECLINE_OUTCOMES", "DialOutcome", "Direction", "Line", "first_of"]

logger = logging.getLogger("chinwag.peer.phone")


class Direction(enum.Enum):
    OUTGOING = "outgoing"  # we called
    INCOMING = "incoming"  # we were called


class DialOutcome(enum.Enum):
    """How ringing someone ended."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    BUSY = "busy"
    NO_ANSWER = "no answer"
    NO_SUCH_USER = "no such user"
    HUNG_UP = "hung up"


#: A ``call-decline`` reason that is an outcome of its own (else DECLINED).
DECLINE_OUTCOMES = {"busy": DialOutcome.BUSY}


@dataclass
class Line:
    """The one call in progress: who with, how far, and what it holds."""

    remote: str
    direction: Direction
    state: CallState = CallState.RINGING
    call: Call | None = None
    held: list[Event] = field(default_factory=list)  # a plain offer and its candidates
    prompt: asyncio.Task[None] | None = None
    dialed: asyncio.Future[DialOutcome] | None = None
    rejoining: bool = False  # we asked the partner for a new connection
    renewals: int = 0

    @property
    def outgoing_ringing(self) -> bool:
        return self.state is CallState.RINGING and self.direction is Direction.OUTGOING

    def set_state(self, state: CallState) -> None:
        logger.info(
            "call %s %s: %s -> %s", self.direction.value, self.remote, self.state.value, state.value
        )
        self.state = state

    def resolve(self, outcome: DialOutcome) -> None:
        """Tell a waiting :meth:`~chinwag.peer.phone.Phone.dial` how ringing ended (once)."""
        if self.dialed is not None and not self.dialed.done():
            self.dialed.set_result(outcome)


async def first_of(*events: asyncio.Event) -> None:
    """Wait until any of ``events`` is set."""
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
