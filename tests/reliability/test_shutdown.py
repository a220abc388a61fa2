"""Graceful shutdown: bounded in time however many sockets there are and however they behave."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from chinwag.config import settings_for_tests
from chinwag.transport.server import ChinwagServer
from tests.reliability.rawws import RawSocket
from tests.support import Client

# Seconds: the 2 s closing handshake allowance plus slack for a busy machine; a
# stop that waited on each deaf socket in turn (150 of them) would still fail.
STOP_BOUND = 10.0


async def test_stop_is_bounded_with_many_sockets() -> None:
    server = ChinwagServer(settings_for_tests(host="127.0.0.1", port=0))
    await server.start()
    polite = [await Client.open(server.port) for _ in range(20)]
    deaf = [await RawSocket.open(server.port) for _ in range(150)]  # never answer a close
    half_open = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(30)]
    for index, client in enumerate(polite):
        await client.sign_in(f"polite{index}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while len(server.lobby.usernames()) < len(polite) or len(server.sockets) < 200:
        assert loop.time() < deadline, (len(server.lobby.usernames()), len(server.sockets))
        await asyncio.sleep(0.01)
    codes: list[int | None] = []

    async def close_code(client: Client) -> None:
        while True:
            msg = await client.ws.receive(timeout=STOP_BOUND)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                codes.append(client.ws.close_code)
                return

    watchers = [asyncio.create_task(close_code(client)) for client in polite]
    began = time.monotonic()
    stopping = asyncio.create_task(server.stop())
    await asyncio.sleep(0.05)
    assert server.readiness_problem() == "shutting down"  # deaf sockets hold stop() open
    await stopping
    elapsed = time.monotonic() - began
    assert elapsed < STOP_BOUND, elapsed
    await asyncio.wait_for(asyncio.gather(*watchers), STOP_BOUND)
    assert codes == [1001] * len(polite)
    assert not server.sockets
    for raw in deaf:
        assert (await raw.close_code(timeout=1)) == 1001
        assert await raw.closed_by_server(timeout=1)
        raw.abort()
    for reader, writer in half_open:
        assert await asyncio.wait_for(reader.read(), 1) == b""
        writer.close()
    for client in polite:
        await client.close()
