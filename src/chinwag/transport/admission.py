"""Who may hold a TCP connection: counted from ``accept``, per address and in total.

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
from typing import Any, Final

__all__ = ["AcceptErrors", "ConnectionCounts", "open_file_limit", "usable_connections"]

log = logging.getLogger("chinwag.transport.admission")

#: Descriptors kept for everything that is not a client (listening sockets,
#: Redis, log files, the web files, the STUN socket).
RESERVED_DESCRIPTORS: Final = 64


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
