"""Fixtures for the cluster tests: a real redis-server, and buses on it."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chinwag.cluster.bus import Bus
from chinwag.cluster.memory import MemoryBus, MemoryHub
from chinwag.cluster.redis import RedisBus
from tests.cluster.support import Recorder

#: Short timings so that lease lapses and reconnections happen within a test.
FAST_BUS = {"lease": 1.0, "renew_interval": 0.2, "timeout": 2.0, "max_backoff": 0.5}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A real redis-server on one loopback port; it can be stopped and started again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 5
        while not self._answers_ping():
            assert self.process.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not answer within 5 s"
            time.sleep(0.01)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server for one test, stopped afterwards."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Cluster:
    """Buses of one kind on one shared store, each with a Recorder as its handler."""

    def __init__(self, kind: str, redis_url: str | None) -> None:
        self.kind = kind
        self.redis_url = redis_url
        self.hub = MemoryHub()
        self.buses: list[Bus] = []

    async def add(self, node: str, **timings: float) -> tuple[Bus, Recorder]:
        bus: Bus
        if self.redis_url is not None:
            bus = RedisBus(self.redis_url, node=node, **{**FAST_BUS, **timings})
        else:
            bus = MemoryBus(self.hub, node=node)
        recorder = Recorder()
        await bus.start(recorder)
        self.buses.append(bus)
        return bus, recorder

    async def close(self) -> None:
        for bus in self.buses:
            with contextlib.suppress(Exception):
                await bus.stop()


@pytest.fixture(params=["memory", "redis"])
async def cluster(request: pytest.FixtureRequest) -> AsyncIterator[Cluster]:
    """The same tests over MemoryBus (one hub) and RedisBus (one real redis-server)."""
    url = None
    if request.param == "redis":
        url = request.getfixturevalue("redis_server").url
    cluster = Cluster(request.param, url)
    yield cluster
    await cluster.close()


@pytest.fixture
async def redis_cluster(redis_server: RedisServer) -> AsyncIterator[Cluster]:
    """RedisBus nodes only, for what only Redis can do (lease lapse, outage)."""
    cluster = Cluster("redis", redis_server.url)
    yield cluster
    await cluster.close()
