"""Heartbeat: silent sockets are dropped in bounded time; answering ones live on."""

from __future__ import annotations

import asyncio
from typing import Any

from chinwag.transport.heartbeat import HEARTBEAT_SLICES
from tests.reliability.rawws import RawSocket
from tests.support import Client, StartServer

HEARTBEAT = 0.2
MISSES = 2
RESUME_GRACE = 0.3


async def test_silent_client_is_dropped_and_its_partner_hears_gone(
    start_server: StartServer,
) -> None:
    server = await start_server(
        heartbeat=HEARTBEAT, heartbeat_misses=MISSES, resume_grace=RESUME_GRACE
    )
    mute = await RawSocket.open(server.port)
    mute.send_json({"type": "username", "name": "mute"})
    alice = await Client.open(server.port)
    try:
        await alice.sign_in("alice", ["ringing", "plain-text"])
        await alice.wait_for("userlist")
        await alice.send({"type": "call-invite", "target": "mute"})
        await alice.wait_for("call-accept", name="mute")  # accepted on the reference's behalf
        began = asyncio.get_running_loop().time()
        # From here the raw socket neither reads nor answers a single ping.
        bound = HEARTBEAT * (MISSES + 2) + RESUME_GRACE + 1.0
        hang_up = await alice.wait_for("hang-up", timeout=bound, name="mute")
        assert hang_up["reason"] == "gone"
        assert asyncio.get_running_loop().time() - began >= HEARTBEAT * MISSES
        assert server.metrics.heartbeat_dropped == 1
        assert "mute" not in server.lobby.usernames()
    finally:
        mute.abort()
        await alice.close()


async def read_all(client: Client, into: list[dict[str, Any]]) -> None:
    """Read like a live page does (aiohttp answers pings only while someone reads)."""
    while True:
        into.append(await client.next(timeout=60))


async def test_answering_clients_survive_many_intervals(start_server: StartServer) -> None:
    server = await start_server(heartbeat=0.05, heartbeat_misses=MISSES)
    idle = await Client.open(server.port)
    chatty = await Client.open(server.port)
    seen: list[dict[str, Any]] = []
    readers = [
        asyncio.create_task(read_all(idle, seen)),
        asyncio.create_task(read_all(chatty, [])),
    ]
    try:
        await idle.sign_in("idle")
        await chatty.sign_in("chatty")
        loop = asyncio.get_running_loop()
        end = loop.time() + 0.05 * 20
        while loop.time() < end:  # 20 intervals, checked at each
            assert len(server.websockets) == 2
            await asyncio.sleep(0.05)
        assert server.metrics.heartbeat_dropped == 0
        await chatty.send({"type": "message", "text": "still here?"})
        while not any(m.get("text") == "still here?" for m in seen):
            assert loop.time() < end + 5, "the idle client missed the chat line"
            await asyncio.sleep(0.02)
    finally:
        for reader in readers:
            reader.cancel()
        await idle.close()
        await chatty.close()


async def test_a_heartbeat_tick_pings_one_slice_and_a_round_pings_everyone(
    start_server: StartServer,
) -> None:
    """Pings are spread over the interval: no one callback writes to every socket."""
    server = await start_server(heartbeat=600)  # the timer never fires: ticks are called here
    clients = [await Client.open(server.port) for _ in range(2 * HEARTBEAT_SLICES)]
    try:
        for number, client in enumerate(clients):
            await client.sign_in(f"user{number}")
        sockets = list(server.websockets.values())
        assert len(sockets) == len(clients)
        server.heartbeat.tick()  # no await in between: no pong can reset a count
        pinged = [s for s in sockets if s.missed_pings == 1]
        assert 0 < len(pinged) < len(sockets)
        assert len({s.conn % HEARTBEAT_SLICES for s in pinged}) == 1
        for _ in range(HEARTBEAT_SLICES - 1):
            server.heartbeat.tick()
        assert [s.missed_pings for s in sockets] == [1] * len(sockets)
    finally:
        for client in clients:
            await client.close()
