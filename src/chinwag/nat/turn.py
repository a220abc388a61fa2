"""ICE servers for clients: URL checks, TURN REST credentials, a coturn config.

Nothing here does I/O. The server builds one :class:`IceServers` from its
settings at start-up (a bad ``ice_url`` stops it there, with a
:class:`~chinwag.config.ConfigError` naming the URL), then calls
:meth:`IceServers.for_user` after each sign-in, and again when 80% of the
credentials' life has passed (the lobby keeps that time), sending the result
as it is.

TURN REST credentials (the scheme coturn calls ``use-auth-secret``): the
username is ``"<unix expiry>:<user>"`` and the password is
``base64(HMAC-SHA1(secret, username))``. The TURN server recomputes the HMAC
with the same secret, so the secret itself never leaves the two servers.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Final

from ..config import ConfigError, Settings, add_arguments, load_settings

__all__ = [
    "DENIED_PEER_NETWORKS",
    "IceServers",
    "IceUrl",
    "add_turn_config_command",
    "coturn_config",
    "parse_ice_url",
    "rest_credentials",
    "run_turn_config",
]


_DEFAULT_PORTS: Final = {"stun": 3478, "turn": 3478, "turns": 5349}

#: Addresses a relay must never forward to: without these, anyone holding a
#: credential could use the TURN server to reach the operator's private network.
#: ``::/128`` is left out on purpose: coturn 4.6 matches ``denied-peer-ip=::``
#: against every address, which would refuse all peers.
DENIED_PEER_NETWORKS: Final = (
    "0.0.0.0/8",  # "this" network
    "10.0.0.0/8",  # RFC 1918 private
    "100.64.0.0/10",  # carrier-grade NAT
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local (cloud metadata services live here)
    "172.16.0.0/12",  # RFC 1918 private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation
    "192.88.99.0/24",  # 6to4 relay anycast
    "192.168.0.0/16",  # RFC 1918 private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation
    "203.0.113.0/24",  # documentation
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and broadcast
    "::1/128",  # loopback
    "::ffff:0:0/96",  # IPv4-mapped: would bypass the IPv4 rules above
    "64:ff9b::/96",  # NAT64
    "100::/64",  # discard-only
    "2001::/23",  # IETF protocol assignments
    "2001:db8::/32",  # documentation
    "2002::/16",  # 6to4
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
    "ff00::/8",  # multicast
)

_URL = re.compile(
    r"""
    (?P<scheme>[a-z]+):
    (?P<host>\[[^\]]*\]|[a-z0-9.-]+)
    (?::(?P<port>[0-9]{1,5}))?
    (?:\?transport=(?P<transport>[a-z]+))?
    """,
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True)
class IceUrl:
    """One checked STUN or TURN URL (RFC 7064 / RFC 7065)."""

    url: str
    scheme: str
    host: str
    port: int
    transport: str | None

    @property
    def is_turn(self) -> bool:
        """True for ``turn:`` and ``turns:``: the URLs that need credentials."""
        return self.scheme in ("turn", "turns")


def parse_ice_url(url: str) -> IceUrl:
    """Check one ``ice_url`` value; raise ConfigError saying what is wrong with it."""

    def bad(reason: str) -> ConfigError:
        return ConfigError(f"ice_url {url!r}: {reason}")

    scheme = url.partition(":")[0].lower()
    if scheme not in _DEFAULT_PORTS:
        raise bad("must start with stun:, turn: or turns:")
    if url[len(scheme) :].startswith("://"):
        raise bad(f"write {scheme}:HOST:PORT, without '//'")
    match = _URL.fullmatch(url)
    if match is None:
        raise bad(
            f"expected {scheme}:HOST[:PORT]" + ("" if scheme == "stun" else "[?transport=udp|tcp]")
        )
    host = match["host"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise bad(f"{host} is not an IPv6 address") from None
    port = int(match["port"]) if match["port"] else _DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise bad(f"port must be 1-65535, not {port}")
    transport = match["transport"].lower() if match["transport"] else None
    if transport is not None and scheme == "stun":
        raise bad("?transport= is only for turn: and turns: URLs")
    if transport not in (None, "udp", "tcp"):
        raise bad(f"transport must be udp or tcp, not {transport!r}")
    return IceUrl(url=url, scheme=scheme, host=host, port=port, transport=transport)


def rest_credentials(secret: str, user: str, ttl: int, now: float) -> tuple[str, str, int]:
    """TURN REST credentials for ``user``, valid for ``ttl`` seconds from ``now``.

    Returns ``(username, credential, expires)``; ``expires`` is a Unix time.
    """
    expires = int(now) + ttl
    username = f"{expires}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii"), expires


@dataclass(frozen=True)
class IceServers:
    """The ``ice-servers`` messages one server hands out; build with :meth:`from_settings`."""

    urls: tuple[IceUrl, ...]
    ttl: int = 600
    secret: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> IceServers:
        """Check the NAT traversal settings together; raise ConfigError on the first problem."""
        urls = tuple(parse_ice_url(url) for url in settings.ice_url)
        has_turn_url = any(url.is_turn for url in urls)
        static = bool(settings.turn_username or settings.turn_password)
        if static and not (settings.turn_username and settings.turn_password):
            raise ConfigError("turn_username and turn_password go together")
        if has_turn_url and not (settings.turn_secret or static):
            raise ConfigError(
                "ice_url has a turn: URL, so set turn_secret (or turn_username/turn_password)"
            )
        if (settings.turn_secret or static) and not has_turn_url:
            raise ConfigError("TURN credentials are set but ice_url has no turn: or turns: URL")
        if settings.turn_ttl < 10:
            raise ConfigError(f"turn_ttl must be at least 10 seconds, not {settings.turn_ttl}")
        return cls(
            urls=urls,
            ttl=settings.turn_ttl,
            secret=settings.turn_secret or None,
            username=settings.turn_username or None,
            password=settings.turn_password or None,
        )

    @property
    def relays(self) -> bool:
        """Whether it hands out TURN relays (which cost the operator, so are budgeted)."""
        return any(url.is_turn for url in self.urls)

    def for_user(self, name: str, now: float, turn: bool = True) -> dict[str, Any]:
        """The ``ice-servers`` message for ``name`` signing in at Unix time ``now``
        (its STUN URLs alone when ``turn`` is False: the core withholds the relay)."""
        servers: list[dict[str, Any]] = []
        stun_urls = [url.url for url in self.urls if not url.is_turn]
        turn_urls = [url.url for url in self.urls if url.is_turn and turn]
        if stun_urls:
            servers.append({"urls": stun_urls})
        expires: int | None = None
        if turn_urls and self.secret:
            username, credential, expires = rest_credentials(self.secret, name, self.ttl, now)
            servers.append({"urls": turn_urls, "username": username, "credential": credential})
        elif turn_urls:
            servers.append(
                {"urls": turn_urls, "username": self.username, "credential": self.password}
            )
        return {"type": "ice-servers", "iceServers": servers, "expires": expires}


def _ip_range(network: str) -> str:
    net = ipaddress.ip_network(network)
    if net.num_addresses == 1:
        return str(net.network_address)
    return f"{net.network_address}-{net.broadcast_address}"


def coturn_config(settings: Settings, min_port: int = 49152, max_port: int = 65535) -> str:
    """A coturn ``turnserver.conf`` that accepts the credentials this server hands out."""
    if not (settings.turn_secret or settings.turn_username):
        raise ConfigError(
            "turn-config needs turn_secret (or turn_username/turn_password); make one with: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if not 1024 <= min_port <= max_port <= 65535:
        raise ConfigError(f"relay ports {min_port}-{max_port}: need 1024 <= min <= max <= 65535")
    urls = [parse_ice_url(url) for url in settings.ice_url]
    turn_ports = [url.port for url in urls if url.scheme == "turn"]
    tls_ports = [url.port for url in urls if url.scheme == "turns"]
    listening_port = turn_ports[0] if turn_ports else _DEFAULT_PORTS["turn"]
    lines = [
        "# coturn configuration for chinwag, written by `chinwag turn-config`.",
        "# Use it as /etc/turnserver.conf, or run: turnserver -c THIS_FILE",
        f"# Firewall: open {listening_port}/udp and {listening_port}/tcp"
        + (f", {tls_ports[0]}/tcp (turns:)" if tls_ports else "")
        + f", and {min_port}-{max_port}/udp for relayed media.",
        "",
        f"listening-port={listening_port}",
        *_tls_lines(settings, tls_ports),
        f"min-port={min_port}",
        f"max-port={max_port}",
        "# Behind 1:1 NAT (most cloud VMs), give the public address:",
        "# external-ip=PUBLIC_IP/PRIVATE_IP",
        "",
        f"realm={settings.turn_realm}",
        *_auth_lines(settings),
        "fingerprint",
        "no-cli",
        "no-multicast-peers",
        "",
        "# Never relay to private, loopback or link-local addresses. A test that runs",
        "# coturn on 127.0.0.1 instead passes --allow-loopback-peers and leaves out",
        "# the 127.0.0.0/8 and ::1 lines.",
        *(f"denied-peer-ip={_ip_range(network)}" for network in DENIED_PEER_NETWORKS),
    ]
    return "\n".join(lines) + "\n"


def _tls_lines(settings: Settings, tls_ports: list[int]) -> list[str]:
    if not tls_ports:
        return ["no-tls", "no-dtls"]
    return [
        f"tls-listening-port={tls_ports[0]}",
        f"cert={settings.cert}" if settings.cert else "cert=/etc/ssl/turn/fullchain.pem",
        f"pkey={settings.key}" if settings.key else "pkey=/etc/ssl/turn/privkey.pem",
        "no-tlsv1",
        "no-tlsv1_1",
    ]


def _auth_lines(settings: Settings) -> list[str]:
    if settings.turn_secret:
        return ["use-auth-secret", f"static-auth-secret={settings.turn_secret}"]
    return ["lt-cred-mech", f"user={settings.turn_username}:{settings.turn_password}"]


def add_turn_config_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``chinwag turn-config``; its handler is ``args.handler(args) -> exit code``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "turn-config",
        help="print a coturn config matching this server's TURN secret and realm",
        description="Print a coturn turnserver.conf that accepts the TURN credentials "
        "chinwag hands out. Reads the same flags, environment and config file as serve.",
    )
    add_arguments(parser)
    parser.add_argument(
        "--relay-min-port", type=int, default=49152, help="lowest UDP port for relayed media"
    )
    parser.add_argument(
        "--relay-max-port", type=int, default=65535, help="highest UDP port for relayed media"
    )
    parser.set_defaults(handler=run_turn_config)
    return parser


def run_turn_config(args: argparse.Namespace) -> int:
    """Print the coturn config for the settings in ``args``; raises ConfigError if unusable."""
    settings = load_settings(args)
    print(coturn_config(settings, args.relay_min_port, args.relay_max_port), end="")
    return 0
