"""Who may hold a TCP connection: counted from ``accept``, per address and in total.

The :class:`Gate` answers the server's admission questions (a new socket, an
upgrade, a trusted proxy naming the client) and keeps the counts.

Every TCP connection counts from the moment it is accepted, before it has sent
a byte and whatever it becomes (HTTP, WebSocket, a TLS handshake that never
ends): idle sockets cannot exhaust the file descriptors. At start-up the
open-file soft limit is raised to the hard limit and ``max_connections`` is
checked against it. If descriptors still run out (other files, other
processes), asyncio stops accepting for a second at a time; this module makes
that one log line per episode instead of one per attempt.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from ..config import Settings
from ..core.auth import origin_allowed
from ..core.lobby import Lobby
from .connection import Connection
from .proxy import TrustedProxies

__all__ = ["AcceptErrors", "ConnectionCounts", "Gate", "open_file_limit", "usable_connections"]

log = logging.getLogger("chinwag.transport.admission")

#: Descriptors kept for everything that is not a client (listening sockets,
#: Redis, log files, the web files, the STUN socket).
RESERVED_DESCRIPTORS: Final = 64
#: Refused connections given a moment to read why, at most; beyond, they are reset.
MAX_LINGERING_REFUSALS: Final = 256


class ConnectionCounts:
    """Open TCP connections in total and by client address."""

    def __init__(self, max_total: int, max_per_address: int) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.total = 0
        self.by_address: Counter[str] = Counter()

    def admit(
        self, address: str, parked: int = 0, parked_here: int = 0, per_address: bool = True
    ) -> tuple[int, str] | None:
        """Count a new connection, or return ``(HTTP status, reason)`` refusing it.

        ``parked`` sessions in total and ``parked_here`` from ``address`` count
        too: a session kept for resume holds memory as a socket does. A trusted
        proxy's connections are not limited by its own address
        (``per_address=False``): each is counted again under its client's
        address once the proxy says who that is.
        """
        if self.total + parked >= self.max_total:
            return 503, "server full"
        if per_address and self.by_address[address] + parked_here >= self.max_per_address:
            return 429, "too many connections from your address"
        self.total += 1
        self.by_address[address] += 1
        return None

    def release(self, address: str) -> None:
        """A counted connection closed."""
        self.total -= 1
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]


class Gate:
    """Whether a connection, or its WebSocket upgrade, is let in; counted where its client is."""

    def __init__(self, settings: Settings, lobby: Lobby, refused: Counter[str]) -> None:
        self.settings = settings
        self.lobby = lobby  # parked sessions hold places too
        self.refused = refused  # the metrics' count of refusals by reason
        self.counts = ConnectionCounts(settings.max_connections, settings.max_per_ip)
        self.proxies = TrustedProxies(settings.trusted_proxy)
        self.closing = False  # the server is stopping: everything new is refused
        self._lingering = 0  # refused connections still open

    def admit(self, connection: Connection) -> tuple[int, str] | None:
        """Count a just-accepted connection, or say why it is refused."""
        refusal = (503, "server shutting down") if self.closing else None
        refusal = refusal or self.counts.admit(
            connection.ip,
            self.lobby.parked_count,
            self.lobby.parked_from(connection.ip),
            per_address=not self.proxies.trusts(connection.ip),
        )
        if refusal is not None:
            self.refused[refusal[1]] += 1
            log.info("connection from %s refused: %s", connection.peer, refusal[1])
        return refusal

    def readdress(self, connection: Connection, client: str) -> tuple[int, str] | None:
        """A trusted proxy said ``connection`` is ``client``'s: count it there from now on,
        or say why that address may not have one more."""
        if client == connection.ip:
            return None
        self.counts.release(connection.ip)
        refusal = self.counts.admit(client, self.lobby.parked_count, self.lobby.parked_from(client))
        if refusal is not None:  # still counted somewhere until it closes
            self.counts.admit(connection.ip, per_address=False)
            self.refused[refusal[1]] += 1
            log.info("connection from %s via %s refused: %s", client, connection.peer, refusal[1])
            return refusal
        connection.peer = f"{client} via {connection.peer}"
        connection.ip = client
        return None

    def may_linger(self) -> bool:
        """True if one more refused connection may stay open a moment to read why."""
        if self._lingering >= MAX_LINGERING_REFUSALS:
            return False
        self._lingering += 1
        return True

    def upgrade_problem(
        self, connection: Connection, headers: Mapping[str, str], secure: bool
    ) -> tuple[int, str] | None:
        """``(HTTP status, reason)`` refusing this upgrade before any WebSocket exists, or None.

        ``secure``: the server speaks TLS (an https origin is then its own).
        """
        problem: tuple[int, str] | None = None
        forwarded = headers.get("x-forwarded-for")
        if forwarded and self.proxies.trusts(connection.ip):
            problem = self.readdress(connection, self.proxies.client_of(connection.ip, forwarded))
            if problem is not None:
                return problem
        if not origin_allowed(
            headers.get("origin"), headers.get("host"), self.settings.allow_origin, secure
        ):
            problem = (403, "origin not allowed")
        elif self.closing:
            problem = (503, "server shutting down")
        if problem is not None:
            self.refused[problem[1]] += 1
            log.info("upgrade from %s refused: %s", connection.peer, problem[1])
        return problem

    def release(self, connection: Connection) -> None:
        """``connection`` closed: give back its counted place (or its lingering one)."""
        if connection.counted:
            self.counts.release(connection.ip)
        elif connection.lingering:
            self._lingering -= 1


def open_file_limit() -> int:
    """Raise the open-file soft limit to the hard limit; return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as error:
            log.warning("could not raise the open-file limit from %d: %s", soft, error)
    return soft


def usable_connections(configured: int, file_limit: int) -> int:
    """``configured`` if the descriptors allow it, else as many as they do (logged once)."""
    usable = max(1, file_limit - RESERVED_DESCRIPTORS)
    if configured <= usable:
        return configured
    log.warning(
        "max_connections %d needs about %d open files but the limit is %d (ulimit -n);"
        " accepting at most %d connections",
        configured,
        configured + RESERVED_DESCRIPTORS,
        file_limit,
        usable,
    )
    return usable


class AcceptErrors:
    """An event-loop exception handler that condenses accept failures.

    asyncio already stops accepting for a second when ``accept`` fails for want
    of descriptors or memory; it reports each failure, though. This logs the
    first of an episode and a count when accepting works again; every other
    exception goes to the previous handler.
    """

    _MESSAGE: Final = "socket.accept() out of system resource"

    def __init__(self, loop: asyncio.AbstractEventLoop, quiet_for: float = 10.0) -> None:
        self._previous = loop.get_exception_handler()
        self._quiet_for = quiet_for
        self._last = -quiet_for
        self.suppressed = 0
        self.failures = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != self._MESSAGE:
            if self._previous is not None:
                self._previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        self.failures += 1
        now = time.monotonic()
        if now - self._last < self._quiet_for:
            self.suppressed += 1
            return
        self._last = now
        log.error(
            "cannot accept connections: %s; retrying every second%s",
            context.get("exception"),
            f" ({self.suppressed} more since the last report)" if self.suppressed else "",
        )
        self.suppressed = 0
