"""Put a TURN URL that works first, because aiortc only ever uses the first one.

aiortc (1.16, ``rtcicetransport.connection_kwargs``) keeps the first ``turn:``
or ``turns:`` URL of its configuration and ignores the rest. chinwag hands
out UDP first, so on a network that blocks UDP to the relay the peer would get
no relay candidate even though a ``?transport=tcp`` URL follows (a browser
tries them all). Before a call, :func:`working_relay_first` tries a TURN
Allocate on every URL at once (``chinwag.nat.probe``, the same probe as
``chinwag doctor``) and moves the first that succeeds, in the server's order,
to the front. If none works the order is kept, and the call gets whatever
aiortc finds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from ..client import IceServer, IceServers
from ..config import ConfigError
from ..nat.probe import ProbeError, TurnTarget, allocate, close_client, open_client, resolve
from ..nat.turn import parse_ice_url

__all__ = ["working_relay_first"]

logger = logging.getLogger("chinwag.peer.relays")


async def working_relay_first(servers: IceServers, patience: float = 2.0) -> IceServers:
    """``servers`` with the first TURN URL that allocates moved to the very front."""
    candidates = [
        (server, url) for server in servers.servers for url in server.urls if _is_turn(url)
    ]
    if len(candidates) < 2:
        return servers
    works = await asyncio.gather(*(_allocates(server, url, patience) for server, url in candidates))
    chosen = next((pair for pair, ok in zip(candidates, works, strict=True) if ok), None)
    if chosen is None:
        logger.info("no TURN URL allocates from here; keeping the server's order")
        return servers
    server, url = chosen
    logger.info("TURN URL used by this peer: %s", url)
    first = dataclasses.replace(server, urls=(url, *(u for u in server.urls if u != url)))
    rest = tuple(s for s in servers.servers if s is not server)
    return dataclasses.replace(servers, servers=(first, *rest))


def _is_turn(url: str) -> bool:
    return url.lower().startswith(("turn:", "turns:"))


async def _allocates(server: IceServer, url: str, patience: float) -> bool:
    """True if a TURN Allocate with ``server``'s credentials succeeds on ``url``."""
    try:
        parsed = parse_ice_url(url)
    except ConfigError:
        return False
    transport = "tls" if parsed.scheme == "turns" else (parsed.transport or "udp")
    target = TurnTarget(parsed.host, parsed.port, transport, server.username, server.credential)
    try:
        address = await resolve(parsed.host, parsed.port, transport)
        client = await open_client(target, address, patience)
    except ProbeError:
        return False
    try:
        await allocate(client, patience)
    except ProbeError as error:
        logger.info("TURN URL %s: %s", url, error.detail)
        return False
    finally:
        await close_client(client, patience)
    return True
