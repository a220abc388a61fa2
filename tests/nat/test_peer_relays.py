"""The Python peer puts a TURN URL that works first, since aiortc uses only the first.

Real coturn on loopback; the UDP URL points at a port where nothing listens,
standing in for UDP that never arrives (the NAT lab test blocks UDP for real).
"""

from __future__ import annotations

import time

from chinwag.client import IceServer, IceServers
from chinwag.nat.turn import rest_credentials
from chinwag.peer.relays import usable_ice_servers, working_relay_first
from tests.coturn import free_port
from tests.nat.conftest import StartCoturn


def ice_servers(coturn_secret: str, *urls: str) -> IceServers:
    username, credential, _ = rest_credentials(coturn_secret, "bot", 600, time.time())
    return IceServers(servers=(IceServer(urls=urls, username=username, credential=credential),))


async def test_a_dead_udp_url_gives_way_to_a_working_tcp_one(start_coturn: StartCoturn) -> None:
    coturn = start_coturn("relay-order")
    dead_udp = f"turn:127.0.0.1:{free_port()}?transport=udp"
    servers = ice_servers("relay-order", dead_udp, coturn.url("tcp"))
    reordered = await working_relay_first(servers, patience=1.0)
    assert reordered.servers[0].urls == (coturn.url("tcp"), dead_udp)


async def test_the_servers_order_is_kept_when_the_first_works(start_coturn: StartCoturn) -> None:
    coturn = start_coturn("relay-order")
    servers = ice_servers("relay-order", coturn.url("udp"), coturn.url("tcp"))
    assert await working_relay_first(servers, patience=1.0) == servers


async def test_wrong_credentials_keep_the_order(start_coturn: StartCoturn) -> None:
    coturn = start_coturn("relay-order")
    servers = ice_servers("another-secret", coturn.url("udp"), coturn.url("tcp"))
    assert await working_relay_first(servers, patience=1.0) == servers


async def test_a_silent_stun_url_is_dropped(start_coturn: StartCoturn) -> None:
    """aioice would wait 5 s for its answer on every new connection."""
    coturn = start_coturn("relay-order")
    silent_stun = f"stun:127.0.0.1:{free_port()}"
    answering_stun = f"stun:127.0.0.1:{coturn.port}"
    servers = ice_servers("relay-order", silent_stun, answering_stun, coturn.url("tcp"))
    usable = await usable_ice_servers(servers, patience=1.0)
    assert usable.servers[0].urls == (answering_stun, coturn.url("tcp"))
