"""``chinwag doctor``: check, from where it runs, everything a cross-network call needs.

It reads the same settings as ``serve`` and checks what chinwag would hand
out, with exactly the credentials it would issue:

- the public URL: plain HTTP on an address other than localhost makes
  browsers on other machines refuse the camera (not a secure context);
- TURN configured at all;
- for each ``ice_url``, over its transport (UDP, TCP, or TLS for ``turns:``):
  resolve, STUN Binding (the reflexive address), TURN Allocate, and data
  through the relay (two allocations sending to each other);
- a UDP URL that gets no answer is retried over TCP on the same host and
  port, to tell "UDP blocked, TCP fine" from "unreachable";
- the clock: when the TURN server refuses the credentials, the same secret
  is tried once more with an expiry ten years away. If that is accepted, the
  secret is right and the TURN server thinks the normal credentials have
  already expired, so the two clocks differ by more than ``turn_ttl``.
  (TURN responses carry no date, so this expiry window is the only clock the
  two servers share.)
- each ``sfu`` URL (a Janus): reachable, ``sfu_secret`` accepted, VideoRoom
  loaded in Janus 1.0 or newer, rooms creatable (see :mod:`chinwag.sfu.doctor`).

Each check gives one :class:`Finding` (status, stable code, detail, fix);
:func:`run_doctor` prints them one per line, or as JSON, and exits 1 if any
failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any, Final
from urllib.parse import urlsplit

from ..config import Settings, add_arguments, load_settings
from ..core.auth import is_loopback_host
from ..sfu.doctor import check_sfu
from .findings import Finding, Status
from .probe import (
    ProbeError,
    TurnTarget,
    allocate,
    binding,
    close_client,
    open_client,
    relay_round_trip,
    resolve,
)
from .turn import IceServers, IceUrl, rest_credentials

__all__ = ["Finding", "add_doctor_command", "diagnose", "run_doctor"]

#: Records one step's finding: ``found(step, status, code, detail, fix="")``.
Found = Callable[..., None]

#: The user name the doctor's TURN credentials are issued for.
DOCTOR_USER: Final = "chinwag-doctor"
#: Expiry of the clock probe's credentials: far beyond any plausible clock error.
_CLOCK_PROBE_TTL: Final = 10 * 365 * 24 * 3600


_FIXES: Final = {
    "resolve-failed": "check the host name in ice_url, or this machine's DNS",
    "unreachable": "start the TURN server, or open its port in the firewall "
    "(and check the port in ice_url)",
    "tls-failed": "give the TURN server a certificate valid for this host name (turns: needs it)",
    "credentials-refused": "make turn_secret equal coturn's static-auth-secret "
    "(`chinwag turn-config` prints a matching config), and realm the same",
    "clock-off": "synchronise the clocks of this server and the TURN server (NTP)",
    "peer-refused": "the relay refuses to forward between its own allocations: check "
    "allowed-peer-ip / denied-peer-ip (and external-ip behind NAT) in turnserver.conf",
    "relay-no-data": "open the relay's UDP port range (min-port..max-port) in the firewall, "
    "and set external-ip if the TURN server is behind NAT",
    "turn-error": "see the TURN server's log for this error",
}


#: The step a probe error is reported under.
_STEP_OF: Final = {
    "resolve-failed": "resolve",
    "unreachable": "reach",
    "tls-failed": "reach",
    "relay-no-data": "relay data",
    "peer-refused": "relay data",
}


async def diagnose(settings: Settings, patience: float = 3.0) -> list[Finding]:
    """Every check for ``settings``, in a stable order; TURN URLs are probed concurrently."""
    findings = [_public_url_finding(settings)]
    servers = IceServers.from_settings(settings)
    if not any(url.is_turn for url in servers.urls):
        findings.append(
            Finding(
                "turn",
                "fail",
                "no-turn",
                "no TURN server is configured, so people behind symmetric NATs or "
                "firewalls that block UDP cannot be connected",
                "run coturn with the config from `chinwag turn-config`, then set "
                "ice_url=turn:HOST:3478?transport=udp (and ?transport=tcp) and turn_secret",
            )
        )
    results = await asyncio.gather(*(_check_url(url, servers, patience) for url in servers.urls))
    tcp_urls = {(url.host, url.port) for url in servers.urls if url.transport == "tcp"}
    for url, url_findings in zip(servers.urls, results, strict=True):
        if _over_udp(url) and url_findings[-1].code == "unreachable":
            udp_blocked = await _tcp_works(url, servers, patience, (url.host, url.port) in tcp_urls)
            url_findings[-1] = udp_blocked or url_findings[-1]
        findings.extend(url_findings)
    sfu_checks = (check_sfu(url, settings.sfu_secret, patience) for url in settings.sfu)
    findings.extend(await asyncio.gather(*sfu_checks))
    return findings


def _public_url_finding(settings: Settings) -> Finding:
    tls = bool(settings.cert or settings.self_signed)
    url = settings.public_url or f"{'https' if tls else 'http'}://{settings.host}:{settings.port}"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" or is_loopback_host(host):
        return Finding("public url", "ok", "ok", f"{url} is a secure context for browsers")
    return Finding(
        "public url",
        "fail",
        "insecure-origin",
        f"{url} is plain HTTP on a non-localhost address: browsers on other machines "
        "will refuse the camera and microphone there",
        "serve HTTPS (cert and key, or self_signed), or put a TLS proxy in front and "
        "set public_url=https://...",
    )


def _target(url: IceUrl, servers: IceServers, secret_ttl: int | None = None) -> TurnTarget:
    transport = "tls" if url.scheme == "turns" else (url.transport or "udp")
    if not url.is_turn:
        return TurnTarget(url.host, url.port, transport)
    if servers.secret:
        username, password, _ = rest_credentials(
            servers.secret, DOCTOR_USER, secret_ttl or servers.ttl, time.time()
        )
        return TurnTarget(url.host, url.port, transport, username, password)
    return TurnTarget(url.host, url.port, transport, servers.username, servers.password)


async def _check_url(url: IceUrl, servers: IceServers, patience: float) -> list[Finding]:
    """Resolve, Binding, and for TURN URLs Allocate and relay data: one finding per step."""
    target = _target(url, servers)
    findings: list[Finding] = []

    def found(step: str, status: Status, code: str, detail: str, fix: str = "") -> None:
        findings.append(Finding(f"{url.url} {step}", status, code, detail, fix))

    try:
        address = await resolve(url.host, url.port, target.transport)
        found("resolve", "ok", "ok", f"{url.host} is {address[0]}")
        client = await open_client(target, address, patience)
        try:
            mapped = await binding(client, patience)
            found("binding", "ok", "ok", f"this machine is seen as {mapped[0]}:{mapped[1]}")
        finally:
            await close_client(client, patience)
        if url.is_turn:
            await _check_relay(url, servers, address, patience, found)
    except ProbeError as error:
        step = _STEP_OF.get(error.code, "allocate")
        detail = f"{target.transport.upper()}: {error.detail}"
        found(step, "fail", error.code, detail, _FIXES.get(error.code, ""))
    return findings


async def _check_relay(
    url: IceUrl, servers: IceServers, address: tuple[str, int], patience: float, found: Found
) -> None:
    """Two allocations with chinwag's credentials, then data between them."""
    target = _target(url, servers)
    first = await open_client(target, address, patience)
    second = await open_client(target, address, patience)
    try:
        try:
            relayed = await allocate(first, patience)
        except ProbeError as error:
            refused = error.code == "credentials-refused"
            if refused and await _clock_explains(url, servers, address, patience):
                found(
                    "allocate",
                    "fail",
                    "clock-off",
                    f"the TURN server refused credentials valid for {servers.ttl} s but "
                    "accepted ones valid for ten years: its clock is ahead of this one "
                    f"by more than {servers.ttl} s (or this one is behind)",
                    _FIXES["clock-off"],
                )
                return
            raise
        await allocate(second, patience)
        found("allocate", "ok", "ok", f"relay address {relayed[0]}:{relayed[1]}")
        await relay_round_trip(first, second, patience)
        found("relay data", "ok", "ok", "data crossed between two allocations")
    finally:
        for client in (first, second):
            await close_client(client, patience)


async def _clock_explains(
    url: IceUrl, servers: IceServers, address: tuple[str, int], patience: float
) -> bool:
    """True if credentials with a far expiry are accepted where normal ones were not."""
    if not servers.secret:
        return False
    client = await open_client(_target(url, servers, _CLOCK_PROBE_TTL), address, patience)
    try:
        await allocate(client, patience)
    except ProbeError:
        await close_client(client, patience)
        return False
    await close_client(client, patience)
    return True


def _over_udp(url: IceUrl) -> bool:
    return url.scheme in ("stun", "turn") and url.transport in (None, "udp")


async def _tcp_works(
    url: IceUrl, servers: IceServers, patience: float, tcp_configured: bool
) -> Finding | None:
    """For a UDP URL that got no answer: if the same host and port answer over TCP,
    the finding that names "UDP blocked, TCP fine"; None if TCP fails too."""
    target = replace(_target(url, servers), transport="tcp")
    try:
        client = await open_client(target, await resolve(url.host, url.port, "tcp"), patience)
        try:
            await binding(client, patience)
        finally:
            await close_client(client, patience)
    except ProbeError:
        return None
    check = f"{url.url} reach"
    detail = f"UDP to {url.host}:{url.port} is blocked from here, but TCP to it works"
    if tcp_configured:
        return Finding(
            check,
            "warn",
            "udp-blocked",
            detail + ": calls still connect through the TCP relay, with more delay",
            f"open UDP port {url.port} to the TURN server for the best call quality",
        )
    return Finding(
        check,
        "fail",
        "udp-blocked",
        detail + ", and no ice_url offers TCP",
        f"add ice_url=turn:{url.host}:{url.port}?transport=tcp (or open UDP {url.port})",
    )


def add_doctor_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``chinwag doctor``; its handler is ``args.handler(args) -> exit code``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "doctor",
        help="check that calls can cross networks (TURN, credentials, UDP/TCP, public URL) "
        "and that each Janus (--sfu) is usable",
        description="Check every STUN/TURN server chinwag would hand out, with the "
        "credentials it would issue, each Janus given with --sfu, and the settings browsers "
        "depend on. Reads the same "
        "flags, environment and config file as serve. Exits 1 if a check failed.",
    )
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--patience", type=float, default=3.0, help="seconds to wait for each answer"
    )
    parser.set_defaults(handler=run_doctor)
    return parser


def run_doctor(args: argparse.Namespace) -> int:
    """Print the findings for the settings in ``args``; 1 if any failed, else 0."""
    settings = load_settings(args)
    findings = asyncio.run(diagnose(settings, args.patience))
    if args.json:
        print(json.dumps([asdict(finding) for finding in findings], indent=2))
    else:
        for finding in findings:
            print(finding.line())
    return 1 if any(finding.status == "fail" for finding in findings) else 0
