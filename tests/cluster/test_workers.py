"""``chinwag serve --workers N --redis URL``: N real processes on one port, one lobby."""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.cluster.conftest import RedisServer
from tests.cluster.support import eventually, until_list
from tests.support import Client

#: How long each worker may take to listen; the test's own bound covers two
#: start-ups, a restart and the checks between.
WORKER_START_WITHIN = 120.0
pytestmark = pytest.mark.timeout(5 * WORKER_START_WITHIN)


def worker_pids(parent: int) -> set[int]:
    """The parent's worker children (not multiprocessing's resource tracker)."""
    found = set()
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            found.add(int(child))
    return found


def running(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()}


def start_workers(redis_url: str, log: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chinwag", "serve", "--host", "127.0.0.1", "--port", "0",
         "--workers", "2", "--redis", redis_url, "--presence-interval", "0.02"],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    assert process.stdout is not None
    ports = set()
    for _ in range(2):  # each worker says where it listens: one port for both
        # Generous: two interpreters importing chinwag at once on a busy 2-core machine
        # (60 s was not enough at a load of 100).
        ready, _, _ = select.select([process.stdout], [], [], WORKER_START_WITHIN)
        assert ready, f"a worker printed nothing within {WORKER_START_WITHIN} s"
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", process.stdout.readline())
        assert match
        ports.add(int(match.group(1)))
    assert len(ports) == 1
    return process, ports.pop()


async def test_workers_share_a_port_and_a_lobby_and_are_restarted(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    parent, port = start_workers(redis_server.url, tmp_path / "workers.log")
    clients: list[Client] = []
    redis = Redis.from_url(redis_server.url)
    try:
        assert len(worker_pids(parent.pid)) == 2
        # Sign users in until both workers hold some (the kernel picks the worker).
        for i in range(40):
            client = await Client.open(port)
            clients.append(client)
            await client.sign_in(f"user{i}", ["plain-text"])
            nodes = await redis.smembers("chinwag:nodes")
            sizes = [await redis.hlen(b"chinwag:users:" + node) for node in nodes]
            if len(sizes) == 2 and min(sizes) > 0:
                break
        assert len(sizes) == 2 and min(sizes) > 0, f"users per worker: {sizes}"
        names = {client.name for client in clients}
        for client in clients:  # everyone sees everyone, whichever worker holds them
            await until_list(client, names)

        victim = min(worker_pids(parent.pid))
        os.kill(victim, signal.SIGKILL)
        await eventually(
            lambda: len(worker_pids(parent.pid)) == 2 and victim not in worker_pids(parent.pid),
            60,
            "the killed worker was replaced",
        )
    finally:
        for client in clients:
            await client.close()
        await redis.aclose()
        workers = worker_pids(parent.pid)
        parent.send_signal(signal.SIGTERM)
        began = time.monotonic()
        code = await asyncio.to_thread(parent.wait, 20)
    assert code == 0
    assert time.monotonic() - began < 15
    assert not running(workers)
