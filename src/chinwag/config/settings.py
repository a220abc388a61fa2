"""Settings for ``chinwag serve``: one declaration per option, and its checks.

Each option is declared once, in :class:`Settings`, with its help text; the
flags, ``CHINWAG_*`` variables and TOML keys are made from that list in
``sources.py``. :meth:`Settings.validate` checks values that are wrong
together, wherever they came from.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from ..core.auth import is_loopback_host

__all__ = ["LOOPS", "ConfigError", "RoomConfig", "Settings"]


#: ``--loop``: uvloop's when installed (the ``fast`` extra), uvloop's, or asyncio's own.
LOOPS = ("auto", "uvloop", "asyncio")


class ConfigError(ValueError):
    """A setting has a value chinwag cannot use; the message says which."""


def _opt(default: Any, help: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help, **extra})


def _list_opt(help: str) -> Any:
    return field(default_factory=list, metadata={"help": help})


@dataclass(frozen=True)
class RoomConfig:
    """One ``[[rooms]]`` table of the config file: a room the operator set up."""

    name: str
    title: str = ""
    password: str = ""
    public: bool = False
    hosts: tuple[str, ...] = ()  # names that are hosts of this room when they enter


@dataclass
class Settings:
    """Every setting of a chinwag server. Field names are the TOML keys."""

    host: str = _opt("0.0.0.0", "address to listen on")
    port: int = _opt(6503, "TCP port for HTTP and WebSocket (the reference client uses 6503)")
    max_frame: int = _opt(
        65536, "largest WebSocket frame accepted, in bytes; bigger closes the socket with 1009"
    )
    presence_interval: float = _opt(
        0.05, "seconds over which presence changes are coalesced into one update"
    )
    send_buffer: int = _opt(1 << 20, "bytes queued for one slow client before it is disconnected")
    http_timeout: float = _opt(
        15.0, "seconds an HTTP connection may stay idle or half-sent before it is closed"
    )
    public_url: str | None = _opt(
        None,
        "the URL people open, if not http(s)://HOST:PORT (e.g. behind a TLS proxy);"
        " `chinwag doctor` checks browsers can use cameras there",
    )
    ring_timeout: float = _opt(30.0, "seconds a call rings before the caller gives up")
    # NAT traversal
    ice_url: list[str] = _list_opt(
        "STUN/TURN URL handed to clients (stun:, turn:, turns:, with ?transport=); repeatable"
    )
    turn_secret: str | None = _opt(
        None,
        "TURN REST shared secret (coturn --static-auth-secret); never sent to clients",
        secret=True,
    )
    turn_username: str | None = _opt(None, "static TURN username (instead of a shared secret)")
    turn_password: str | None = _opt(
        None, "static TURN password (instead of a shared secret)", secret=True
    )
    turn_ttl: int = _opt(
        600, "lifetime of issued TURN credentials, in seconds (fresh ones are sent before)"
    )
    turn_signed_in_only: bool = _opt(
        False, "give TURN credentials only to sessions that signed in with a credential"
    )
    turn_realm: str = _opt("chinwag", "TURN realm, for `chinwag turn-config`")
    stun_port: int | None = _opt(None, "also answer STUN Binding requests on this UDP port")
    # scale-out
    redis: str | None = _opt(
        None, "redis://HOST:PORT/DB to share one lobby across chinwag processes"
    )
    workers: int = _opt(1, "processes to start on one port (SO_REUSEPORT); needs --redis if > 1")
    # rooms
    file_max_bytes: int = _opt(
        100 * 1024 * 1024,
        "largest file people may send each other (peer to peer; the server never sees it)",
    )
    room_call_max: int | None = _opt(
        None, "participants a room call may have (default: 8 as a mesh, 50 with --sfu)"
    )
    room_call_per_address: int = _opt(
        6,
        "seats one client address may hold in one room call (raise it for an office behind"
        " one NAT)",
    )
    room_call_idle: float = _opt(
        30.0,
        "seconds a room-call seat holder with someone to connect to may send no room-signal"
        " before its seat is released",
    )
    # room calls beyond a mesh
    sfu: list[str] = _list_opt(
        "Janus WebSocket API URL (ws://127.0.0.1:8188) that carries room calls larger than"
        " mesh_max; repeatable, one per Janus instance"
    )
    sfu_secret: str | None = _opt(
        None,
        "Janus's api_secret (also names chinwag's Janus rooms); never sent to clients",
        secret=True,
    )
    mesh_max: int = _opt(4, "the largest room call kept as a mesh when --sfu is set")
    recordings: bool = _opt(
        False,
        "let people in an SFU room call record it (everyone sees it; files in data_dir/recordings)",
    )
    rooms_restricted: bool = _opt(
        False, "only the rooms listed as [[rooms]] tables in the config file (and the default room)"
    )
    rooms: list[RoomConfig] = field(
        default_factory=list,
        metadata={
            "help": "rooms set up by the operator: [[rooms]] tables (name, title, password,"
            " public, hosts) in the config file only",
            "toml_only": True,
        },
    )
    lobby_hosts: list[str] = _list_opt(
        "usernames that are hosts of the default room (without any, it has no hosts); repeatable"
    )
    invite_secret: str | None = _opt(
        None,
        "secret that signs invite links (default: token_secret; without either, a random one"
        " per process, so links work only on the process that made them)",
        secret=True,
    )
    # chat history
    data_dir: str | None = _opt(
        None, "directory for chinwag's files (default $XDG_DATA_HOME/chinwag or ~/.local/share)"
    )
    history: bool = _opt(
        True, "keep public chat lines per room (in data_dir, or in Redis with --redis)"
    )
    history_lines: int = _opt(50, "stored lines a client is sent when it joins a room")
    history_max_lines: int = _opt(1000, "lines kept per room; older ones are deleted")
    history_max_age: float = _opt(30.0, "days a line is kept before it is deleted")
    history_max_total: int = _opt(
        100_000, "lines kept across every room; the oldest are deleted first"
    )
    history_per_address: int = _opt(
        120, "lines one client address may have stored per minute (more are sent, not stored)"
    )
    # reliability and security
    drain: float = _opt(
        0.0,
        "seconds between SIGTERM and shutdown during which /healthz/ready fails"
        " (for load balancers); a second signal cuts it short",
    )
    heartbeat: float = _opt(20.0, "seconds between WebSocket pings")
    heartbeat_misses: int = _opt(2, "unanswered pings after which a client is dropped")
    resume_grace: float = _opt(30.0, "seconds a dropped client may come back with its resume token")
    chat_rate: float = _opt(
        5.0, "chat messages and renames per second per connection, bursts of 4x (0: no limit)"
    )
    signal_rate: float = _opt(
        200.0, "signaling messages per second per connection, bursts of 4x (0: no limit)"
    )
    targeted_rate: float = _opt(
        128 * 1024,
        "bytes per second one connection may send with a `target`, bursts of 4x (0: no limit)",
    )
    inbound_rate: float = _opt(
        256 * 1024,
        "bytes per second one user may be sent with a `target` by everyone, bursts of 2x"
        " (0: no limit)",
    )
    frame_rate: float | None = _opt(
        None,
        "WebSocket frames per second per connection, of any kind, bursts of 4x; frames over it"
        " are dropped unread and repeated excess closes with 1008"
        " (default: 2 x signal_rate + chat_rate; 0: no limit)",
    )
    password: str | None = _opt(None, "shared password needed to sign in", secret=True)
    token_secret: str | None = _opt(
        None, "HMAC secret of sign-in tokens issued by another system", secret=True
    )
    allow_origin: list[str] = _list_opt(
        "page origin allowed to open a WebSocket (default: same origin and loopback); repeatable"
    )
    trusted_proxy: list[str] = _list_opt(
        "address or network (CIDR) of a reverse proxy whose X-Forwarded-For or PROXY protocol"
        " header gives the client's address; repeatable"
    )
    proxy_protocol: bool = _opt(
        False, "trusted proxies open each plain TCP connection with a PROXY protocol v1 line"
    )
    max_connections: int = _opt(10000, "connections accepted in total")
    max_per_ip: int = _opt(200, "connections accepted from one IP address")
    metrics_token: str | None = _opt(
        None, "bearer token /metrics requires (Authorization: Bearer TOKEN)", secret=True
    )
    metrics_listen: str | None = _opt(
        None, "HOST:PORT serving /metrics alone; the main port then has no /metrics"
    )
    # server API and webhooks (docs/api.md)
    api_key: str | None = _opt(
        None,
        "bearer key of the HTTP API under /api/v1/ (Authorization: Bearer KEY); without it"
        " the API is off",
        secret=True,
    )
    api_insecure: bool = _opt(
        False, "serve the API without TLS on an address other than loopback (a key in clear)"
    )
    webhook: list[str] = _list_opt("URL that receives signed webhook events (POST); repeatable")
    webhook_secret: str | None = _opt(
        None, "HMAC secret that signs webhook bodies (X-Chinwag-Signature)", secret=True
    )
    webhook_queue: int = _opt(
        1000, "webhook events queued per receiver; when full, the oldest is dropped"
    )
    webhook_attempts: int = _opt(
        6, "tries per webhook event (exponential back-off from 0.5 s) before it counts as failed"
    )
    cert: str | None = _opt(None, "TLS certificate (PEM) for HTTPS and WSS")
    key: str | None = _opt(None, "TLS private key (PEM)")
    self_signed: bool = _opt(False, "generate a self-signed certificate for this host's addresses")
    loop: str = _opt(
        "auto",
        "event loop: auto (uvloop if installed, the `fast` extra; else asyncio), uvloop or asyncio",
    )
    log_level: str = _opt("info", "debug, info, warning or error")
    log_format: str = _opt("text", "text or json")
    config: str | None = _opt(None, "TOML file to read settings from", cli_only=True)

    def validate(self) -> None:
        """Raise ConfigError naming the first setting that cannot work."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0-65535, not {self.port}")
        if self.max_frame < 1024:
            raise ConfigError("max_frame must be at least 1024 bytes")
        if self.presence_interval <= 0 or self.heartbeat <= 0:
            raise ConfigError("presence_interval and heartbeat must be positive")
        if bool(self.cert) != bool(self.key):
            raise ConfigError("cert and key go together")
        if self.turn_signed_in_only and not (self.password or self.token_secret):
            raise ConfigError("turn_signed_in_only needs password or token_secret to sign in with")
        if self.turn_secret and (self.turn_username or self.turn_password):
            raise ConfigError("use either turn_secret or turn_username/turn_password, not both")
        if self.workers > 1 and not self.redis:
            raise ConfigError("workers > 1 needs redis, so the processes share one lobby")
        if self.history_max_lines < 1 or self.history_max_age <= 0:
            raise ConfigError("history_max_lines and history_max_age must be positive")
        if self.history_max_total < 1 or self.history_per_address < 1:
            raise ConfigError("history_max_total and history_per_address must be positive")
        if not 0 <= self.history_lines <= self.history_max_lines:
            raise ConfigError("history_lines must be between 0 and history_max_lines")
        if self.log_format not in ("text", "json"):
            raise ConfigError("log_format must be text or json")
        if self.file_max_bytes < 0:
            raise ConfigError("file_max_bytes must be 0 (no files) or more")
        if self.loop not in LOOPS:
            raise ConfigError(f"loop must be one of {', '.join(LOOPS)}, not {self.loop!r}")
        if self.room_call_max is not None and self.room_call_max < 2:
            raise ConfigError("room_call_max must be at least 2")
        if self.mesh_max < 1:
            raise ConfigError("mesh_max must be at least 1")
        for url in self.sfu:
            if not url.startswith(("ws://", "wss://")):
                raise ConfigError(f"sfu must be a ws:// or wss:// Janus API URL, not {url!r}")
        if self.sfu and self.redis and not self.sfu_secret:
            raise ConfigError(
                "sfu with redis needs sfu_secret: every chinwag process derives the same"
                " Janus room for a call from it"
            )
        if self.recordings and not self.sfu:
            raise ConfigError("recordings needs sfu: Janus records the calls")
        if self.recordings and self.redis:
            raise ConfigError(
                "recordings work with one chinwag process only (no redis): the recording"
                " indicator is not yet shared between processes, and everyone must see it"
            )
        if self.room_call_idle <= 0 or self.room_call_per_address < 1:
            raise ConfigError("room_call_idle and room_call_per_address must be positive")
        if self.metrics_listen is not None:
            self.metrics_address()
        for network in self.trusted_proxy:
            try:
                ipaddress.ip_network(network.strip(), strict=False)
            except ValueError:
                raise ConfigError(
                    f"trusted_proxy must be addresses or networks, not {network!r}"
                ) from None
        if self.webhook and not self.webhook_secret:
            raise ConfigError("webhook needs webhook_secret, which signs every event")
        if self.webhook_queue < 1 or self.webhook_attempts < 1:
            raise ConfigError("webhook_queue and webhook_attempts must be at least 1")
        for url in self.webhook:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"webhook must be an http:// or https:// URL, not {url!r}")
        tls = bool(self.cert or self.self_signed)
        if self.api_key and not tls and not self.api_insecure and not is_loopback_host(self.host):
            raise ConfigError(
                f"api_key: the API would take its key in clear text on {self.host or '*'}; serve"
                " TLS (--cert/--key or --self-signed), listen on loopback behind a TLS proxy, or"
                " say --api-insecure"
            )
        if self.proxy_protocol and not self.trusted_proxy:
            raise ConfigError("proxy_protocol needs trusted_proxy (whose PROXY lines to believe)")

    def call_cap(self) -> int:
        """``room_call_max``, or its default: 8 people in a mesh, 50 with an SFU."""
        if self.room_call_max is not None:
            return self.room_call_max
        return 50 if self.sfu else 8

    def metrics_address(self) -> tuple[str, int]:
        """``metrics_listen`` as (host, port); ConfigError if it is not HOST:PORT."""
        host, _, port = (self.metrics_listen or "").rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ConfigError(f"metrics_listen must be HOST:PORT, not {self.metrics_listen!r}")
        return host.strip("[]"), int(port)

    def frames_per_second(self) -> float:
        """The frame budget's rate: ``frame_rate``, or twice the message rates (0: none)."""
        if self.frame_rate is not None:
            return self.frame_rate
        if self.signal_rate <= 0 or self.chat_rate <= 0:
            return 0.0
        return 2 * self.signal_rate + self.chat_rate

    def redacted(self) -> dict[str, Any]:
        """The settings with secrets hidden, for logs."""
        values = dataclasses.asdict(self)
        for f in dataclasses.fields(self):
            if f.metadata.get("secret") and values[f.name]:
                values[f.name] = "***"
        for room in values["rooms"]:
            if room["password"]:
                room["password"] = "***"
        return values
