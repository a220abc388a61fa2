"""Issue 14 on a real Redis: waits on the cluster are bounded, and an outage is never silent."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.cluster.conftest import RedisServer
from tests.support import Client, StartServer

FEATURES = ["deltas", "ringing", "plain-text"]


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid``, from /proc/<pid>/status."""
    status = Path(f"/proc/{pid}/status").read_text()
    [line] = [line for line in status.splitlines() if line.startswith("VmRSS:")]
    return int(line.split()[1]) * 1024


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
