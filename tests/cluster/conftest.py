"""Fixtures for the cluster tests: buses on a real redis-server (tests/conftest.py starts it)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chinwag.cluster.bus import Bus
from chinwag.cluster.memory import MemoryBus, MemoryHub
from chinwag.cluster.redis import RedisBus
from tests.cluster.support import ChinwagProcess, Recorder
from tests.redis_server import RedisServer, free_port
from tests.support import Client

__all__ = ["FAST_BUS", "Cluster", "RedisServer", "free_port", "process_pair"]

#: Short timings so that lease lapses and reconnections happen within a test;
#: the lease is long enough that a node of a busy machine (stalls of seconds at a
#: load of 50) keeps its own.
FAST_BUS = {"lease": 5.0, "renew_interval": 0.2, "timeout": 2.0, "max_backoff": 0.5}


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


@contextlib.contextmanager
def process_pair(redis_url: str, logs: Path, *extra: str) -> Iterator[list[ChinwagProcess]]:
    """Two ``chinwag serve --redis`` processes (with ``extra`` options), stopped after."""
    processes: list[ChinwagProcess] = []
    try:
        for n in "ab":  # one by one: if b fails to start, a is still stopped
            processes.append(ChinwagProcess(redis_url, logs / f"chinwag-{n}.log", *extra))
        yield processes
    finally:
        for process in processes:
            process.stop()


@pytest.fixture
def two_processes(redis_server: RedisServer, tmp_path: Path) -> Iterator[list[ChinwagProcess]]:
    with process_pair(redis_server.url, tmp_path) as processes:
        yield processes


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    """Clients opened by a test (append them); closed afterwards."""
    opened: list[Client] = []
    yield opened
    for client in opened:
        with contextlib.suppress(Exception):
            await client.close()
