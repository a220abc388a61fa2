"""What only the Redis bus does: leases that lapse, and living through Redis outages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from redis.asyncio import Redis

from chinwag.cluster import BusUnavailable
from chinwag.core.events import ChatLine, NamesLost, NodeGone, NodeUsers
from tests.cluster.conftest import Cluster, RedisServer
from tests.cluster.support import eventually, record

# A node in its own process, to be killed with SIGKILL: no goodbye, no cleanup.
_DOOMED_NODE = textwrap.dedent(
    """
    import asyncio, sys
    from chinwag.cluster.redis import RedisBus
    from chinwag.core.events import UserRecord

    async def main():
        bus = RedisBus(sys.argv[1], node="doomed", lease=5.0, renew_interval=0.2)
        await bus.start(lambda event: None)
        assert await bus.claim(UserRecord("zed", "doomed"))
        print("ready", flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
    """
)


def start_doomed_node(redis_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _DOOMED_NODE, redis_url],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


async def test_a_killed_node_is_gone_once_its_lease_lapses(
    redis_cluster: Cluster, redis_server: RedisServer
) -> None:
    a, seen_by_a = await redis_cluster.add("a", lease=30.0)  # a stall must not cost a its own
    doomed = start_doomed_node(redis_server.url)
    try:
        assert doomed.stdout is not None and doomed.stdout.readline() == "ready\n"
        await seen_by_a.wait_for(lambda e: isinstance(e, NodeUsers) and e.node == "doomed")
        assert not await a.claim(record("zed", "a"))
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(5)
        # Gone once its 5 s lease lapses: no goodbye was said, so nothing else can
        # have told the others. The deadline is generous so a busy machine passes.
        await seen_by_a.wait_for(lambda e: e == NodeGone("doomed"), timeout=60)
        assert await a.claim(record("zed", "a"))
    finally:
        doomed.kill()
        doomed.wait(5)


async def test_a_joining_node_learns_the_others_and_they_learn_it(redis_cluster: Cluster) -> None:
    a, seen_by_a = await redis_cluster.add("a")
    assert await a.claim(record("alice", "a"))
    b, seen_by_b = await redis_cluster.add("b")
    assert seen_by_b.of(NodeUsers) == [NodeUsers("a", (record("alice", "a"),))]
    await seen_by_a.wait_for(lambda e: e == NodeUsers("b", ()))
    assert b.available


async def test_redis_outage_refuses_claims_then_everything_comes_back(
    redis_cluster: Cluster, redis_server: RedisServer
) -> None:
    a, seen_by_a = await redis_cluster.add("a")
    b, seen_by_b = await redis_cluster.add("b")
    assert await a.claim(record("alice", "a"))
    assert await b.claim(record("bob", "b"))

    redis_server.stop()
    await eventually(lambda: not a.available and not b.available, 30, "both see Redis gone")
    with pytest.raises(BusUnavailable):
        await a.claim(record("carol", "a"))
    with pytest.raises(BusUnavailable):
        await a.directory()
    a.publish(ChatLine("alice", 1, 0, "lost in the outage"))  # dropped, never raises
    await b.release("bob")  # remembered: bob is not re-claimed
    seen_by_a.events.clear()
    seen_by_b.events.clear()

    redis_server.start()  # empty: Redis lost every key
    await eventually(lambda: a.available and b.available, 30, "both back without a restart")
    assert await a.directory() == [record("alice", "a")]
    assert not await b.claim(record("alice", "b"))
    assert await b.claim(record("bob", "b"))
    # each lobby was handed the other's users again
    await seen_by_b.wait_for(lambda e: e == NodeUsers("a", (record("alice", "a"),)))
    await seen_by_a.wait_for(lambda e: isinstance(e, NodeUsers) and e.node == "b")
    assert not seen_by_b.of(ChatLine) and not seen_by_a.of(NodeGone)
    a.publish(ChatLine("alice", 2, 0, "after the outage"))
    await seen_by_b.wait_for(lambda e: isinstance(e, ChatLine) and e.id == 2)


async def test_a_bus_started_while_redis_is_down_joins_when_it_comes_up(
    redis_cluster: Cluster, redis_server: RedisServer
) -> None:
    redis_server.stop()
    began = time.monotonic()
    a, _ = await redis_cluster.add("a", timeout=0.5)
    # start() does not hang on a dead Redis: it gives up after its 0.5 s timeout
    # (the bound leaves room for a busy machine).
    assert time.monotonic() - began < 10.0
    assert not a.available
    with pytest.raises(BusUnavailable):
        await a.claim(record("alice", "a"))
    redis_server.start()
    await eventually(lambda: a.available, 30, "joined once Redis is up")
    assert await a.claim(record("alice", "a"))


async def test_names_taken_while_a_node_was_cut_off_are_reported_lost(
    redis_cluster: Cluster, redis_server: RedisServer
) -> None:
    # a renews slowly, so its lapse can be staged between two of its ticks
    a, seen_by_a = await redis_cluster.add("a", lease=5.0, renew_interval=1.0)
    b, seen_by_b = await redis_cluster.add("b")
    assert await a.claim(record("alice", "a"))
    assert await a.claim(record("anna", "a"))
    staff = Redis.from_url(redis_server.url)
    try:
        for _ in range(5):  # if a's tick slips in between, it re-claims; stage it again
            await staff.delete("chinwag:alive:a")  # as if a had stalled past its lease
            if await b.claim(record("\u0430lice", "b")):  # a look-alike (U+0430, Cyrillic)
                break
        else:
            pytest.fail("b never got alice")
    finally:
        await staff.aclose()
    await seen_by_b.wait_for(lambda e: e == NodeGone("a"))
    lost = await seen_by_a.wait_for(lambda e: isinstance(e, NamesLost))
    assert lost == NamesLost(("alice",))  # by key, and named as a's user typed it
    await eventually(lambda: a.available, 30, "a rejoined")
    assert sorted(await a.directory(), key=lambda r: r.node) == [
        record("anna", "a"),
        record("\u0430lice", "b"),
    ]
    await seen_by_b.wait_for(lambda e: e == NodeUsers("a", (record("anna", "a"),)))


async def test_clusters_on_two_databases_of_one_redis_are_separate(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url.rsplit("/", 1)[0]
    db0 = Cluster("redis", f"{url}/0")
    db1 = Cluster("redis", f"{url}/1")
    try:
        a, _ = await db0.add("a")
        _, seen_by_b = await db0.add("b")
        _, seen_by_c = await db1.add("c")
        assert await a.claim(record("alice", "a"))
        a.publish(ChatLine("alice", 1, 0, "db 0 only"))
        await seen_by_b.wait_for(lambda e: isinstance(e, ChatLine))
        c = db1.buses[0]
        assert await c.claim(record("alice", "c"))  # names are per database too
        c.send("b", ChatLine("alice", 2, 0, "not for db 0"))
        c.publish(ChatLine("alice", 3, 0, "db 1 only"))
        a.send("b", ChatLine("alice", 4, 0, "marker"))
        await seen_by_b.wait_for(lambda e: isinstance(e, ChatLine) and e.id == 4)
        assert [e.id for e in seen_by_b.of(ChatLine)] == [1, 4]  # type: ignore[attr-defined]
        assert seen_by_c.messages == []
    finally:
        await db0.close()
        await db1.close()
