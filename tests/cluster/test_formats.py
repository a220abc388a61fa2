"""Upgrades: a process refuses to join a cluster that runs another cluster format.

Every process announces its format and version in its lease; one whose format
differs from a live node's exits with a one-line reason (docs/deployment.md,
"Rolling upgrade"). Real ``chinwag serve`` processes on a real redis-server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from redis.asyncio import Redis

from chinwag import __version__
from chinwag.cluster import CLUSTER_FORMAT, ClusterRefused
from chinwag.cluster.redis import RedisBus
from tests.cluster.conftest import FAST_BUS, RedisServer
from tests.cluster.support import ChinwagProcess, Recorder, until_list
from tests.support import Client

#: ``chinwag ARGS...`` as a build of another cluster format would run: the same
#: code with only the announced format changed (argv[1]).
_OTHER_FORMAT = textwrap.dedent(
    """
    import sys
    import chinwag.cluster.bus
    chinwag.cluster.bus.CLUSTER_FORMAT = int(sys.argv[1])
    from chinwag.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)

#: A refused process exits at once; the bound is for a busy machine only.
EXIT_WITHIN = 60.0


def other_format(cluster_format: int) -> list[str]:
    """The Python arguments that run ``chinwag`` announcing ``cluster_format``."""
    return ["-c", _OTHER_FORMAT, str(cluster_format)]


def serve_command(redis_url: str) -> list[str]:
    return [sys.executable, "-m", "chinwag", "serve", "--host", "127.0.0.1", "--port", "0",
            "--redis", redis_url]  # fmt: skip


def run_to_exit(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=EXIT_WITHIN,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


async def test_a_process_of_another_format_refuses_to_join_and_the_cluster_carries_on(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    older = ChinwagProcess(
        redis_server.url, tmp_path / "older.log", launcher=other_format(CLUSTER_FORMAT - 1)
    )
    try:
        refused = run_to_exit(serve_command(redis_server.url))
        assert refused.returncode == ClusterRefused.exit_code, refused.stderr
        reason = refused.stderr.strip().splitlines()
        assert len(reason) == 1, refused.stderr
        assert reason[0].startswith("chinwag: refusing to join the cluster at redis://127.0.0.1:")
        assert f"uses cluster format {CLUSTER_FORMAT}," in reason[0]
        assert f"uses format {CLUSTER_FORMAT - 1};" in reason[0]
        assert f"(chinwag {__version__})" in reason[0]
        assert "chinwag listening" not in refused.stdout  # it never served

        # The older process was not disturbed: it still signs people in.
        client = await Client.open(older.port)
        try:
            await client.sign_in("alice", ["plain-text"])
            await until_list(client, {"alice"})
        finally:
            await client.close()
    finally:
        older.stop()

    # A format change is "stop them all, start the new version": now it joins.
    newer = ChinwagProcess(redis_server.url, tmp_path / "newer.log")
    try:
        client = await Client.open(newer.port)
        try:
            await client.sign_in("bob", ["plain-text"])
            await until_list(client, {"bob"})
        finally:
            await client.close()
    finally:
        newer.stop()


async def test_two_processes_of_one_format_join_whatever_their_versions(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    first = ChinwagProcess(redis_server.url, tmp_path / "first.log")
    second = ChinwagProcess(
        redis_server.url, tmp_path / "second.log", launcher=other_format(CLUSTER_FORMAT)
    )
    clients: list[Client] = []
    try:
        for process, name in ((first, "alice"), (second, "bob")):
            client = await Client.open(process.port)
            clients.append(client)
            await client.sign_in(name, ["plain-text"])
        for client in clients:
            await until_list(client, {"alice", "bob"})
    finally:
        for client in clients:
            await client.close()
        first.stop()
        second.stop()


async def test_a_node_that_announced_nothing_counts_as_format_1(
    redis_server: RedisServer,
) -> None:
    """Versions before announcements hold "1" in their lease; the bus says so by name."""
    store = Redis.from_url(redis_server.url)
    try:
        await store.set("chinwag:alive:old", "1", px=60_000)
        await store.sadd("chinwag:nodes", "old")
        bus = RedisBus(redis_server.url, node="new", **FAST_BUS)
        with pytest.raises(ClusterRefused) as refusal:
            await bus.start(Recorder())
        reason = str(refusal.value)
        assert "\n" not in reason
        assert f"uses cluster format {CLUSTER_FORMAT}, its node old" in reason
        assert "older than format announcements) uses format 1;" in reason
        # Refused before registering: nothing of the new node was written.
        assert await store.exists("chinwag:alive:new") == 0
        assert await store.smembers("chinwag:nodes") == {b"old"}
    finally:
        await store.aclose()
