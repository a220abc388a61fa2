"""Limits: each offender gets a clear refusal, and nobody else notices."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
import pytest

from tests.reliability.rawws import TEXT, RawSocket, client_frame, http_exchange, upgrade_request
from tests.support import Client, StartServer

CONTINUATION = 0x0


async def chat_still_works(port: int) -> None:
    """Two fresh clients can sign in and chat: the server is fine."""
    one, two = await Client.open(port), await Client.open(port)
    try:
        await one.sign_in("check-one")
        await two.sign_in("check-two")
        await two.send({"type": "message", "text": "all good"})
        await one.wait_for("message", text="all good", name="check-two")
    finally:
        await one.close()
        await two.close()


async def test_fragmented_message_over_the_limit_is_refused(start_server: StartServer) -> None:
    server = await start_server(max_frame=4096)
    bystander = await Client.open(server.port)
    raw = await RawSocket.open(server.port)
    try:
        await bystander.sign_in("bystander")
        assert (await raw.next_json())["type"] == "id"
        # Three fragments of 2000 bytes: each fits, together they do not.
        for index in range(3):
            opcode = TEXT if index == 0 else CONTINUATION
            raw.send_bytes(client_frame(opcode, b"x" * 2000, fin=index == 2))
        error = await raw.next_json()
        assert error["type"] == "error" and error["code"] == "frame-too-large"
        assert await raw.close_code() == 1009
        # Failed at once (RFC 6455 7.1.7): TCP closes without waiting for our reply.
        assert await raw.closed_by_server(timeout=1.0)
        await bystander.send({"type": "message", "text": "unbothered"})
        await bystander.wait_for("message", text="unbothered")
    finally:
        raw.abort()
        await bystander.close()


async def refused(port: int, headers: dict[str, str] | None = None) -> tuple[int, str]:
    status, body = await http_exchange(port, upgrade_request(port, headers))
    return status, body.decode()


async def test_connections_per_address_are_limited_with_429(start_server: StartServer) -> None:
    server = await start_server(max_per_ip=3)
    clients = [await Client.open(server.port) for _ in range(3)]
    try:
        status, body = await refused(server.port)
        assert (status, body) == (429, "too many connections from your address\n")
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await Client.open(server.port)
        assert caught.value.status == 429
        await clients.pop().close()
        deadline = time.monotonic() + 5
        while len(server.websockets) > 2:  # the close reaches the server asynchronously
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        clients.append(await Client.open(server.port))  # room again
        assert server.metrics.refused["too many connections from your address"] == 2
    finally:
        for client in clients:
            await client.close()


async def test_total_connections_are_limited_with_503(start_server: StartServer) -> None:
    server = await start_server(max_connections=2)
    clients = [await Client.open(server.port) for _ in range(2)]
    try:
        assert await refused(server.port) == (503, "server full\n")
        await clients[0].sign_in("inside")
        await clients[1].sign_in("also-inside")
        await clients[1].send({"type": "message", "text": "we are fine"})
        await clients[0].wait_for("message", text="we are fine")
    finally:
        for client in clients:
            await client.close()


@pytest.mark.parametrize(
    ("allow", "origin", "host", "accepted"),
    [
        ([], None, None, True),  # not a browser
        ([], "http://127.0.0.1:9999", None, True),  # a page on loopback
        ([], "http://localhost:3000", None, True),
        ([], "https://evil.example", None, False),
        ([], "null", None, False),  # sandboxed frame or file:// page
        ([], "http://chat.example:6503", "chat.example:6503", True),  # same origin
        ([], "https://chat.example", "chat.example:6503", False),  # other port
        (["https://app.example"], "https://app.example", None, True),
        (["https://app.example"], "http://127.0.0.1:9999", None, False),  # list replaces loopback
        (["*"], "https://anywhere.example", None, True),
    ],
)
async def test_origin_check(
    start_server: StartServer,
    allow: list[str],
    origin: str | None,
    host: str | None,
    accepted: bool,
) -> None:
    server = await start_server(allow_origin=allow)
    headers = {"Origin": origin} if origin else {}
    request = upgrade_request(server.port, headers)
    if host:
        request = request.replace(
            f"Host: 127.0.0.1:{server.port}".encode(), f"Host: {host}".encode()
        )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.close()
    status = int(head.split(b" ", 2)[1])
    assert status == (101 if accepted else 403), head


async def test_slow_reader_is_dropped_without_hurting_anyone(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server(
        send_buffer=64 * 1024, chat_rate=0, signal_rate=0, targeted_rate=0, inbound_rate=0
    )
    sloth = await RawSocket.open(server.port, receive_buffer=4096)
    sloth.send_json({"type": "username", "name": "sloth"})  # then never reads again
    alice, bob, carol = [await Client.open(server.port) for _ in range(3)]
    # Broadcasts are at most 4 KiB and limited in bytes x recipients per second:
    # small ones reach everyone; large ones sent to the sloth alone fill its buffer.
    news_count, bulk_count, pings = 300, 120, 150
    received: dict[str, list[dict[str, Any]]] = {"alice": [], "bob": [], "carol": []}

    async def read(client: Client, name: str) -> None:
        while True:
            message = await client.next(timeout=30)
            received[name].append(message)
            if message["type"] == "ping":  # bob answers alice's pings at once
                await client.send({"type": "pong", "target": "alice", "n": message["n"]})

    news = json.dumps({"type": "news", "pad": "n" * 3_000})
    bulk = json.dumps({"type": "bulk", "target": "sloth", "pad": "b" * 30_000})

    async def flood() -> None:
        for n in range(max(news_count, bulk_count)):
            if n < news_count:
                await carol.ws.send_str(news)
            if n < bulk_count:
                await carol.ws.send_str(bulk)

    async def ping_pong() -> list[float]:
        latencies = []
        for seq in range(pings):
            sent = time.perf_counter()
            await alice.send({"type": "ping", "target": "bob", "n": seq})
            while not any(m["type"] == "pong" and m["n"] == seq for m in received["alice"]):
                assert time.perf_counter() - sent < 2, f"pong {seq} is late"
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - sent)
        return latencies

    def news_seen(name: str) -> int:
        return sum(m["type"] == "news" for m in received[name])

    readers = []
    try:
        for client, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
            await client.sign_in(name, ["deltas", "plain-text"])
            readers.append(asyncio.create_task(read(client, name)))
        with caplog.at_level(logging.WARNING, logger="chinwag"):
            _, latencies = await asyncio.gather(flood(), ping_pong())
            deadline = time.monotonic() + 10
            while min(map(news_seen, received)) < news_count:
                assert time.monotonic() < deadline, {n: news_seen(n) for n in received}
                await asyncio.sleep(0.01)
        assert server.metrics.slow_readers_dropped == 1
        assert await sloth.closed_by_server(timeout=5)
        dropped = [r.getMessage() for r in caplog.records if "slow reader" in r.getMessage()]
        assert len(dropped) == 1 and "(sloth)" in dropped[0], dropped
        assert {n: news_seen(n) for n in received} == dict.fromkeys(received, news_count)
        pongs = [m["n"] for m in received["alice"] if m["type"] == "pong"]
        assert pongs == list(range(pings))  # none lost, in order
        latencies.sort()
        assert latencies[len(latencies) // 2] < 0.05, latencies  # the median stays normal
        assert latencies[-1] < 1.0, latencies
    finally:
        for task in readers:
            task.cancel()
        sloth.abort()
        for client in (alice, bob, carol):
            await client.close()
