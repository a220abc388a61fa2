"""Issue 14.3, attacked over real sockets: sign-ins that wait on the cluster.

A real redis-server and a real ``chinwag serve --redis`` process; the
attackers push frames while their sign-in waits, and the server's VmRSS is
read from /proc.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from tests.cluster.conftest import RedisServer
from tests.cluster.support import ChinwagProcess
from tests.reliability.rawws import TEXT, RawSocket, client_frame, http_exchange
from tests.reliability.test_limits import chat_still_works
from tests.reliability.test_transport_attacks import MEMORY_BOUND_KIB, flood

READY = b"GET /healthz/ready HTTP/1.1\r\nHost: x\r\n\r\n"


async def test_a_resume_naming_a_dead_node_is_answered_at_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    server = ChinwagProcess(redis_server.url, tmp_path / "chinwag.log")
    clients = [await RawSocket.open(server.port) for _ in range(4)]
    try:
        for client in clients:
            assert (await client.next_json())["type"] == "id"
        began = time.monotonic()
        for n, client in enumerate(clients):
            client.send_json(
                {
                    "type": "username",
                    "name": f"u{n}",
                    "resume": "0000dead0000.x",
                    "features": ["seq"],
                }
            )
        for client in clients:
            while (message := await client.next_json())["type"] != "signed-in":
                pass
            assert message["resumed"] is False
        waited = time.monotonic() - began
        print(f"resume naming a dead node: all four signed in afresh after {waited:.2f} s")
        assert waited < 1.5  # not the 3 s a live node gets to answer
    finally:
        for client in clients:
            client.abort()
        server.stop()


async def test_frames_sent_while_a_sign_in_waits_are_not_read(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    server = ChinwagProcess(redis_server.url, tmp_path / "chinwag.log")
    attackers = [await RawSocket.open(server.port) for _ in range(4)]
    assert redis_server.process is not None
    try:
        for attacker in attackers:
            assert (await attacker.next_json())["type"] == "id"
        before = server.rss_kib()
        redis_server.process.send_signal(signal.SIGSTOP)  # every claim now waits
        try:
            chat = b"".join(
                client_frame(TEXT, b'{"type":"message","text":"%d"}' % n) for n in range(1000)
            )
            for n, attacker in enumerate(attackers):
                attacker.send_json({"type": "username", "name": f"waiting{n}"})
            taken = await asyncio.gather(*(flood(a.writer, chat, 200 << 20) for a in attackers))
            growth = server.rss_kib() - before
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        print(
            f"frames during a cluster wait: server took {sum(taken) >> 10} KiB, grew {growth} KiB"
        )
        assert growth < MEMORY_BOUND_KIB
        # Once Redis answers again (the bus may first have to rejoin), everyone is served.
        deadline = time.monotonic() + 20
        while (await http_exchange(server.port, READY))[0] != 200:
            assert time.monotonic() < deadline, "not ready 20 s after Redis came back"
            await asyncio.sleep(0.1)
        await chat_still_works(server.port)
    finally:
        for attacker in attackers:
            attacker.abort()
        server.stop()
