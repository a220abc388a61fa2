"""``chinwag janus-config --out DIR``: a Janus configuration folder made for chinwag.

``janus -F DIR`` then serves exactly what chinwag uses and nothing else:

- the Janus API over WebSocket only, on 127.0.0.1 by default (``--listen``),
  guarded by ``api_secret`` (chinwag's ``sfu_secret``). Browsers never talk
  to this API: chinwag relays each participant's SDP, so it is the only
  client, and per-person rights (which room, which feed) are enforced by
  chinwag holding each person's Janus handle. That is why token auth is off:
  it would guard an API nobody but chinwag can reach. The Admin API is off
  (no admin transport is loaded at all);
- the VideoRoom plugin with no sample rooms and an ``admin_key`` (the same
  secret), so only chinwag can create rooms;
- every other plugin, transport, logger and event handler disabled, listed
  by file name (Janus loads everything in its folders unless told not to);
- ICE: the RTP port range (the UDP ports a firewall must open), a 1:1 NAT
  mapping for cloud VMs (``--public-ip``), interfaces to use or ignore, and
  the STUN server chinwag hands out (from ``ice_url``) so Janus learns its
  public address when it has no ``--public-ip``. TURN for Janus itself is
  written commented out: clients use chinwag's TURN to reach Janus, and Janus
  needs its own relay only when it has no public address at all.

Nothing here does I/O except :func:`run_janus_config`, which lists the Janus
library folders (to disable modules this module does not know by name) and
writes the files.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sysconfig
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..config import ConfigError, Settings, add_arguments, load_settings
from ..nat.turn import parse_ice_url, rest_credentials

__all__ = [
    "DEFAULT_WS_PORT",
    "JanusOptions",
    "add_janus_config_command",
    "janus_config_files",
    "run_janus_config",
]

DEFAULT_WS_PORT: Final = 8188
#: The one plugin and the one transport chinwag uses.
VIDEOROOM: Final = "libjanus_videoroom.so"
WEBSOCKETS: Final = "libjanus_websockets.so"

#: What Debian's janus 1.1.2 ships, per folder; :func:`run_janus_config` adds
#: whatever else it finds there, so a newer Janus's extra modules stay off too.
KNOWN_MODULES: Final[Mapping[str, tuple[str, ...]]] = {
    "plugins": (
        "libjanus_audiobridge.so", "libjanus_duktape.so", "libjanus_echotest.so",
        "libjanus_lua.so", "libjanus_nosip.so", "libjanus_recordplay.so", "libjanus_sip.so",
        "libjanus_streaming.so", "libjanus_textroom.so", "libjanus_videocall.so",
        "libjanus_voicemail.so", VIDEOROOM,
    ),
    "transports": (
        "libjanus_http.so", "libjanus_mqtt.so", "libjanus_nanomsg.so", "libjanus_pfunix.so",
        "libjanus_rabbitmq.so", WEBSOCKETS,
    ),
    "loggers": ("libjanus_jsonlog.so",),
    "events": (
        "libjanus_gelfevh.so", "libjanus_mqttevh.so", "libjanus_nanomsgevh.so",
        "libjanus_rabbitmqevh.so", "libjanus_sampleevh.so", "libjanus_wsevh.so",
    ),
}  # fmt: skip
#: The ``<folder>_folder`` setting of each module kind, and the one module kept.
_FOLDER_SETTING: Final = {
    "plugins": "plugins_folder",
    "transports": "transports_folder",
    "loggers": "loggers_folder",
    "events": "events_folder",
}
_KEEP: Final = {VIDEOROOM, WEBSOCKETS}

#: Folders Janus refuses as a recording directory (its ``protected_folders``).
#: Debian's sample also lists /var; chinwag's data directory (and so its
#: recordings) is usually under /var/lib, so it is left out on purpose.
PROTECTED_FOLDERS: Final = (
    "/bin", "/boot", "/dev", "/etc", "/initrd", "/lib", "/lib32", "/lib64", "/proc",
    "/sbin", "/sys", "/usr", "/var/lib/janus", "/var/log",
)  # fmt: skip

#: Lifetime of the TURN REST credentials written (commented out) for Janus itself.
_JANUS_TURN_TTL: Final = 365 * 24 * 3600


def default_module_root() -> str:
    """Where Debian installs Janus's modules (``/usr/lib/<multiarch>/janus``)."""
    multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    return f"/usr/lib/{multiarch}/janus"


@dataclass(frozen=True)
class JanusOptions:
    """What ``janus-config`` writes; the defaults suit Janus on chinwag's own machine."""

    api_secret: str = field(repr=False)
    listen: str = "127.0.0.1"
    ws_port: int = DEFAULT_WS_PORT
    rtp_min_port: int = 20000
    rtp_max_port: int = 40000
    public_ip: str | None = None
    ice_enforce: tuple[str, ...] = ()
    ice_ignore: tuple[str, ...] = ("vmnet",)
    session_timeout: int = 60
    string_ids: bool = False
    module_root: str = field(default_factory=default_module_root)
    debug_level: int = 4

    def check(self) -> None:
        """Raise ConfigError naming the first option Janus could not use."""
        if len(self.api_secret) < 16:
            raise ConfigError(
                "janus-config needs sfu_secret of at least 16 characters; make one with: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        for name, value in (("sfu_secret", self.api_secret), ("listen", self.listen)):
            _quotable(name, value)
        if not 1 <= self.ws_port <= 65535:
            raise ConfigError(f"janus ws port must be 1-65535, not {self.ws_port}")
        if not 1024 <= self.rtp_min_port < self.rtp_max_port <= 65535:
            raise ConfigError(
                f"janus RTP ports {self.rtp_min_port}-{self.rtp_max_port}: "
                "need 1024 <= min < max <= 65535"
            )
        if self.public_ip is not None:
            try:
                ipaddress.ip_address(self.public_ip)
            except ValueError:
                raise ConfigError(f"--public-ip {self.public_ip!r} is not an IP address") from None
        for name in (*self.ice_enforce, *self.ice_ignore):
            if not name or "," in name:
                raise ConfigError(f"ICE interface {name!r}: give one name or address per option")
            _quotable("ICE interface", name)
        if self.session_timeout < 10:
            raise ConfigError("janus session_timeout must be at least 10 seconds")


def _quotable(name: str, value: str) -> None:
    if any(ord(char) < 32 or char in '"\\' for char in value):
        raise ConfigError(f"{name} may not contain quotes, backslashes or control characters")


def _quote(value: str) -> str:
    return f'"{value}"'


def _jcfg(sections: Iterable[tuple[str, Iterable[str]]], header: str) -> str:
    """A libconfig-style ``.jcfg`` text: ``name: { key = value ... }`` per section."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name, body in sections:
        lines += ["", f"{name}: {{", *(f"\t{line}" for line in body), "}"]
    return "\n".join(lines) + "\n"


def janus_config_files(
    options: JanusOptions,
    settings: Settings,
    found_modules: Mapping[str, Iterable[str]] | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """The configuration folder's files, by name: write them all to one folder.

    ``settings`` supplies the STUN/TURN URLs and TURN secret chinwag hands
    out; ``found_modules`` the module files actually present per folder kind
    (so they are disabled too); ``now`` dates the commented TURN credentials.
    """
    options.check()
    header = "Written by `chinwag janus-config`; run: janus -F THIS_FOLDER"
    disabled = {
        kind: sorted((set(known) | set((found_modules or {}).get(kind, ()))) - _KEEP)
        for kind, known in KNOWN_MODULES.items()
    }
    core = _jcfg(
        [
            ("general", _general(options)),
            ("certificates", ["# none: Janus makes a self-signed DTLS certificate at start"]),
            ("media", _media(options)),
            ("nat", _nat(options, settings, now if now is not None else time.time())),
            ("plugins", [f"disable = {_quote(','.join(disabled['plugins']))}"]),
            ("transports", [f"disable = {_quote(','.join(disabled['transports']))}"]),
            ("loggers", [f"disable = {_quote(','.join(disabled['loggers']))}"]),
            (
                "events",
                ["broadcast = false", f"disable = {_quote(','.join(disabled['events']))}"],
            ),
        ],
        header + "\nThe Janus core: API secret, ICE, and which modules load (only "
        f"{VIDEOROOM} and {WEBSOCKETS}).",
    )
    return {
        "janus.jcfg": core,
        "janus.transport.websockets.jcfg": _websockets(options, header),
        "janus.plugin.videoroom.jcfg": _videoroom(options, header),
    }


def _general(options: JanusOptions) -> list[str]:
    root = options.module_root.rstrip("/")
    return [
        *(f"{setting} = {_quote(f'{root}/{kind}')}" for kind, setting in _FOLDER_SETTING.items()),
        f"debug_level = {options.debug_level}",
        "debug_timestamps = true",
        "debug_colors = false",
        "# Every Janus API request must carry this secret (chinwag's sfu_secret).",
        f"api_secret = {_quote(options.api_secret)}",
        "# No token_auth and no admin_secret: the API is chinwag's alone and the",
        "# Admin API is not served by any transport.",
        'server_name = "chinwag-janus"',
        "# chinwag sends a keepalive well within this; a silent session is destroyed.",
        f"session_timeout = {options.session_timeout}",
        "reclaim_session_timeout = 0",
        "hide_dependencies = true",
        "# Recordings go to chinwag's data directory (often under /var/lib).",
        "protected_folders = [",
        *(f"\t{_quote(folder)}," for folder in PROTECTED_FOLDERS[:-1]),
        f"\t{_quote(PROTECTED_FOLDERS[-1])}",
        "]",
    ]


def _media(options: JanusOptions) -> list[str]:
    return [
        "# The UDP ports media uses: open these in the firewall.",
        f'rtp_port_range = "{options.rtp_min_port}-{options.rtp_max_port}"',
        "ipv6 = false",
        "no_media_timer = 1",
        "slowlink_threshold = 4",
    ]


def _nat(options: JanusOptions, settings: Settings, now: float) -> list[str]:
    lines = ["nice_debug = false", "ignore_unreachable_ice_server = true"]
    if options.public_ip:
        lines += [
            "# 1:1 NAT (cloud VM): every host candidate carries the public address.",
            f"nat_1_1_mapping = {_quote(options.public_ip)}",
            "keep_private_host = false",
        ]
    else:
        lines += _stun_lines(settings)
    if options.ice_enforce:
        lines.append(f"ice_enforce_list = {_quote(','.join(options.ice_enforce))}")
    if options.ice_ignore:
        lines.append(f"ice_ignore_list = {_quote(','.join(options.ice_ignore))}")
    return lines + _turn_lines(settings, now)


def _stun_lines(settings: Settings) -> list[str]:
    """Janus's STUN server: the first STUN or TURN URL chinwag hands out (TURN servers
    answer STUN too), so Janus learns its public address the way browsers do."""
    urls = [parse_ice_url(url) for url in settings.ice_url]
    udp = [url for url in urls if url.scheme in ("stun", "turn") and url.transport != "tcp"]
    if not udp:
        return ["# No STUN server: give --public-ip if this machine is behind NAT."]
    return [f"stun_server = {_quote(udp[0].host.strip('[]'))}", f"stun_port = {udp[0].port}"]


def _turn_lines(settings: Settings, now: float) -> list[str]:
    turn = [url for url in (parse_ice_url(url) for url in settings.ice_url) if url.is_turn]
    if not turn:
        return []
    url = turn[0]
    if settings.turn_secret:
        username, password, expires = rest_credentials(
            settings.turn_secret, "janus", _JANUS_TURN_TTL, now
        )
        until = time.strftime("%Y-%m-%d", time.gmtime(expires))
        valid = [f"# These TURN REST credentials expire on {until}: run janus-config again."]
    else:
        username, password, valid = settings.turn_username or "", settings.turn_password or "", []
    return [
        "# Janus needs a relay of its own only when it has no reachable address",
        "# at all; clients already use chinwag's TURN to reach it. To use one:",
        *valid,
        f"#turn_server = {_quote(url.host.strip('[]'))}",
        f"#turn_port = {url.port}",
        f"#turn_type = {_quote('tls' if url.scheme == 'turns' else url.transport or 'udp')}",
        f"#turn_user = {_quote(username)}",
        f"#turn_pwd = {_quote(password)}",
    ]


def _websockets(options: JanusOptions, header: str) -> str:
    general = [
        'json = "compact"',
        "ws = true",
        f"ws_port = {options.ws_port}",
        f"ws_ip = {_quote(options.listen)}",
        "wss = false",
        "# Idle connections are pinged, so a dead chinwag is noticed.",
        "pingpong_trigger = 30",
        "pingpong_timeout = 10",
    ]
    if ipaddress.ip_address(options.listen).is_loopback:
        general.append('ws_acl = "127.,::1"')
    admin = ["admin_ws = false", "admin_wss = false"]
    return _jcfg(
        [("general", general), ("admin", admin)],
        header + "\nThe Janus API over WebSocket, for chinwag only; the Admin API is off.",
    )


def _videoroom(options: JanusOptions, header: str) -> str:
    general = [
        "# Rooms are created by chinwag only: a create request must carry this key.",
        f"admin_key = {_quote(options.api_secret)}",
        "lock_rtp_forward = true",
        "events = false",
        f"string_ids = {'true' if options.string_ids else 'false'}",
    ]
    return _jcfg(
        [("general", general)],
        header + "\nThe VideoRoom plugin, with no sample rooms: chinwag creates one room per\n"
        "call (random id and secret; recording and audio-level events are set per room).",
    )


def add_janus_config_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``chinwag janus-config``; its handler is ``args.handler(args) -> exit code``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "janus-config",
        help="write a Janus configuration folder for chinwag's SFU (run: janus -F DIR)",
        description="Write janus.jcfg, janus.transport.websockets.jcfg and "
        "janus.plugin.videoroom.jcfg for a Janus that serves chinwag's room calls: the API "
        "secret is sfu_secret, the API listens on loopback, only VideoRoom and WebSockets "
        "load, and ICE uses the STUN server chinwag hands out. Reads the same flags, "
        "environment and config file as serve.",
    )
    add_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write (created)")
    parser.add_argument(
        "--listen", default="127.0.0.1", help="address of Janus's WebSocket API; default loopback"
    )
    parser.add_argument("--ws-port", type=int, default=DEFAULT_WS_PORT, help="its TCP port")
    parser.add_argument("--rtp-min-port", type=int, default=20000, help="lowest UDP media port")
    parser.add_argument("--rtp-max-port", type=int, default=40000, help="highest UDP media port")
    parser.add_argument(
        "--public-ip", help="this machine's public address, if behind 1:1 NAT (cloud VMs)"
    )
    parser.add_argument(
        "--ice-interface",
        action="append",
        default=[],
        metavar="NAME",
        help="gather ICE candidates only on this interface or address prefix; repeatable",
    )
    parser.add_argument(
        "--ice-ignore",
        action="append",
        default=None,
        metavar="NAME",
        help="never gather on this interface or address prefix; repeatable (default vmnet)",
    )
    parser.add_argument(
        "--string-ids", action="store_true", help="VideoRoom string room and feed ids"
    )
    parser.add_argument(
        "--janus-lib", default=None, help="folder of Janus's plugins/ transports/ ... folders"
    )
    parser.set_defaults(handler=run_janus_config)
    return parser


def run_janus_config(args: argparse.Namespace) -> int:
    """Write the folder for the settings in ``args``; raises ConfigError if unusable."""
    settings = load_settings(args)
    options = JanusOptions(
        api_secret=settings.sfu_secret or "",
        listen=args.listen,
        ws_port=args.ws_port,
        rtp_min_port=args.rtp_min_port,
        rtp_max_port=args.rtp_max_port,
        public_ip=args.public_ip,
        ice_enforce=tuple(args.ice_interface),
        ice_ignore=tuple(args.ice_ignore) if args.ice_ignore is not None else ("vmnet",),
        string_ids=args.string_ids,
        module_root=args.janus_lib or default_module_root(),
    )
    found = _installed_modules(Path(options.module_root))
    write_janus_config(Path(args.out), janus_config_files(options, settings, found))
    print(f"wrote {args.out}; run: janus -F {args.out}")
    return 0


def _installed_modules(root: Path) -> dict[str, list[str]]:
    """The ``.so`` files in each of Janus's module folders (none if not installed)."""
    return {
        kind: sorted(path.name for path in (root / kind).glob("*.so"))
        for kind in KNOWN_MODULES
        if (root / kind).is_dir()
    }


def write_janus_config(folder: Path, files: Mapping[str, str]) -> None:
    """Write the files, readable by their owner only (they hold the API secret)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        path.chmod(0o600)
