"""The asyncio transport around the lobby: effects to writes, frames to inputs, timers.

One :class:`~chinwag.transport.connection.Connection` per TCP connection
speaks HTTP, then WebSocket; complete frames come to
:class:`~chinwag.transport.frames.Frames`, which budgets them and feeds text
frames to the :class:`~chinwag.core.lobby.Lobby`; the effects the lobby returns are carried
out by :meth:`ChinwagServer.apply` (writes through the batcher, closes, and in
a cluster the :class:`~chinwag.cluster.link.ClusterLink`).

Why not aiohttp's WebSocket: a connection here costs one small object and
no task, writes are coalesced per connection per event-loop turn (one
``send`` system call for everything a client gets in that turn), and an
oversized frame is answered with an ``error`` before the 1009 close. The
numbers are in ``docs/performance.md``.

Limits (``docs/security.md`` has the table): connections are counted from
``accept`` (``admission.py``); every write obeys one flow-control rule
(``writer.py``); every frame costs from a per-connection budget before it is
parsed, error replies are budgeted too, and repeated violations close with
1008; failed credentials make the client's address wait, longer each time.

The server is the one object its pieces (admission, frames, writer, routes,
history, heartbeat, connection) call back into; a connection sees it only as
the narrow :class:`~chinwag.transport.connection.ConnectionHost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any

from ..api.routes import api_routes
from ..api.webhooks import Webhooks
from ..background import Background
from ..cluster import Bus, ClusterRefused, create_bus
from ..cluster.link import ClusterLink
from ..config import Settings
from ..core.auth import Authenticator
from ..core.closecodes import CloseCode
from ..core.effects import Close, ConnId, CountCall, Effect, Moderated, RoomEvent, Send
from ..core.limits import FloodPolicy, Rate
from ..core.lobby import Lobby
from ..core.rooms import room_book
from ..extras import missing, require
from ..metrics import Metrics, Snapshot
from ..nat.stun import StunResponder, start_stun_server
from ..nat.turn import IceServers
from ..sfu.link import SfuLink
from .admission import AcceptErrors, Gate, open_file_limit, usable_connections
from .connection import CLOSE_TIMEOUT, Connection, Hold
from .frames import Frames
from .heartbeat import HEARTBEAT_SLICES, Heartbeat
from .history import HistoryLink
from .lobbysettings import invite_secret, lobby_policy
from .routes import Routes, load_web_files, metrics_endpoint, server_endpoints
from .tls import Certificate, local_addresses, server_context
from .websocket import TEXT, encode_frame
from .writer import Batcher

__all__ = ["ChinwagServer"]

log = logging.getLogger("chinwag.transport.server")

#: Presence updates are spaced so that they write at most this much per second.
PRESENCE_BYTES_PER_SECOND = 64 * 1024 * 1024


class ChinwagServer:
    """A running chinwag server: the lobby, its sockets and its timers."""

    def __init__(self, settings: Settings, bus: Bus | None = None) -> None:
        self.settings = settings
        if bus is None and settings.redis:
            bus = create_bus(settings.redis)
        self.ice_servers = IceServers.from_settings(settings)
        self.read_buffer = memoryview(bytearray(256 * 1024))  # shared by every connection
        self.lobby = Lobby(
            lobby_policy(settings),
            node=bus.node if bus is not None else None,
            authenticator=Authenticator.from_settings(settings),
            ice=self.ice_servers,
            rooms=room_book(settings.rooms, settings.rooms_restricted, settings.lobby_hosts),
            invite_secret=invite_secret(settings),
        )
        self.cluster = (
            ClusterLink(bus, self.lobby, self.apply, self._wait_over) if bus is not None else None
        )
        self.history = HistoryLink.from_settings(settings, self.lobby, self.apply)
        self.sfu = SfuLink.from_settings(settings, self.lobby, self.apply, bus)
        self.stun: StunResponder | None = None
        self._stun_transport: asyncio.DatagramTransport | None = None
        self.draining = False  # /healthz/ready says no; everything else goes on
        self._presence_cooldown = 0.0  # extra spacing after a large presence update
        self.metrics = Metrics()
        #: Called with every host's action (core ``Moderated``) and room event that happened
        #: on this node: webhooks, audit trails. An observer must not block or raise.
        self.observers: list[Callable[[Moderated | RoomEvent], None]] = []
        self.batcher = Batcher(self.metrics.relay_latency.observe)
        frames = settings.frames_per_second()
        self.flood = FloodPolicy(frames=Rate(frames, 4 * frames))
        self.metrics_registry = _metrics_registry(self)
        self.frames = Frames(self.lobby, self.apply, self.batcher, self.metrics, self.cluster)
        self.on_frame = self.frames.on_frame  # ConnectionHost's, looked up once per read
        self.gate = Gate(settings, self.lobby, self.metrics.refused)
        self.readdress = self.gate.readdress  # the rest of ConnectionHost's admission
        self.trusts_proxy = self.gate.proxies.trusts
        self.may_linger = self.gate.may_linger
        self.routes = Routes(load_web_files(), server_endpoints(self))
        api_gets, api_posts = api_routes(self)
        self.routes.endpoints.update(api_gets)
        self.routes.body_routes.update(api_posts)
        self.webhooks: Webhooks | None = None
        if settings.webhook and settings.webhook_secret:
            self.webhooks = Webhooks(
                settings.webhook,
                settings.webhook_secret,
                self.metrics.webhooks,
                settings.webhook_queue,
                settings.webhook_attempts,
            )
            self.observers.append(self.webhooks.observe)
            if self.sfu is not None and self.sfu.recordings is not None:
                self.sfu.recordings.recorder.finished = self._recording_finished
        self._metrics_routes: Routes | None = None
        if settings.metrics_listen:
            self._metrics_routes = Routes({}, {"/metrics": metrics_endpoint(self)}, False)
        else:
            self.routes.endpoints["/metrics"] = metrics_endpoint(self)
        self.certificate: Certificate | None = None  # set by start() when serving TLS
        self.tls: ssl.SSLContext | None = None
        self.sockets: set[Connection] = set()
        self.websockets: dict[ConnId, Connection] = {}
        self.heartbeat = Heartbeat(
            self.websockets, settings.heartbeat_misses, self.lobby.name_of, self.metrics
        )
        self._next_conn: ConnId = 0
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.background = Background("server")
        self._servers: list[asyncio.Server] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._all_closed: asyncio.Event | None = None  # set while stopping

    # -- lifecycle ---------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._servers, "start() first"
        port: int = self._servers[0].sockets[0].getsockname()[1]
        return port

    @property
    def metrics_port(self) -> int | None:
        """The port of the metrics-only listener, when ``metrics_listen`` is set."""
        if len(self._servers) < 2:
            return None
        port: int = self._servers[1].sockets[0].getsockname()[1]
        return port

    @property
    def websocket_count(self) -> int:
        return len(self.websockets)

    @property
    def url(self) -> str:
        host = self.settings.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{shown}:{self.port}/"

    def network_urls(self) -> list[str]:
        """Addresses other machines can open, when listening on every interface."""
        if self.settings.host not in ("0.0.0.0", "", "::"):
            return []
        scheme = "https" if self.tls is not None else "http"
        return [
            f"{scheme}://{address}:{self.port}/"
            for address in local_addresses()
            if "." in address and not address.startswith("127.")
        ]

    async def start(self) -> None:
        """Listen; returns once the port is bound."""
        loop = self._loop = asyncio.get_running_loop()
        loop.set_exception_handler(AcceptErrors(loop))
        self.gate.counts.max_total = usable_connections(
            self.settings.max_connections, open_file_limit()
        )
        self.tls, self.certificate = server_context(self.settings)
        # TLS is started per connection (Connection._start_tls), after the socket
        # was counted, so a handshake that never ends still holds a counted place.
        self._servers.append(
            await loop.create_server(
                lambda: Connection(self, self.routes),
                self.settings.host,
                self.settings.port,
                reuse_address=True,
                reuse_port=self.settings.workers > 1,
                backlog=4096,
            )
        )
        if self._metrics_routes is not None:
            host, port = self.settings.metrics_address()
            routes = self._metrics_routes
            self._servers.append(
                await loop.create_server(lambda: Connection(self, routes), host, port)
            )
        if self.webhooks is not None:
            self.spawn(self.webhooks.run(), "webhooks")
        self._every("heartbeat", self.settings.heartbeat / HEARTBEAT_SLICES, self.heartbeat.tick)
        self._every("housekeeping", 1.0, self._housekeeping)
        if self.settings.stun_port is not None:
            self._stun_transport, self.stun = await start_stun_server(
                self.settings.host, self.settings.stun_port
            )
        if self.cluster is not None:
            try:
                await self.cluster.start()
            except ClusterRefused:  # another format runs there: close what was opened
                await self.stop()
                raise
        if self.sfu is not None:
            await self.sfu.start()
        log.info("listening on %s", self.url)

    async def stop(
        self, code: CloseCode = CloseCode.GOING_AWAY, reason: str = "server shutting down"
    ) -> None:
        """Stop accepting, close every WebSocket with ``code``, and wait (bounded)."""
        if not self._servers:
            return
        self.gate.closing = True
        for listener in self._servers:
            listener.close()
        if self._stun_transport is not None:
            self._stun_transport.close()
        for timer in self._timers.values():
            timer.cancel()
        for connection in list(self.websockets.values()):
            connection.close_websocket(code, reason)
        for connection in list(self.sockets):
            if connection.conn == 0:
                connection.abort()
        if self.sockets:
            self._all_closed = asyncio.Event()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), CLOSE_TIMEOUT)
        for connection in list(self.sockets):
            connection.abort()
        for listener in self._servers:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(listener.wait_closed(), 1.0)
        await self.background.stop()
        if self.cluster is not None:
            await self.cluster.stop()
        if self.history is not None:
            await self.history.close()
        if self.sfu is not None:
            await self.sfu.stop()
        self._servers.clear()

    async def __aenter__(self) -> ChinwagServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run ``work`` as a task the server ends when it stops (``what`` names it in logs)."""
        self.background.spawn(work, what)

    # -- admission: the gate's (ConnectionHost) ------------------------------

    def admit(self, connection: Connection) -> tuple[int, str] | None:
        """Track and count a just-accepted connection, or say why it is refused."""
        self.sockets.add(connection)  # refused too: it stays open a moment to say why
        return self.gate.admit(connection)

    def upgrade_problem(
        self, connection: Connection, headers: Mapping[str, str]
    ) -> tuple[int, str] | None:
        """``(HTTP status, reason)`` refusing this upgrade before any WebSocket exists, or None."""
        return self.gate.upgrade_problem(connection, headers, secure=self.tls is not None)

    def forget(self, connection: Connection, clean: bool) -> None:
        """``connection`` closed: uncount it, and tell the lobby if it was a WebSocket."""
        self.sockets.discard(connection)
        self.gate.release(connection)
        if connection.conn and self.websockets.pop(connection.conn, None) is not None:
            log.debug("conn %d closed (%s)", connection.conn, self.lobby.name_of(connection.conn))
            # No closing handshake means the socket dropped: the lobby parks the user for resume.
            self.apply(self.lobby.disconnect(connection.conn, clean=clean))
        if not self.sockets and self._all_closed is not None:
            self._all_closed.set()

    def slow_reader(self, connection: Connection, unsent: int) -> None:
        """``connection``'s unsent output passed ``send_buffer``: drop it."""
        log.warning(
            "conn %d (%s) dropped: slow reader, %d bytes unsent",
            connection.conn,
            self.lobby.name_of(connection.conn),
            unsent,
        )
        self.metrics.slow_readers_dropped += 1
        connection.abort()

    # -- frames ------------------------------------------------------------

    def on_websocket_open(self, connection: Connection) -> None:
        self._next_conn += 1
        connection.conn = self._next_conn
        self.websockets[connection.conn] = connection
        self.metrics.connections_opened += 1
        log.debug("conn %d open from %s", connection.conn, connection.peer)
        self.apply(self.lobby.connect(connection.conn, connection.ip))

    def _wait_over(self, conn: ConnId) -> None:
        connection = self.websockets.get(conn)
        if connection is not None:
            connection.release(Hold.CLUSTER)

    # -- effects -----------------------------------------------------------

    def apply(self, effects: Iterable[Effect]) -> None:
        """Carry out what the lobby decided, then arm the presence timer."""
        websockets = self.websockets
        for effect in effects:
            if isinstance(effect, Send):
                self.batcher.queue(effect.conns, websockets, encode_frame(TEXT, effect.payload))
            elif isinstance(effect, Close):
                connection = websockets.get(effect.conn)
                if connection is not None:
                    connection.close_websocket(CloseCode(effect.code), effect.reason)
            elif isinstance(effect, CountCall):
                self.metrics.count_call(*effect)
            elif isinstance(effect, Moderated):
                self._moderated(effect)
            elif isinstance(effect, RoomEvent):
                for observer in self.observers:
                    observer(effect)
            elif self._carried_by_link(effect):
                continue
            elif self.cluster is not None:
                self.cluster.carry(effect)
        if "presence" not in self._timers and self.lobby.presence_pending and self._loop:
            delay = max(self.settings.presence_interval, self._presence_cooldown)
            self._timers["presence"] = self._loop.call_later(delay, self._flush_presence)

    def _carried_by_link(self, effect: Effect) -> bool:
        """The history store's or the SFU's effect, carried out by its link."""
        history, sfu = self.history, self.sfu
        return bool(history and history.carry(effect)) or bool(sfu and sfu.carry(effect))

    def _moderated(self, event: Moderated) -> None:
        """Log a host's action; each observer (a webhook sender) hears of it too."""
        detail = " ".join(f"{key}={value}" for key, value in event.detail)
        log.info(
            "moderation: room=%r action=%s by=%r target=%r %s",
            event.room, event.action, event.by, event.target, detail,
        )  # fmt: skip
        for observer in self.observers if event.here else ():
            observer(event)

    def _recording_finished(self, recording: str, room: str, state: str) -> None:
        """A recording this process made is playable (or failed): observers hear of it."""
        detail = (("recording", recording), ("state", state))
        self.apply([RoomEvent("recording.finished", room, detail=detail)])

    # -- timers ------------------------------------------------------------

    def _every(self, name: str, interval: float, tick: Any) -> None:
        assert self._loop is not None

        def run() -> None:
            tick()
            self._timers[name] = self._loop.call_later(interval, run)  # type: ignore[union-attr]

        self._timers[name] = self._loop.call_later(interval, run)

    def _housekeeping(self) -> None:
        self.apply(self.lobby.expire())
        if self.cluster is not None:
            self.cluster.expire_waits()

    def _flush_presence(self) -> None:
        del self._timers["presence"]
        effects = self.lobby.flush_presence()
        # Reference clients need the whole list each time: in a big lobby that
        # is N lists of N names. Space updates so they stay within a byte budget.
        sent = sum(len(e.payload) * len(e.conns) for e in effects if isinstance(e, Send))
        self._presence_cooldown = sent / PRESENCE_BYTES_PER_SECOND
        self.apply(effects)

    # -- what the endpoints read ---------------------------------------------

    def readiness_problem(self) -> str | None:
        """Why this server should get no new traffic now, or None when it is ready."""
        if self.gate.closing:
            return "shutting down"
        if self.draining:
            return "draining"
        if self.cluster is not None and not self.cluster.bus.available:
            return "bus unavailable"
        return None

    def snapshot(self) -> Snapshot:
        """The gauges /metrics reports, read now."""
        lobby = self.lobby
        local = lobby.local_names()
        ringing = sum(1 for n in local if lobby.partner_of(n) is not None and not lobby.is_busy(n))
        return Snapshot(
            sockets=len(self.sockets),
            websockets=len(self.websockets),
            users=len(local),
            calls_active=lobby.active_calls(),
            calls_ringing=ringing,
            ready=self.readiness_problem() is None,
            messages=lobby.received_types,
            errors=lobby.error_codes,
            **(self.history.counters() if self.history is not None else {}),
            sfu=self.sfu.counters() if self.sfu is not None else {},
        )


def _metrics_registry(server: ChinwagServer) -> Any:
    """The metrics registry, or None when prometheus_client (the metrics extra) is missing.

    Missing, /metrics says how to install it; but a server told to serve metrics
    on their own address or behind a token does not start without it.
    """
    if missing("metrics"):
        if server.settings.metrics_listen or server.settings.metrics_token:
            require("metrics")
        return None
    from ..metrics_export import registry_for

    return registry_for(server.metrics, server.snapshot)
