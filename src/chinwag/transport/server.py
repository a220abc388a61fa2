"""The asyncio transport: HTTP and WebSocket on one port, around the lobby.

One :class:`_Connection` (an ``asyncio.Protocol``) per TCP connection. It
speaks HTTP/1.1 through h11 until a WebSocket upgrade, then parses frames
with :mod:`chinwag.transport.websocket` and feeds complete messages to the
:class:`~chinwag.core.lobby.Lobby`. Effects the lobby returns are carried out by
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
import gc
import logging
import signal
import ssl
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import cast

import h11

from .. import __version__
from ..cluster import Bus, create_bus
from ..cluster.link import ClusterLink
from ..config import Settings
from ..core.auth import Authenticator, origin_allowed
from ..core.effects import Close, ConnId, Effect, Send
from ..core.errors import ProtocolError
from ..core.limits import Rate
from ..core.lobby import Lobby, Policy
from ..core.rooms import room_book
from ..metrics import CONTENT_TYPE, Metrics, Snapshot, render
from ..nat.stun import StunResponder, start_stun_server
from ..nat.turn import IceServers
from .routes import Response, Routes, json_response, load_web_files, text
from .tls import Certificate, local_addresses, server_context
from .websocket import (
    BINARY,
    CLOSE,
    PING,
    TEXT,
    FrameReader,
    Message,
    Violation,
    accept_key,
    close_frame,
    encode_frame,
    handshake_problem,
)

__all__ = ["ChinwagServer", "serve_forever"]

log = logging.getLogger("chinwag.transport.server")

_WEBSOCKET_PATHS = frozenset({"/", "/ws"})
#: Presence updates are spaced so that they write at most this much per second.
PRESENCE_BYTES_PER_SECOND = 64 * 1024 * 1024
_CLOSE_TIMEOUT = 2.0  # seconds a closing client gets to finish the handshake


class _Connection(asyncio.BufferedProtocol):
    """One TCP connection: HTTP first, WebSocket after an upgrade.

    A buffered protocol: the socket is read into one buffer that all
    connections share (``ChinwagServer.read_buffer``), rather than into a fresh
    256 KiB ``bytes`` per read; nothing keeps a reference to it after
    ``buffer_updated`` returns.
    """

    __slots__ = (
        "_http",
        "_http_timer",
        "_reader",
        "closing",
        "conn",
        "ip",
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
        self.ip = ""

    # -- asyncio callbacks -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but quack alike.
        self.transport = cast(asyncio.Transport, transport)
        address = transport.get_extra_info("peername")
        self.ip = str(address[0]) if address else "?"
        self.peer = f"{self.ip}:{address[1]}" if address else "?"
        self.server.sockets.add(self)
        self._arm_http_timer()

    def _arm_http_timer(self) -> None:
        """Close an HTTP connection that idles or dribbles (slowloris)."""
        if self._http_timer is not None:
            self._http_timer.cancel()
        loop = asyncio.get_running_loop()
        self._http_timer = loop.call_later(self.server.settings.http_timeout, self.abort)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        server = self.server
        server.reading = True
        server.frame_time = time.perf_counter()  # when the frames of this read arrived
        try:
            self.data_received(server.read_buffer[:nbytes])
        finally:
            server.reading = False
            server.frame_time = None
        # Write what this read produced now, not on the next loop turn: that
        # turn would cost another epoll_wait for nothing.
        server.flush_dirty()

    def data_received(self, data: bytes | memoryview) -> None:
        if self._reader is not None:
            self.missed_pings = 0
            for event in self._reader.receive_data(data):
                self.server.on_frame(self, event)
        elif self._http is not None:
            self._http_received(bytes(data))

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
        invalid = handshake_problem(method, headers)
        refusal = (400, invalid) if invalid else self.server.admission_problem(self, headers)
        if refusal is not None:
            status, problem = refusal
            self._send_response(
                http, Response(status, f"{problem}\n".encode(), headers=(("Connection", "close"),))
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

    def __init__(self, settings: Settings, bus: Bus | None = None) -> None:
        self.settings = settings
        if bus is None and settings.redis:
            bus = create_bus(settings.redis)
        self.ice_servers = IceServers.from_settings(settings)
        self.read_buffer = memoryview(bytearray(256 * 1024))  # shared by every connection
        self.lobby = Lobby(
            _policy(settings),
            node=bus.node if bus is not None else None,
            authenticator=Authenticator.from_settings(settings),
            ice=self.ice_servers,
            rooms=room_book(settings.rooms, settings.rooms_restricted),
        )
        self.cluster = ClusterLink(bus, self.lobby, self.apply) if bus is not None else None
        self.stun: StunResponder | None = None
        self._stun_transport: asyncio.DatagramTransport | None = None
        self._housekeeping_timer: asyncio.TimerHandle | None = None
        self.draining = False  # /healthz/ready says no; everything else goes on
        self._presence_cooldown = 0.0  # extra spacing after a large presence update
        self.routes = Routes(load_web_files())
        self.routes.endpoints["/healthz"] = self._health
        self.routes.endpoints["/healthz/live"] = self._live
        self.routes.endpoints["/healthz/ready"] = self._ready
        self.routes.endpoints["/metrics"] = self._metrics
        self.routes.endpoints["/api/ice-servers"] = self._ice_endpoint
        self.routes.endpoints["/api/rooms"] = lambda _: json_response(
            200, self.lobby.public_rooms()
        )
        self.metrics = Metrics()
        self.certificate: Certificate | None = None  # set by start() when serving TLS
        self._ssl: ssl.SSLContext | None = None
        self.sockets: set[_Connection] = set()
        self.websockets: dict[ConnId, _Connection] = {}
        self._per_ip: Counter[str] = Counter()  # open WebSockets by client address
        self.frame_time: float | None = None  # when the frame being handled was read
        self._batch_time: float | None = None  # when the oldest frame of this flush was read
        self._stopping = False
        self._next_conn: ConnId = 0
        self._dirty: list[_Connection] = []
        self._flush_scheduled = False
        self.reading = False  # inside a socket read, whose end flushes
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
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://{shown}:{self.port}/"

    def network_urls(self) -> list[str]:
        """Addresses other machines can open, when listening on every interface."""
        if self.settings.host not in ("0.0.0.0", "", "::"):
            return []
        scheme = "https" if self._ssl is not None else "http"
        return [
            f"{scheme}://{address}:{self.port}/"
            for address in local_addresses()
            if "." in address and not address.startswith("127.")
        ]

    async def start(self) -> None:
        """Listen; returns once the port is bound."""
        self._loop = asyncio.get_running_loop()
        self._ssl, self.certificate = server_context(self.settings)
        self._server = await self._loop.create_server(
            lambda: _Connection(self),
            self.settings.host,
            self.settings.port,
            reuse_address=True,
            reuse_port=self.settings.workers > 1,
            backlog=4096,
            ssl=self._ssl,
        )
        self._heartbeat_timer = self._loop.call_later(self.settings.heartbeat, self._heartbeat)
        self._housekeeping_timer = self._loop.call_later(1.0, self._housekeeping)
        if self.settings.stun_port is not None:
            self._stun_transport, self.stun = await start_stun_server(
                self.settings.host, self.settings.stun_port
            )
        if self.cluster is not None:
            await self.cluster.start()
        log.info("listening on %s", self.url)

    async def stop(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Stop accepting, close every WebSocket with ``code``, and wait (bounded)."""
        if self._server is None:
            return
        self._stopping = True
        self._server.close()
        if self._stun_transport is not None:
            self._stun_transport.close()
        for timer in (self._presence_timer, self._heartbeat_timer, self._housekeeping_timer):
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
        if self.cluster is not None:
            await self.cluster.stop()
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

    def admission_problem(
        self, connection: _Connection, headers: Mapping[str, str]
    ) -> tuple[int, str] | None:
        """``(HTTP status, reason)`` refusing this upgrade before any WebSocket exists, or None."""
        settings = self.settings
        problem: tuple[int, str] | None = None
        secure = self._ssl is not None
        if not origin_allowed(
            headers.get("origin"), headers.get("host"), settings.allow_origin, secure
        ):
            problem = (403, "origin not allowed")
        elif self._stopping:
            problem = (503, "server shutting down")
        elif len(self.websockets) >= settings.max_connections:
            problem = (503, "server full")
        elif self._per_ip[connection.ip] >= settings.max_per_ip:
            problem = (429, "too many connections from your address")
        if problem is not None:
            self.metrics.refused[problem[1]] += 1
            log.info("upgrade from %s refused: %s", connection.peer, problem[1])
        return problem

    # -- events from connections -----------------------------------------

    def on_websocket_open(self, connection: _Connection) -> None:
        self._next_conn += 1
        connection.conn = self._next_conn
        self.websockets[connection.conn] = connection
        self._per_ip[connection.ip] += 1
        self.metrics.connections_opened += 1
        log.debug("conn %d open from %s", connection.conn, connection.peer)
        self.apply(self.lobby.connect(connection.conn))

    def on_frame(self, connection: _Connection, event: Message | Violation) -> None:
        if not isinstance(event, Message):  # a protocol violation
            log.info("conn %d closed: %s (%d)", connection.conn, event.reason, event.code)
            if event.code == 1009:
                error = ProtocolError(
                    "frame-too-large", event.reason[:1].upper() + event.reason[1:] + "; closing."
                )
                self._reject(connection, error)
            connection.close_websocket(event.code, event.reason)
            return
        opcode = event.opcode
        if opcode == TEXT:
            if not connection.closing:
                self.metrics.frames_received += 1
                self.apply(self.lobby.receive(connection.conn, event.payload))
        elif opcode == BINARY:
            error = ProtocolError("binary-frame", "Binary frames are not accepted; send JSON text.")
            self._reject(connection, error)
        elif opcode == PING:
            connection.write_now(encode_frame(0xA, event.payload))
        elif opcode == CLOSE:
            self._close_received(connection, event.payload)

    def _reject(self, connection: _Connection, error: ProtocolError) -> None:
        self.metrics.transport_errors[error.code] += 1
        self.apply(self.lobby.reject(connection.conn, error))

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
        self._per_ip[connection.ip] -= 1
        if self._per_ip[connection.ip] <= 0:
            del self._per_ip[connection.ip]
        log.debug("conn %d closed (%s)", connection.conn, self.lobby.name_of(connection.conn))
        connection.out.clear()
        # No closing handshake means the socket dropped: the lobby parks the user for resume.
        self.apply(self.lobby.disconnect(connection.conn, clean=connection.closing))

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
            elif self.cluster is not None:
                self.cluster.carry(effect)
        if self._presence_timer is None and self.lobby.presence_pending and self._loop:
            delay = max(self.settings.presence_interval, self._presence_cooldown)
            self._presence_timer = self._loop.call_later(delay, self._flush_presence)

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
        if dirty and self._batch_time is None:  # only sends a flush will write count
            self._batch_time = self.frame_time
        if dirty and not self._flush_scheduled and not self.reading and self._loop is not None:
            self._flush_scheduled = True  # outside a read (timers, bus): write next turn
            self._loop.call_soon(self.flush_dirty)

    def flush_dirty(self) -> None:
        """Write everything queued: one write per connection."""
        self._flush_scheduled = False
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, []
        for connection in dirty:
            self.flush_one(connection)
        if self._batch_time is not None:  # one sample per turn: the oldest frame's wait
            self.metrics.relay_latency.observe(time.perf_counter() - self._batch_time)
            self._batch_time = None

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
            self.metrics.slow_readers_dropped += 1
            transport.abort()

    def _housekeeping(self) -> None:
        assert self._loop is not None
        self.apply(self.lobby.expire())
        self._housekeeping_timer = self._loop.call_later(1.0, self._housekeeping)

    def _flush_presence(self) -> None:
        self._presence_timer = None
        effects = self.lobby.flush_presence()
        # Reference clients need the whole list each time: in a big lobby that
        # is N lists of N names. Space updates so they stay within a byte budget.
        sent = sum(len(e.payload) * len(e.conns) for e in effects if isinstance(e, Send))
        self._presence_cooldown = sent / PRESENCE_BYTES_PER_SECOND
        self.apply(effects)

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
                self.metrics.heartbeat_dropped += 1
                connection.abort()
                continue
            connection.missed_pings += 1
            connection.write_now(ping)
        assert self._loop is not None
        self._heartbeat_timer = self._loop.call_later(self.settings.heartbeat, self._heartbeat)

    # -- HTTP endpoints ----------------------------------------------------

    def readiness_problem(self) -> str | None:
        """Why this server should get no new traffic now, or None when it is ready."""
        if self._stopping:
            return "shutting down"
        if self.draining:
            return "draining"
        if self.cluster is not None and not self.cluster.bus.available:
            return "bus unavailable"
        return None

    def _live(self, headers: Mapping[str, str]) -> Response:
        return text(200, "live\n")

    def _ready(self, headers: Mapping[str, str]) -> Response:
        problem = self.readiness_problem()
        return text(503, f"not ready: {problem}\n") if problem else text(200, "ready\n")

    def _metrics(self, headers: Mapping[str, str]) -> Response:
        lobby = self.lobby
        local = lobby.local_names()
        ringing = sum(1 for n in local if lobby.partner_of(n) is not None and not lobby.is_busy(n))
        snapshot = Snapshot(
            sockets=len(self.sockets),
            websockets=len(self.websockets),
            users=len(local),
            calls_active=lobby.active_calls(),
            calls_ringing=ringing,
            ready=self.readiness_problem() is None,
            messages=lobby.received_types,
            errors=lobby.error_codes,
        )
        return Response(200, render(self.metrics, snapshot).encode(), CONTENT_TYPE)

    def _ice_endpoint(self, headers: Mapping[str, str]) -> Response:
        """ICE servers for a signed-in session: ``Authorization: Bearer <resume token>``."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        message = self.lobby.ice_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if message is None:
            return Response(
                401,
                b"sign in over the WebSocket first; send its resume token as a Bearer token\n",
                headers=(("WWW-Authenticate", 'Bearer realm="chinwag"'),),
            )
        return json_response(200, message)

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
    # Everything allocated so far lives as long as the process: keep it out of
    # the collector's scans, and collect the young generation less often (the
    # relay path allocates short-lived tuples by the million).
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    print(f"chinwag listening on {server.url}", flush=True)
    if server.certificate is not None:
        print(f"chinwag certificate SHA-256 {server.certificate.fingerprint}", flush=True)
    network_urls = server.network_urls()
    for url in network_urls:
        print(f"  from other machines: {url}", flush=True)
    if network_urls and server.certificate is None:
        print(
            "  (browsers allow camera and microphone only on localhost or over HTTPS:"
            " add --self-signed for phones and laptops on your network)",
            flush=True,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    if settings.drain > 0:
        # Let a load balancer see /healthz/ready fail and move new users elsewhere first.
        log.info("draining for %.1f s before shutting down", settings.drain)
        server.draining = True
        stop.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.drain)  # a second signal skips it
    log.info("shutting down")
    await server.stop()


def _policy(settings: Settings) -> Policy:
    """The lobby's limits and timings from the server's settings."""
    return Policy(
        chat_rate=Rate(settings.chat_rate, 4 * settings.chat_rate),
        signal_rate=Rate(settings.signal_rate, 4 * settings.signal_rate),
        resume_grace=settings.resume_grace,
        ring_timeout=settings.ring_timeout,
        room_call_max=settings.room_call_max,
    )
