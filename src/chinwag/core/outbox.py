"""Delivery: the effects of one input, and each user's mailbox (no I/O).

:class:`Outbox` collects the effects an input produces, in order, and hands
them over by swapping its list (``drain``). :class:`Mailbox` is one user's
delivery state: the ``seq`` numbering of messages meant for that user alone
and of the public chat lines it is sent ("seq" feature), the ring of recently
sent ones a resume may need again, and the backlog queued while the user is
parked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from .effects import ConnId, Effect, Send
from .protocol import encode, with_seq

__all__ = ["RECENT_BYTES", "RECENT_MESSAGES", "Mailbox", "Outbox"]

#: Numbered messages (targeted ones and chat lines) kept after sending, for a
#: resume to send again what the old socket may have lost before anyone noticed
#: it was dead ("seq" clients only).
RECENT_MESSAGES: Final = 64
RECENT_BYTES: Final = 64 * 1024


class Outbox:
    """The effects of the input being handled, in the order they happened."""

    __slots__ = ("_effects",)

    def __init__(self) -> None:
        self._effects: list[Effect] = []

    def drain(self) -> list[Effect]:
        """Hand over everything collected so far; the caller carries it out."""
        out, self._effects = self._effects, []
        return out

    def emit(self, *effects: Effect) -> None:
        self._effects.extend(effects)

    def send(self, conns: Iterable[ConnId], message: dict[str, Any]) -> None:
        """One message to each of ``conns`` (nothing when there are none)."""
        self.send_payload(conns, encode(message), message.get("type") == "error")

    def send_payload(self, conns: Iterable[ConnId], payload: bytes, error: bool = False) -> None:
        """``payload`` to each of ``conns``; ``error``: it is an ``error`` message."""
        targets = tuple(conns)
        if targets:
            self._effects.append(Send(targets, payload, error))

    def send_each(self, conn: ConnId, payloads: Iterable[bytes]) -> None:
        """Several messages, in order, to one connection."""
        self._effects.extend(Send((conn,), payload) for payload in payloads)


@dataclass(slots=True)
class Mailbox:
    """One user's targeted messages: numbering, the recent ring, the parked backlog."""

    numbered: bool = False  # the client asked for "seq"
    seq: int = 0  # the last ``seq`` given out
    recent: deque[tuple[int, bytes]] = field(default_factory=deque)
    recent_size: int = 0
    backlog: deque[bytes] = field(default_factory=deque)
    backlog_size: int = 0
    dropped: int = 0  # backlog messages dropped, oldest first, since the last resume

    def stamp(self, payload: bytes) -> bytes:
        """Number ``payload`` if the client asked for ``seq``; call once per message."""
        if not self.numbered:
            return payload
        self.seq += 1
        return with_seq(payload, self.seq)

    def sent(self, payload: bytes) -> None:
        """``payload`` was written to the socket: keep it for a resume (bounded)."""
        if not self.numbered:
            return
        self.recent.append((self.seq, payload))
        self.recent_size += len(payload)
        while len(self.recent) > RECENT_MESSAGES or self.recent_size > RECENT_BYTES:
            self.recent_size -= len(self.recent.popleft()[1])

    def queue(self, payload: bytes, max_messages: int, max_bytes: int) -> None:
        """Hold ``payload`` while parked; past the limits the oldest held messages go.

        Dropping the oldest, not ending the session, so that nobody can end
        another user's call by sending it many small messages during a short
        drop; the resume says how many were lost (``dropped``).
        """
        self.backlog.append(payload)
        self.backlog_size += len(payload)
        while len(self.backlog) > max_messages or self.backlog_size > max_bytes:
            self.backlog_size -= len(self.backlog.popleft())
            self.dropped += 1

    def queue_chat(self, payload: bytes, max_messages: int, max_bytes: int) -> None:
        """Hold a chat line while parked, within half the backlog's limits.

        Past that the line is skipped rather than the session ended (chat is
        many lines; the other half stays for targeted messages). Its ``seq``
        was still given out, so a resumed client sees the gap.
        """
        if len(self.backlog) < max_messages // 2 and (
            self.backlog_size + len(payload) <= max_bytes // 2
        ):
            self.backlog.append(payload)
            self.backlog_size += len(payload)

    def missed(self, seq: int) -> list[bytes]:
        """What the client has not received if it last got ``seq``: recent, then queued."""
        return [payload for number, payload in self.recent if number > seq] + list(self.backlog)

    def take_missed(self, seq: int) -> list[bytes]:
        """``missed``, emptying the backlog: the caller sends these now (and says
        how many were ``dropped`` before, then zeroes it)."""
        missed = self.missed(seq)
        self.backlog, self.backlog_size = deque(), 0
        return missed
