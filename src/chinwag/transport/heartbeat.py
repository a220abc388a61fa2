"""Pings that find dead WebSockets: each is pinged once per ``heartbeat`` seconds,
and dropped after ``heartbeat_misses`` rounds without an answer.

A round is spread over its interval in :data:`HEARTBEAT_SLICES` ticks: pinging
10,000 sockets in one callback stalls every delivery for ~0.1 s
(docs/performance.md, "Rooms").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final

from ..core.effects import ConnId
from ..metrics import Metrics
from .connection import Connection, Hold
from .websocket import PING, encode_frame

__all__ = ["HEARTBEAT_SLICES", "Heartbeat"]

log = logging.getLogger("chinwag.transport.heartbeat")

HEARTBEAT_SLICES: Final = 10


class Heartbeat:
    """Pings one slice of the WebSockets per :meth:`tick`; the owner ticks it
    every ``heartbeat / HEARTBEAT_SLICES`` seconds."""

    def __init__(
        self,
        websockets: Mapping[ConnId, Connection],
        misses: int,
        name_of: Callable[[ConnId], str | None],
        metrics: Metrics,
    ) -> None:
        self._websockets = websockets
        self._misses = misses
        self._name_of = name_of  # for the log line of a drop
        self._metrics = metrics
        self._slice = 0  # which slice of the sockets the next tick pings

    def tick(self) -> None:
        """Ping one slice of the WebSockets; drop those silent for ``misses`` rounds.

        A socket's slice is its id modulo ``HEARTBEAT_SLICES`` and one slice is
        pinged per tick, so each socket is still pinged once per ``heartbeat``.
        """
        part = self._slice
        self._slice = (part + 1) % HEARTBEAT_SLICES
        ping = encode_frame(PING, b"")
        for connection in list(self._websockets.values()):
            if connection.conn % HEARTBEAT_SLICES != part:
                continue
            if connection.holds & Hold.CLUSTER:
                continue  # we are not reading it: its silence is ours
            if connection.missed_pings >= self._misses:
                log.info(
                    "conn %d (%s) dropped: no answer to %d pings",
                    connection.conn,
                    self._name_of(connection.conn),
                    connection.missed_pings,
                )
                self._metrics.heartbeat_dropped += 1
                connection.abort()
                continue
            connection.missed_pings += 1
            connection.write(ping)
