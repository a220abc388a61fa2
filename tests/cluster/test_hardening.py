"""Issue 14 on a real Redis: waits on the cluster are bounded, and an outage is never silent."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from tests.cluster.conftest import RedisServer
from tests.cluster.support import ChinwagProcess
from tests.reliability.rawws import RawSocket, client_frame
from tests.support import Client, StartServer

FEATURES = ["deltas", "ringing", "plain-text"]


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid``, from /proc/<pid>/status."""
    status = Path(f"/proc/{pid}/status").read_text()
    [line] = [line for line in status.splitlines() if line.startswith("VmRSS:")]
    return int(line.split()[1]) * 1024


async def test_frames_sent_while_a_sign_in_waits_are_bounded(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    chinwag = ChinwagProcess(redis_server.url, tmp_path / "chinwag.log")
    assert redis_server.process is not None
    attackers: list[RawSocket] = []
    try:
        for _ in range(4):
            raw = await RawSocket.open(chinwag.port)
            await raw.next_json()
            attackers.append(raw)
        before = rss_bytes(chinwag.process.pid)
        os.kill(redis_server.process.pid, signal.SIGSTOP)  # every claim now waits
        frame = client_frame(0x1, b'{"type":"x","pad":"' + b"y" * 60_000 + b'"}')
        for raw in attackers:
            raw.send_json({"type": "username", "name": f"waiter{id(raw)}"})
        for _ in range(200):  # bounded: 4 sockets x 200 x 60 KB = 48 MB while the claims wait
            for raw in attackers:
                raw.send_bytes(frame)
            await asyncio.gather(*(raw.writer.drain() for raw in attackers))
        warned = await attackers[0].next_json(timeout=10)
        assert (warned["type"], warned["code"]) == ("error", "rate-limited"), warned
        grown = rss_bytes(chinwag.process.pid) - before
        assert grown < 24 * 1024 * 1024, f"the server grew by {grown / 2**20:.1f} MiB"
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
        for raw in attackers:
            raw.abort()
        chinwag.stop()


async def test_a_resume_token_naming_a_dead_node_is_answered_at_once(
    start_server: StartServer, redis_server: RedisServer
) -> None:
    server = await start_server(redis=redis_server.url, presence_interval=0.02)
    client = await Client.open(server.port)
    try:
        began = time.monotonic()
        await client.send(
            {"type": "username", "name": "alice", "features": FEATURES, "resume": "ghost.abc"}
        )
        await client.wait_for("signed-in", name="alice")
        await client.wait_for("error", code="bad-resume")
        assert time.monotonic() - began < 2.0  # not the 3 s resume wait
    finally:
        await client.close()


async def test_a_message_to_another_process_during_an_outage_comes_back_unavailable(
    start_server: StartServer, redis_server: RedisServer
) -> None:
    one = await start_server(redis=redis_server.url, presence_interval=0.02)
    two = await start_server(redis=redis_server.url, presence_interval=0.02)
    alice, bob = await Client.open(one.port), await Client.open(two.port)
    try:
        await alice.sign_in("alice", FEATURES)
        await bob.sign_in("bob", FEATURES)
        deadline = time.monotonic() + 10
        while "bob" not in one.lobby.usernames():
            assert time.monotonic() < deadline, "bob never listed on the first process"
            await asyncio.sleep(0.01)
        redis_server.stop()
        answered = 0
        for n in range(20):  # bounded: 20 messages during the outage
            await alice.send({"type": "new-ice-candidate", "target": "bob", "n": n})
            reply = await alice.wait_for("error", timeout=10)
            assert (reply["code"], reply["target"]) == ("unavailable", "bob"), reply
            answered += 1
        assert answered == 20  # none lost in silence
    finally:
        await alice.close()
        await bob.close()
