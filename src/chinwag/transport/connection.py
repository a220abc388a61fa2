"""One TCP connection: its named states, its holds, and the closing handshake.

A :class:`Connection` is the ``asyncio`` protocol of one accepted socket::

    TLS_HANDSHAKE -> HTTP -> WEBSOCKET_OPEN -> CLOSING -> CLOSED
                      \\________________________/^   (any state may drop to CLOSED)

It is counted from ``accept`` (``host.admit``), speaks HTTP through
:class:`~chinwag.transport.http.HttpExchange` until an upgrade, then hands
each WebSocket frame to ``host.on_frame``; the server is seen only as the
narrow :class:`ConnectionHost`. It stops reading while it is *held*
(:class:`Hold`): its unsent output is over the limit, its sign-in waits on
the cluster, or its address is backing off after failed passwords; frames
already read wait in ``deferred`` (at most one read's worth) and are handled
once every hold is released.

The closing handshake lives here: :meth:`Connection.close_websocket` sends our
close frame and waits (bounded) for the client's; :meth:`Connection.fail`
fails the connection (RFC 6455 7.1.7: our close frame, then close TCP at
once); :meth:`Connection.close_received` answers the client's close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import ssl
import time
from collections import deque
from collections.abc import Coroutine, Mapping
from typing import Any, Final, Protocol

from ..config import Settings
from ..core.closecodes import CloseCode
from ..core.effects import ConnId
from ..core.limits import FloodPolicy, FrameBudget
from .http import LIFETIME_TIMEOUTS, HttpExchange, plain_refusal
from .proxy import parse_proxy_line
from .routes import Routes
from .streams import StreamTransport
from .tls import accept_tls
from .websocket import Event, FrameReader, close_frame, close_reply
from .writer import PAUSE_READING_ABOVE, RESUME_READING_BELOW, Batcher

__all__ = [
    "CLOSE_TIMEOUT",
    "Connection",
    "ConnectionHost",
    "ConnectionState",
    "Hold",
]

log = logging.getLogger("chinwag.transport.connection")

CLOSE_TIMEOUT: Final = 2.0  # seconds a client gets to finish a closing handshake
REFUSAL_LINGER: Final = 1.0  # seconds a refused client gets to read why


class ConnectionState(enum.Enum):
    TLS_HANDSHAKE = "tls-handshake"
    HTTP = "http"
    WEBSOCKET_OPEN = "websocket-open"
    CLOSING = "closing"  # our close frame is out, or TCP is closing; only a close is read
    CLOSED = "closed"


class Hold:
    """Why a connection is not being read: the bits of ``Connection.holds``.

    Plain ints, not an IntFlag: ``holds`` is tested for every frame, and a
    Flag's truth test is a Python call.
    """

    OUTPUT: Final = 1  # unsent output over PAUSE_READING_ABOVE
    CLUSTER: Final = 2  # its sign-in or resume waits on another node


class ConnectionHost(Protocol):
    """What a connection asks of the server that accepted it (``ChinwagServer``)."""

    settings: Settings
    tls: ssl.SSLContext | None  # None: plain TCP
    flood: FloodPolicy  # each WebSocket's frame budget
    read_buffer: memoryview  # every connection reads into this one buffer
    batcher: Batcher

    def admit(self, connection: Connection) -> tuple[int, str] | None:
        """Track and count a just-accepted connection, or say why it is refused."""

    def trusts_proxy(self, ip: str) -> bool: ...

    def readdress(self, connection: Connection, client: str) -> tuple[int, str] | None:
        """A trusted proxy says ``connection`` is ``client``'s; or why that is refused."""

    def upgrade_problem(
        self, connection: Connection, headers: Mapping[str, str]
    ) -> tuple[int, str] | None: ...

    def may_linger(self) -> bool: ...

    def spawn(self, work: Coroutine[Any, Any, None], what: str) -> None: ...

    def on_websocket_open(self, connection: Connection) -> None: ...

    def on_frame(self, connection: Connection, event: Event) -> None: ...

    def slow_reader(self, connection: Connection, unsent: int) -> None: ...

    def forget(self, connection: Connection, clean: bool) -> None: ...


class Connection(asyncio.BufferedProtocol):
    """One TCP connection; see the module docstring."""

    __slots__ = (
        "_deadline",
        "_early",
        "_proxy_line",
        "_resume_scheduled",
        "_timer",
        "budget",
        "conn",
        "counted",
        "deferred",
        "holds",
        "host",
        "http",
        "ip",
        "lingering",
        "missed_pings",
        "out",
        "peer",
        "reader",
        "routes",
        "send_limit",
        "sending",
        "state",
        "transport",
    )

    def __init__(self, host: ConnectionHost, routes: Routes) -> None:
        self.host = host
        self.routes = routes  # what this listener serves over HTTP
        self.sending = False  # True while WEBSOCKET_OPEN: the batcher may queue for it
        self.send_limit = host.settings.send_buffer  # unsent bytes that make a slow reader
        self.transport: StreamTransport | None = None
        self.state = ConnectionState.HTTP
        self.holds = 0  # Hold bits
        self.counted = False  # holds a place in the gate's counts (admission.py)
        self.lingering = False  # refused, open a moment so the client can read why
        self.http: HttpExchange | None = None
        self.reader: FrameReader | None = None
        self.budget: FrameBudget | None = None
        self.deferred: deque[Event] = deque()  # frames read while held
        self.conn: ConnId = 0  # set once the socket is a WebSocket
        self.out: list[bytes] = []  # frames queued by the batcher
        self.missed_pings = 0
        self.peer = ""
        self.ip = ""
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._early = b""  # bytes decrypted before start_tls returned the TLS transport
        self._proxy_line: bytes | None = None  # a trusted proxy's PROXY header, being read
        self._resume_scheduled = False

    def _set_state(self, state: ConnectionState) -> None:
        log.debug("%s (conn %d): %s -> %s", self.peer, self.conn, self.state.value, state.value)
        self.state = state
        self.sending = state is ConnectionState.WEBSOCKET_OPEN

    @property
    def is_http(self) -> bool:
        return self.state is ConnectionState.HTTP

    # -- asyncio callbacks -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, StreamTransport):  # once per connection, not per frame
            raise TypeError(f"{type(transport).__name__} is not a stream transport")
        self.transport = transport
        address = transport.get_extra_info("peername")
        self.ip = str(address[0]) if address else "?"
        self.peer = f"{self.ip}:{address[1]}" if address else "?"
        host = self.host
        refusal = host.admit(self)
        if refusal is not None:
            self._refuse(*refusal)
            return
        self.counted = True
        self.transport.set_write_buffer_limits(PAUSE_READING_ABOVE, RESUME_READING_BELOW)
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + LIFETIME_TIMEOUTS * host.settings.http_timeout
        self.arm_http_timer()
        if host.tls is not None:
            self._set_state(ConnectionState.TLS_HANDSHAKE)
            self.transport.pause_reading()  # the ClientHello is start_tls's to read, not ours
            host.spawn(self._start_tls(host.tls), "TLS handshake")
        else:
            self.http = HttpExchange(self)
            if host.settings.proxy_protocol and host.trusts_proxy(self.ip):
                self._proxy_line = b""

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.host.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.host.batcher.handle_read(self.data_received, self.host.read_buffer[:nbytes])

    def data_received(self, data: bytes | memoryview) -> None:
        reader = self.reader
        if reader is not None:
            self.missed_pings = 0
            events = reader.receive_data(data)
            if self.deferred:  # older frames wait: keep the order
                self.deferred.extend(events)
            else:
                self._dispatch(events)
        elif self._proxy_line is not None:
            self._read_proxy_line(bytes(data))
        elif self.http is not None and self.state is ConnectionState.HTTP:
            self.http.receive(bytes(data))
        elif self.state is ConnectionState.TLS_HANDSHAKE:
            # The TLS layer may hand over the first request before start_tls
            # returns; keep it (one read at most) until there is a transport to answer on.
            self._early += data

    def _read_proxy_line(self, data: bytes) -> None:
        """A trusted proxy's connection starts with whose it is (``proxy.py``)."""
        assert self._proxy_line is not None and self.http is not None
        head = self._proxy_line + data
        try:
            parsed = parse_proxy_line(head)
        except ValueError as error:
            log.info("connection from %s closed: %s", self.peer, error)
            self.abort()
            return
        if parsed is None:
            self._proxy_line = head
            return
        self._proxy_line = None
        client, used = parsed
        refusal = self.host.readdress(self, client) if client is not None else None
        if refusal is not None:
            self._refuse(*refusal)
            return
        if head[used:]:
            self.http.receive(head[used:])

    def _dispatch(self, events: list[Event]) -> None:
        on_frame = self.host.on_frame
        remaining = iter(events)
        for event in remaining:
            if self.holds:  # keep this frame and the rest for when the holds end
                self.deferred.append(event)
                self.deferred.extend(remaining)
                return
            on_frame(self, event)

    def pause_writing(self) -> None:
        self.hold(Hold.OUTPUT)

    def resume_writing(self) -> None:
        self.release(Hold.OUTPUT)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state is ConnectionState.CLOSED:
            return
        was = self.state
        self._set_state(ConnectionState.CLOSED)
        self._cancel_timer()
        self.reader = None
        self.http = None
        self.deferred.clear()
        self.out.clear()
        self.host.forget(self, clean=was is ConnectionState.CLOSING)

    # -- holds -------------------------------------------------------------

    def hold(self, reason: int) -> None:
        """Stop reading until :meth:`release` of ``reason`` (and of every other hold)."""
        self.holds |= reason
        if self.transport is not None:
            self.transport.pause_reading()

    def defer(self, event: Event) -> None:
        """Put back a frame the server will not handle yet (it held the connection)."""
        self.deferred.appendleft(event)

    def release(self, reason: int) -> None:
        """Lift one hold; when none is left, read again and handle what waited."""
        if not self.holds & reason:
            return
        self.holds &= ~reason
        if self.holds or self.state is ConnectionState.CLOSED or self.transport is None:
            return
        self.transport.resume_reading()
        if not self._resume_scheduled:
            self._resume_scheduled = True  # not inside whoever released us
            asyncio.get_running_loop().call_soon(self._resume)

    def _resume(self) -> None:
        self._resume_scheduled = False
        if self.holds:
            return
        if self.deferred:
            events = list(self.deferred)
            self.deferred.clear()
            self._dispatch(events)
        elif self.http is not None:
            self.http.process()

    # -- writing and closing -------------------------------------------------

    def write(self, data: bytes) -> None:
        """The one write path: every byte to this client, under the flow-control rule."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(data)  # the rule of writer.py: pause reading over the high-water mark
        unsent = transport.get_write_buffer_size()
        if unsent > self.send_limit:
            self.host.slow_reader(self, unsent)

    def close_websocket(self, code: CloseCode, reason: str) -> None:
        """Start the closing handshake; TCP closes on the client's reply or after CLOSE_TIMEOUT."""
        if self.state is not ConnectionState.WEBSOCKET_OPEN:
            return
        Batcher.flush_one(self)
        self.write(close_frame(code, reason))
        self._set_state(ConnectionState.CLOSING)
        self._arm(CLOSE_TIMEOUT)

    def fail(self, code: CloseCode, reason: str) -> None:
        """Fail the WebSocket (RFC 6455 7.1.7): our close frame, then close TCP at once.

        Used after a violation: nothing the client sends next can be trusted,
        so its reply is not waited for.
        """
        if self.state is ConnectionState.WEBSOCKET_OPEN:
            Batcher.flush_one(self)
            self.write(close_frame(code, reason))
            self._set_state(ConnectionState.CLOSING)
        self.reader = None
        self.deferred.clear()
        self.finish_sending()

    def finish_sending(self) -> None:
        """Send FIN after what is written, read and discard until the client closes (bounded).

        Closing at once while the client still sends would reset the connection
        and lose the answer it has not read yet (a close frame, an HTTP refusal).
        """
        transport = self.transport
        if transport is None or self.state is ConnectionState.CLOSED:
            return
        if not transport.can_write_eof():  # TLS: close_notify, then close
            self.close_transport()
            return
        with contextlib.suppress(OSError, RuntimeError):
            transport.write_eof()
        self.holds = 0  # Hold bits
        transport.resume_reading()
        self._arm(CLOSE_TIMEOUT)

    def close_received(self, payload: bytes) -> None:
        """The client's close frame: answer it unless we started, then close TCP."""
        if self.state is ConnectionState.WEBSOCKET_OPEN:
            Batcher.flush_one(self)
            self.write(close_frame(close_reply(payload)))
            self._set_state(ConnectionState.CLOSING)
        self.reader = None
        self.close_transport()

    def close_transport(self) -> None:
        """Close TCP once written data is sent; abort if the client does not read it."""
        if self.transport is not None and self.state is not ConnectionState.CLOSED:
            self.transport.close()
            self._arm(CLOSE_TIMEOUT)

    def abort(self) -> None:
        """Drop the connection now, unsent data and all."""
        if self.transport is not None and self.state is not ConnectionState.CLOSED:
            self.transport.abort()

    # -- HTTP, upgrade, TLS ---------------------------------------------------

    def arm_http_timer(self) -> None:
        """Close an HTTP connection that idles or dribbles (slowloris), and any at its deadline."""
        remaining = self._deadline - asyncio.get_running_loop().time()
        self._arm(min(self.host.settings.http_timeout, remaining))

    def upgrade_problem(self, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """``(HTTP status, reason)`` refusing this upgrade (the server's say), or None."""
        return self.host.upgrade_problem(self, headers)

    def open_websocket(self, leftover: bytes) -> None:
        """The upgrade was accepted: from now on the bytes are WebSocket frames."""
        self.http = None
        self._cancel_timer()
        self.reader = FrameReader(self.host.settings.max_frame)
        self.budget = FrameBudget(self.host.flood, time.perf_counter())
        self._set_state(ConnectionState.WEBSOCKET_OPEN)
        self.host.on_websocket_open(self)
        if leftover:
            self.data_received(leftover)

    async def _start_tls(self, context: ssl.SSLContext) -> None:
        """The TLS handshake, after the socket was counted; bounded by the HTTP timer."""
        raw = self.transport
        assert raw is not None
        secure = await accept_tls(raw, self, context, self.host.settings.http_timeout, self.peer)
        if secure is None:
            raw.abort()
            self.connection_lost(None)  # the TLS layer does not tell us
            return
        if self.state is not ConnectionState.TLS_HANDSHAKE:
            return
        self.transport = secure
        self.transport.set_write_buffer_limits(PAUSE_READING_ABOVE, RESUME_READING_BELOW)
        self.http = HttpExchange(self)
        self._set_state(ConnectionState.HTTP)
        early, self._early = self._early, b""
        if early:
            self.http.receive(early)

    def _refuse(self, status: int, reason: str) -> None:
        """Not admitted: say why in plain HTTP (unless TLS), then hang up."""
        self._set_state(ConnectionState.CLOSING)
        transport = self.transport
        assert transport is not None
        if self.host.tls is not None or not self.host.may_linger():
            transport.abort()
            return
        self.lingering = True
        transport.write(plain_refusal(status, reason))
        self.finish_sending()
        self._arm(REFUSAL_LINGER)

    def _arm(self, delay: float) -> None:
        """Abort the connection after ``delay`` seconds unless re-armed or cancelled first."""
        self._cancel_timer()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, delay), self.abort)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
