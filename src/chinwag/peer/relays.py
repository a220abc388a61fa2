"""Fit the server's ICE servers to aiortc: a TURN URL that works first, silent STUN dropped.

aiortc (1.16, ``rtcicetransport.connection_kwargs``) keeps the first ``turn:``
or ``turns:`` URL of its configuration and ignores the rest. chinwag hands
out UDP first, so on a network that blocks UDP to the relay the peer would get
no relay candidate even though a ``?transport=tcp`` URL follows (a browser
tries them all). Before a call, :func:`working_relay_first` tries a TURN
Allocate on every URL at once (``chinwag.nat.probe``, the same probe as
``chinwag doctor``) and moves the first that succeeds, in the server's order,
to the front. If none works the order is kept, and the call gets whatever
aiortc finds.

:func:`usable_ice_servers` also drops ``stun:`` URLs that give no Binding
answer from here: aioice waits up to 5 s for one while gathering, so where UDP
is blocked every new connection would start 5 s late (and a browser gives a
connection 10 s, counted from before our offer). Both probes run at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from aioice.turn import TurnClientProtocol

from ..client import IceServer, IceServers
from ..config import ConfigError
from ..nat import probe
from ..nat.turn import parse_ice_url

__all__ = ["usable_ice_servers", "working_relay_first"]

logger = logging.getLogger("chinwag.peer.relays")

#: One probe step on an open client (Allocate for TURN, Binding for STUN).
Step = Callable[[TurnClientProtocol, float], Awaitable[object]]


async def usable_ice_servers(servers: IceServers, patience: float = 2.0) -> IceServers:
    """``servers`` as :func:`working_relay_first` orders them, without silent STUN URLs."""
    reordered, silent = await asyncio.gather(
        working_relay_first(servers, patience), _silent_stun_urls(servers, patience)
    )
    if not silent:
        return reordered
    kept = []
    for server in reordered.servers:
        urls = tuple(u for u in server.urls if u not in silent)
        if urls:
            kept.append(dataclasses.replace(server, urls=urls))
    return dataclasses.replace(reordered, servers=tuple(kept))


async def working_relay_first(servers: IceServers, patience: float = 2.0) -> IceServers:
    """``servers`` with the first TURN URL that allocates moved to the very front."""
    candidates = [
        (server, url) for server in servers.servers for url in server.urls if _is_turn(url)
    ]
    if len(candidates) < 2:
        return servers
    works = await asyncio.gather(
        *(_answers(server, url, probe.allocate, patience) for server, url in candidates)
    )
    chosen = next((pair for pair, ok in zip(candidates, works, strict=True) if ok), None)
    if chosen is None:
        logger.info("no TURN URL allocates from here; keeping the server's order")
        return servers
    server, url = chosen
    logger.info("TURN URL used by this peer: %s", url)
    first = dataclasses.replace(server, urls=(url, *(u for u in server.urls if u != url)))
    rest = tuple(s for s in servers.servers if s is not server)
    return dataclasses.replace(servers, servers=(first, *rest))


async def _silent_stun_urls(servers: IceServers, patience: float) -> set[str]:
    """The ``stun:`` URLs of ``servers`` that give no Binding answer within ``patience``."""
    stun = [(s, u) for s in servers.servers for u in s.urls if u.lower().startswith("stun:")]
    answers = await asyncio.gather(*(_answers(s, u, probe.binding, patience) for s, u in stun))
    silent = {url for (_, url), ok in zip(stun, answers, strict=True) if not ok}
    for url in sorted(silent):
        logger.info("STUN URL %s gives no answer from here; not used", url)
    return silent


def _is_turn(url: str) -> bool:
    return url.lower().startswith(("turn:", "turns:"))


async def _answers(server: IceServer, url: str, step: Step, patience: float) -> bool:
    """True if ``step`` (with ``server``'s credentials) succeeds on ``url``."""
    try:
        parsed = parse_ice_url(url)
    except ConfigError:
        return False
    transport = "tls" if parsed.scheme == "turns" else (parsed.transport or "udp")
    target = probe.TurnTarget(
        parsed.host, parsed.port, transport, server.username, server.credential
    )
    try:
        address = await probe.resolve(parsed.host, parsed.port, transport)
        client = await probe.open_client(target, address, patience)
    except probe.ProbeError:
        return False
    try:
        await step(client, patience)
    except probe.ProbeError as error:
        logger.info("%s: %s", url, error.detail)
        return False
    finally:
        await probe.close_client(client, patience)
    return True
