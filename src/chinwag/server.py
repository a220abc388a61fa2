"""The asyncio transport: HTTP and WebSocket on one port, around the lobby.

One :class:`_Connection` (an ``asyncio.Protocol``) per TCP connection. It
speaks HTTP/1.1 through h11 until a WebSocket upgrade, then parses frames
with :mod:`chinwag.websocket` and feeds complete messages to the
:class:`~chinwag.lobby.Lobby`. Effects the lobby returns are carried out by
:class:`ChinwagServer`.

Why not aiohttp's WebSocket: a connection here costs one small object and
no task, writes are coalesced per connection per event-loop turn (one
``send`` system call for everything a client gets in that turn), and an
oversized frame is answered with an ``error`` before the 1009 close. The
numbers are in ``docs/performance.md``.

Send queues are bounded: a client whose kernel and transport buffers hold
more than ``send_buffer`` bytes is a slow reader and is dropped, so it can
never hold up anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

import h11

from . import __version__
from .config import Settings
from .errors import ProtocolError
from .lobby import Close, ConnId, Effect, Lobby, Send
from .routes import Response, Routes, json_response, load_web_files
from .websocket import (
    BINARY,
    CLOSE,
    PING,
    TEXT,
    FrameReader,
    Message,
    accept_key,
    close_frame,
    encode_frame,
    handshake_problem,
)

__all__ = ["ChinwagServer", "serve_forever"]

log = logging.getLogger("chinwag.server")

_WEBSOCKET_PATHS = frozenset({"/", "/ws"})
_CLOSE_TIMEOUT = 2.0  # seconds a closing client gets to finish the handshake


class _Connection(asyncio.Protocol):
    """One TCP connection: HTTP first, WebSocket after an upgrade."""

    __slots__ = (
        "_http",
        "_http_timer",
        "_reader",
        "closing",
        "conn",
        "missed_pings",
        "out",
        "peer",
        "server",
        "transport",
    )

    def __init__(self, server: ChinwagServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self._http: h11.Connection | None = h11.Connection(h11.SERVER)
        self._http_timer: asyncio.TimerHandle | None = None
        self._reader: FrameReader | None = None
        self.conn: ConnId = 0  # set once the socket is a WebSocket
        self.out: list[bytes] = []
        self.missed_pings = 0
        self.closing = False
        self.peer = ""

    # -- asyncio callbacks -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        address = transport.get_extra_info("peername")
        self.peer = f"{address[0]}:{address[1]}" if address else "?"
        self.server.sockets.add(self)
        self._arm_http_timer()

    def _arm_http_timer(self) -> None:
        """Close an HTTP connection that idles or dribbles (slowloris)."""
        if self._http_timer is not None:
            self._http_timer.cancel()
        loop = asyncio.get_running_loop()
        self._http_timer = loop.call_later(self.server.settings.http_timeout, self.abort)

    def data_received(self, data: bytes) -> None:
        if self._reader is not None:
            self.missed_pings = 0
            for event in self._reader.receive_data(data):
                self.server.on_frame(self, event)
        elif self._http is not None:
            self._http_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.forget(self)
        if self._http_timer is not None:
            self._http_timer.cancel()
        if self._reader is not None:
            self._reader = None
            self.server.on_websocket_closed(self)

    # -- writing -----------------------------------------------------------

    def write_now(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close_websocket(self, code: int, reason: str) -> None:
        """Start the closing handshake; abort if the client does not finish it."""
        if self.closing or self.transport is None:
            return
        self.closing = True
        self.server.flush_one(self)
        self.write_now(close_frame(code, reason))
        loop = asyncio.get_running_loop()
        loop.call_later(_CLOSE_TIMEOUT, self.abort)

    def abort(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    # -- HTTP --------------------------------------------------------------

    def _http_received(self, data: bytes) -> None:
        http = self._http
        assert http is not None
        try:
            http.receive_data(data)
            while True:
                event = http.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    break
                if isinstance(event, h11.Request):
                    self._request(http, event)
                    if self._http is None:  # upgraded; the rest is WebSocket
                        return
                elif isinstance(event, h11.EndOfMessage):
                    self._next_cycle(http)
                elif isinstance(event, h11.ConnectionClosed):
                    self.abort()
                    return
        except h11.RemoteProtocolError as error:
            self._send_response(http, Response(400, f"bad request: {error}\n".encode()))
            self._http = None
            if self.transport is not None:
                self.transport.close()

    def _next_cycle(self, http: h11.Connection) -> None:
        if http.our_state is h11.MUST_CLOSE:
            if self.transport is not None:
                self.transport.close()
            self._http = None
        elif http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()
            self._arm_http_timer()

    def _request(self, http: h11.Connection, request: h11.Request) -> None:
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in request.headers}
        target = request.target.decode("latin-1")
        path = target.split("?", 1)[0]
        method = request.method.decode()
        if "upgrade" in headers and path in _WEBSOCKET_PATHS:
            self._upgrade(http, method, headers)
            return
        response = self.server.routes.respond(method, target, headers)
        if method == "HEAD":
            response = Response(response.status, b"", response.content_type, response.headers)
        self._send_response(http, response, head_length=len(response.body))

    def _send_response(
        self, http: h11.Connection, response: Response, head_length: int | None = None
    ) -> None:
        headers = response.all_headers()
        if head_length is not None:
            headers = [(k, str(head_length) if k == "Content-Length" else v) for k, v in headers]
        try:
            reason = HTTPStatus(response.status).phrase.encode()
            out = http.send(
                h11.Response(status_code=response.status, headers=headers, reason=reason)
            )
            if response.body:
                out += http.send(h11.Data(data=response.body))
            out += http.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            self.abort()
            return
        self.write_now(out)

    def _upgrade(self, http: h11.Connection, method: str, headers: Mapping[str, str]) -> None:
        problem = handshake_problem(method, headers) or self.server.admission_problem(self, headers)
        if problem is not None:
            self._send_response(
                http, Response(400, f"{problem}\n".encode(), headers=(("Connection", "close"),))
            )
            return
        offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
        response_headers = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", accept_key(headers["sec-websocket-key"])),
        ]
        if "json" in offered:
            response_headers.append(("Sec-WebSocket-Protocol", "json"))
        self.write_now(
            http.send(h11.InformationalResponse(status_code=101, headers=response_headers))
        )
        leftover, _ = http.trailing_data
        self._http = None
        if self._http_timer is not None:
            self._http_timer.cancel()
            self._http_timer = None
        self._reader = FrameReader(self.server.settings.max_frame)
        self.server.on_websocket_open(self)
        if leftover:
            self.data_received(bytes(leftover))


class ChinwagServer:
    """A running chinwag server: the lobby, its sockets and its timers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lobby = Lobby()
        self.routes = Routes(load_web_files())
        self.routes.endpoints["/healthz"] = self._health
        self.sockets: set[_Connection] = set()
        self.websockets: dict[ConnId, _Connection] = {}
        self._next_conn: ConnId = 0
        self._dirty: list[_Connection] = []
        self._flush_scheduled = False
        self._presence_timer: asyncio.TimerHandle | None = None
        self._heartbeat_timer: asyncio.TimerHandle | None = None
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._all_closed: asyncio.Event | None = None  # set while stopping

    # -- lifecycle ---------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        host = self.settings.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{self.port}/"

    async def start(self) -> None:
        """Listen; returns once the port is bound."""
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            lambda: _Connection(self),
            self.settings.host,
            self.settings.port,
            reuse_address=True,
            backlog=4096,
        )
        self._heartbeat_timer = self._loop.call_later(self.settings.heartbeat, self._heartbeat)
        log.info("listening on %s", self.url)

    async def stop(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Stop accepting, close every WebSocket with ``code``, and wait (bounded)."""
        if self._server is None:
            return
        self._server.close()
        for timer in (self._presence_timer, self._heartbeat_timer):
            if timer is not None:
                timer.cancel()
        for connection in list(self.websockets.values()):
            connection.close_websocket(code, reason)
        for connection in list(self.sockets):
            if connection.conn == 0:
                connection.abort()
        if self.sockets:
            self._all_closed = asyncio.Event()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), _CLOSE_TIMEOUT)
        for connection in list(self.sockets):
            connection.abort()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)
        self._server = None

    async def __aenter__(self) -> ChinwagServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def forget(self, connection: _Connection) -> None:
        self.sockets.discard(connection)
        if not self.sockets and self._all_closed is not None:
            self._all_closed.set()

    # -- admission ---------------------------------------------------------

    def admission_problem(self, connection: _Connection, headers: Mapping[str, str]) -> str | None:
        """Why this upgrade is refused before any WebSocket exists, or None."""
        if len(self.websockets) >= self.settings.max_connections:
            return "server full"
        return None

    # -- events from connections -----------------------------------------

    def on_websocket_open(self, connection: _Connection) -> None:
        self._next_conn += 1
        connection.conn = self._next_conn
        self.websockets[connection.conn] = connection
        log.debug("conn %d open from %s", connection.conn, connection.peer)
        self.apply(self.lobby.connect(connection.conn))

    def on_frame(self, connection: _Connection, event: Any) -> None:
        if not isinstance(event, Message):  # a protocol violation
            if event.code == 1009:
                error = ProtocolError(
                    "frame-too-large", event.reason[:1].upper() + event.reason[1:] + "; closing."
                )
                self.apply(self.lobby.reject(connection.conn, error))
            connection.close_websocket(event.code, event.reason)
            return
        opcode = event.opcode
        if opcode == TEXT:
            if not connection.closing:
                self.apply(self.lobby.receive(connection.conn, event.payload))
        elif opcode == BINARY:
            error = ProtocolError("binary-frame", "Binary frames are not accepted; send JSON text.")
            self.apply(self.lobby.reject(connection.conn, error))
        elif opcode == PING:
            connection.write_now(encode_frame(0xA, event.payload))
        elif opcode == CLOSE:
            self._close_received(connection, event.payload)

    def _close_received(self, connection: _Connection, payload: bytes) -> None:
        if not connection.closing:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1000
            connection.closing = True
            self.flush_one(connection)
            connection.write_now(close_frame(code if code in (1000, 1001) else 1000))
        if connection.transport is not None:
            connection.transport.close()

    def on_websocket_closed(self, connection: _Connection) -> None:
        self.websockets.pop(connection.conn, None)
        log.debug("conn %d closed (%s)", connection.conn, self.lobby.name_of(connection.conn))
        connection.out.clear()
        self.apply(self.lobby.disconnect(connection.conn))

    # -- effects -----------------------------------------------------------

    def apply(self, effects: Iterable[Effect]) -> None:
        """Carry out what the lobby decided, then arm the presence timer."""
        for effect in effects:
            if isinstance(effect, Send):
                self._queue(effect.conns, encode_frame(TEXT, effect.payload))
            elif isinstance(effect, Close):
                connection = self.websockets.get(effect.conn)
                if connection is not None:
                    connection.close_websocket(effect.code, effect.reason)
        if self.lobby.presence_pending and self._presence_timer is None and self._loop:
            self._presence_timer = self._loop.call_later(
                self.settings.presence_interval, self._flush_presence
            )

    def _queue(self, conns: tuple[ConnId, ...], frame: bytes) -> None:
        websockets = self.websockets
        dirty = self._dirty
        for conn in conns:
            connection = websockets.get(conn)
            if connection is None or connection.closing:
                continue
            if not connection.out:
                dirty.append(connection)
            connection.out.append(frame)
        if dirty and not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Write everything queued this turn: one write per connection."""
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for connection in dirty:
            self.flush_one(connection)

    def flush_one(self, connection: _Connection) -> None:
        out = connection.out
        if not out:
            return
        transport = connection.transport
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        if transport is None or transport.is_closing():
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self.settings.send_buffer:
            log.warning(
                "conn %d (%s) dropped: slow reader, %d bytes unsent",
                connection.conn,
                self.lobby.name_of(connection.conn),
                transport.get_write_buffer_size(),
            )
            transport.abort()

    def _flush_presence(self) -> None:
        self._presence_timer = None
        self.apply(self.lobby.flush_presence())

    # -- heartbeat ---------------------------------------------------------

    def _heartbeat(self) -> None:
        """Ping every WebSocket; drop those silent for ``heartbeat_misses`` rounds."""
        ping = encode_frame(PING, b"")
        for connection in list(self.websockets.values()):
            if connection.missed_pings >= self.settings.heartbeat_misses:
                log.info(
                    "conn %d (%s) dropped: no answer to %d pings",
                    connection.conn,
                    self.lobby.name_of(connection.conn),
                    connection.missed_pings,
                )
                connection.abort()
                continue
            connection.missed_pings += 1
            connection.write_now(ping)
        assert self._loop is not None
        self._heartbeat_timer = self._loop.call_later(self.settings.heartbeat, self._heartbeat)

    # -- HTTP endpoints ----------------------------------------------------

    def _health(self, headers: Mapping[str, str]) -> Response:
        return json_response(
            200,
            {
                "status": "ok",
                "version": __version__,
                "connections": len(self.websockets),
                "users": len(self.lobby.usernames()),
            },
        )


async def serve_forever(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then close every socket with 1001."""
    server = ChinwagServer(settings)
    await server.start()
    print(f"chinwag listening on {server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("shutting down")
    await server.stop()
