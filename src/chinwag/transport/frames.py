"""WebSocket frames from clients: what each costs, and where it goes.

:meth:`Frames.on_frame` takes every frame a connection reads, in order:

1. Every frame, valid or not, data or control, first spends from the
   connection's :class:`~chinwag.core.limits.FrameBudget`; over it, the frame
   is dropped unread and counts as a violation.
2. A framing violation fails the connection (its close code, at once).
3. A text frame goes to the lobby. Error replies in the lobby's answer spend
   from the error-reply budget (over it they are not sent) and count as
   violations. (Failed credentials are limited per address by the core's
   sessions, :class:`~chinwag.core.limits.FailureBackoff`.)
4. Too many violations close the connection with POLICY_VIOLATION (1008).
5. A sign-in that now waits on the cluster holds the connection unread until
   the cluster answers (``ClusterLink.waiting``).

Pings are answered through the connection's one write path, so a ping flood
from a client that never reads stops being read like any other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from ..cluster.link import ClusterLink
from ..core.closecodes import CloseCode
from ..core.effects import ConnId, Effect, Send
from ..core.errors import ProtocolError
from ..core.lobby import Lobby
from ..metrics import Metrics
from .connection import Connection, Hold
from .websocket import BINARY, CLOSE, PING, PONG, TEXT, Message, Violation, encode_frame
from .writer import Batcher

__all__ = ["Frames"]

_log = logging.getLogger("chinwag.transport.frames")


class Frames:
    """Handles the frames of every connection of one server; see the module docstring."""

    def __init__(
        self,
        lobby: Lobby,
        apply: Callable[[Iterable[Effect]], None],
        batcher: Batcher,
        metrics: Metrics,
        cluster: ClusterLink | None,
    ) -> None:
        self.lobby = lobby
        self.metrics = metrics
        # Looked up once: on_frame runs for every frame of every client.
        self._batcher = batcher
        self._receive = lobby.receive
        self._apply = apply
        self._cluster = cluster

    def on_frame(self, connection: Connection, event: Message | Violation) -> None:
        """One frame from a WebSocket: budget first, then by opcode."""
        if not connection.sending:  # CLOSING: only the client's close still matters
            if isinstance(event, Message) and event.opcode == CLOSE:
                connection.close_received(event.payload)
            return
        now = self._batcher.frame_time or time.perf_counter()
        budget = connection.budget
        assert budget is not None
        if not budget.frame(now):  # dropped unparsed
            self.metrics.frames_over_budget += 1
            self._violation(connection, now)
            return
        if not isinstance(event, Message):
            self._protocol_violation(connection, event)
            return
        opcode = event.opcode
        if opcode == TEXT:
            self._text(connection, event, now)
        elif opcode == BINARY:
            error = ProtocolError("binary-frame", "Binary frames are not accepted; send JSON text.")
            self._reject(connection, error, now)
        elif opcode == PING:
            connection.write(encode_frame(PONG, event.payload))
        elif opcode == CLOSE:
            connection.close_received(event.payload)

    def _text(self, connection: Connection, event: Message, now: float) -> None:
        self.metrics.frames_received += 1
        conn = connection.conn
        effects = self._receive(conn, event.payload)
        for effect in effects:  # an error reply? (rare: then the slow path)
            if effect.__class__ is Send and effect.error:
                self._answer(connection, effects, now)
                break
        else:
            self._apply(effects)
        cluster = self._cluster
        if cluster is not None and conn in cluster.waiting:
            connection.hold(Hold.CLUSTER)  # read nothing more until the cluster answers

    def _answer(self, connection: Connection, effects: list[Effect], now: float) -> None:
        """Apply the lobby's answer to a frame, budgeting the error replies in it."""
        conn = connection.conn
        kept: list[Effect] = []
        violated = False
        for effect in effects:
            if effect.__class__ is Send and _is_error_to(effect, conn):
                violated = violated or not connection.budget.violation(now)  # type: ignore[union-attr]
                if not connection.budget.error_reply(now):  # type: ignore[union-attr]
                    self.metrics.error_replies_suppressed += 1
                    continue
            kept.append(effect)
        self._apply(kept)
        if violated:
            self._policy_close(connection)

    def _reject(self, connection: Connection, error: ProtocolError, now: float) -> None:
        """A fault the transport found: an error reply (budgeted) and a violation."""
        self.metrics.transport_errors[error.code] += 1
        self._answer(connection, self.lobby.reject(connection.conn, error), now)

    def _violation(self, connection: Connection, now: float) -> None:
        budget = connection.budget
        assert budget is not None
        if not budget.violation(now):
            self._policy_close(connection)

    def _policy_close(self, connection: Connection) -> None:
        _log.info("conn %d closed: too many bad or excess frames", connection.conn)
        self.metrics.policy_closed += 1
        connection.fail(CloseCode.POLICY_VIOLATION, "too many bad or excess frames")

    def _protocol_violation(self, connection: Connection, violation: Violation) -> None:
        _log.info("conn %d failed: %s (%d)", connection.conn, violation.reason, violation.code)
        if violation.code is CloseCode.MESSAGE_TOO_BIG:
            reason = violation.reason
            error = ProtocolError("frame-too-large", reason[:1].upper() + reason[1:] + "; closing.")
            self.metrics.transport_errors[error.code] += 1
            self._apply(self.lobby.reject(connection.conn, error))
        connection.fail(violation.code, violation.reason)


def _is_error_to(effect: Send, conn: ConnId) -> bool:
    return effect.error and effect.conns == (conn,)
