"""One TCP connection: its named states, its holds, and the closing handshake.

A :class:`Connection` is the ``asyncio`` protocol of one accepted socket::

    TLS_HANDSHAKE -> HTTP -> WEBSOCKET_OPEN -> CLOSING -> CLOSED
                      \\________________________/^   (any state may drop to CLOSED)

It is counted from ``accept`` (``server.admit``), speaks HTTP through
:class:`~chinwag.transport.http.HttpExchange` until an upgrade, then hands
each WebSocket frame to ``server.frames.on_frame``. It stops reading while it is
*held* (:class:`Hold`): its unsent output is over the limit, its sign-in waits
on the cluster, or its address is backing off after failed passwords; frames
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
from typing import TYPE_CHECKING, Any, Final, Protocol, cast, runtime_checkable

from ..core.closecodes import CloseCode
from ..core.effects import ConnId
from ..core.limits import FrameBudget
from .http import LIFETIME_TIMEOUTS, HttpExchange
from .proxy import parse_proxy_line
from .websocket import Event, FrameReader, close_frame, close_reply
from .writer import PAUSE_READING_ABOVE, RESUME_READING_BELOW, Batcher

if TYPE_CHECKING:
    from .routes import Routes
    from .server import ChinwagServer

__all__ = ["CLOSE_TIMEOUT", "Connection", "ConnectionState", "Hold", "StreamTransport"]

log = logging.getLogger("chinwag.transport.connection")

CLOSE_TIMEOUT: Final = 2.0  # seconds a client gets to finish a closing handshake
REFUSAL_LINGER: Final = 1.0  # seconds a refused client gets to read why


@runtime_checkable
class StreamTransport(Protocol):
    """What a connection uses of its socket's transport.

    asyncio's transports and uvloop's (the ``fast`` extra) both have all of
    it, but uvloop's do not subclass ``asyncio.Transport``: so the connection
    checks for these methods, not for a class.
    """

    def get_extra_info(self, name: str, default: Any = None) -> Any: ...
    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def write(self, data: bytes | bytearray | memoryview) -> None: ...
    def can_write_eof(self) -> bool: ...
    def write_eof(self) -> None: ...
    def is_closing(self) -> bool: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


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
        "server",
        "state",
        "transport",
    )

    def __init__(self, server: ChinwagServer, routes: Routes) -> None:
        self.server = server
        self.routes = routes  # what this listener serves over HTTP
        self.sending = False  # True while WEBSOCKET_OPEN: the batcher may queue for it
        self.send_limit = server.settings.send_buffer  # unsent bytes that make a slow reader
        self.transport: StreamTransport | None = None
        self.state = ConnectionState.HTTP
        self.holds = 0  # Hold bits
        self.counted = False  # holds a place in server.counts
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
        server = self.server
        server.sockets.add(self)
        refusal = server.admit(self)
        if refusal is not None:
            self._refuse(*refusal)
            return
        self.counted = True
        self.transport.set_write_buffer_limits(PAUSE_READING_ABOVE, RESUME_READING_BELOW)
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + LIFETIME_TIMEOUTS * server.settings.http_timeout
        self.arm_http_timer()
        if server.tls is not None:
            self._set_state(ConnectionState.TLS_HANDSHAKE)
            server.spawn(self._start_tls(server.tls))
        else:
            self.http = HttpExchange(self)
            if server.settings.proxy_protocol and server.proxies.trusts(self.ip):
                self._proxy_line = b""

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        batcher = self.server.batcher
        batcher.reading = True
        batcher.frame_time = time.perf_counter()  # when the frames of this read arrived
        try:
            self.data_received(self.server.read_buffer[:nbytes])
        finally:
            batcher.reading = False
            batcher.frame_time = None
        # Write what this read produced now, not on the next loop turn: that
        # turn would cost another epoll_wait for nothing.
        batcher.flush()

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
        refusal = self.server.readdress(self, client) if client is not None else None
        if refusal is not None:
            self._refuse(*refusal)
            return
        if head[used:]:
            self.http.receive(head[used:])

    def _dispatch(self, events: list[Event]) -> None:
        on_frame = self.server.frames.on_frame
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
        self.server.forget(self, clean=was is ConnectionState.CLOSING)

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
            self.server.slow_reader(self, unsent)

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
        self._arm(min(self.server.settings.http_timeout, remaining))

    def open_websocket(self, leftover: bytes) -> None:
        """The upgrade was accepted: from now on the bytes are WebSocket frames."""
        self.http = None
        self._cancel_timer()
        self.reader = FrameReader(self.server.settings.max_frame)
        self.budget = FrameBudget(self.server.flood, time.perf_counter())
        self._set_state(ConnectionState.WEBSOCKET_OPEN)
        self.server.on_websocket_open(self)
        if leftover:
            self.data_received(leftover)

    async def _start_tls(self, context: ssl.SSLContext) -> None:
        """The TLS handshake, after the socket was counted; bounded by the HTTP timer."""
        raw = self.transport
        assert raw is not None
        loop = asyncio.get_running_loop()
        timeout = self.server.settings.http_timeout
        try:
            secure = await loop.start_tls(
                cast(asyncio.WriteTransport, raw),  # the transport connection_made was given
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=timeout,
            )
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as error:
            log.debug("%s: TLS handshake failed: %s", self.peer, error)
            raw.abort()
            self.connection_lost(None)  # the TLS layer does not tell us
            return
        if secure is None or self.state is not ConnectionState.TLS_HANDSHAKE:
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
        if self.server.tls is not None or not self.server.may_linger():
            transport.abort()
            return
        self.lingering = True
        body = f"{reason}\n".encode()
        transport.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
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
