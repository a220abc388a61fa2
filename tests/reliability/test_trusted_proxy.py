"""Issue 22: behind a trusted reverse proxy every per-address limit counts the client.

The "proxy" is this test on 127.0.0.1 (trusted); its clients are told apart by
``X-Forwarded-For`` or a PROXY protocol line. A client at 127.0.0.2 is not
trusted: what it claims is ignored.
"""

from __future__ import annotations

import asyncio

from chinwag.transport.proxy import TrustedProxies
from tests.reliability.rawws import ELSEWHERE, RawSocket, upgrade_request
from tests.support import StartServer


async def through_proxy(
    port: int, forwarded_for: str | None = None, proxy_line: str = "", source: str | None = None
) -> tuple[int, RawSocket]:
    """An upgrade as a proxy would pass it on: (HTTP status, the socket)."""
    local = (source, 0) if source is not None else None
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=local)
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    writer.write(proxy_line.encode() + upgrade_request(port, headers))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    return int(head.split(b" ", 2)[1]), RawSocket(reader, writer)


async def sign_in(client: RawSocket, name: str, credential: str) -> str:
    """Sign in; the first answer's type, or the error code."""
    client.send_json({"type": "username", "name": name, "credential": credential})
    while True:
        message = await client.next_json()
        if message["type"] == "error":
            return str(message["code"])
        if message["type"] in ("signed-in", "userlist"):
            return "signed-in"


async def test_forwarded_clients_are_limited_each_on_its_own(start_server: StartServer) -> None:
    server = await start_server(
        trusted_proxy=["127.0.0.1/32", "10.0.0.0/8"],
        max_per_ip=5,
        password="right",
        presence_interval=0.02,
    )
    sockets: list[RawSocket] = []
    try:
        # 40 people behind the proxy: none is refused for the proxy's address.
        for number in range(40):
            status, client = await through_proxy(server.port, f"203.0.113.{number}")
            assert status == 101, number
            sockets.append(client)
        # One of them opening a 6th connection is.
        for _ in range(4):
            status, client = await through_proxy(server.port, "198.51.100.7, 203.0.113.1")
            sockets.append(client)
        status, client = await through_proxy(server.port, "203.0.113.1")
        assert status == 429
        # Wrong passwords back off the guesser's address only.
        guesser = sockets[2]
        codes = [await sign_in(guesser, "mallory", "wrong") for _ in range(6)]
        assert codes[:3] == ["auth-failed"] * 3 and "rate-limited" in codes[3:], codes
        assert await sign_in(sockets[3], "alice", "right") == "signed-in"
        # A client that is not a trusted proxy cannot pick its address.
        for claimed in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"):
            status, client = await through_proxy(server.port, claimed, source=ELSEWHERE)
            sockets.append(client)
            assert await sign_in(client, "eve", "wrong") in ("auth-failed", "rate-limited")
        status, client = await through_proxy(server.port, "192.0.2.9", source=ELSEWHERE)
        sockets.append(client)
        assert await sign_in(client, "eve", "right") == "rate-limited"  # 127.0.0.2 waits
        assert server.gate.counts.by_address[ELSEWHERE] == 5
    finally:
        for client in sockets:
            client.writer.close()


async def test_the_proxy_protocol_names_the_client(start_server: StartServer) -> None:
    server = await start_server(
        trusted_proxy=["127.0.0.1"], proxy_protocol=True, max_per_ip=2, presence_interval=0.02
    )
    sockets: list[RawSocket] = []
    try:
        line = "PROXY TCP4 198.51.100.20 127.0.0.1 40000 443\r\n"
        for _ in range(2):
            status, client = await through_proxy(server.port, proxy_line=line)
            assert status == 101
            sockets.append(client)
        assert server.gate.counts.by_address["198.51.100.20"] == 2
        status, client = await through_proxy(server.port, proxy_line=line)
        assert status == 429
        other = "PROXY TCP6 2001:db8::1 ::1 40000 443\r\n"
        status, client = await through_proxy(server.port, proxy_line=other)
        assert status == 101
        sockets.append(client)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # no PROXY line: closed, unanswered
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    finally:
        for client in sockets:
            client.writer.close()


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    proxies = TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
    assert proxies.client_of("127.0.0.1", "1.2.3.4, 203.0.113.5, 10.1.2.3") == "203.0.113.5"
    assert proxies.client_of("127.0.0.1", "10.9.9.9, 10.1.2.3") == "10.9.9.9"
    assert proxies.client_of("127.0.0.1", "nonsense") == "127.0.0.1"
    assert proxies.client_of("192.0.2.1", "203.0.113.5") == "192.0.2.1"  # not a proxy: ignored
    assert proxies.client_of("::ffff:127.0.0.1", "[2001:db8::5]") == "2001:db8::5"
