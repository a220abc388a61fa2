"""Fixtures shared by every test directory: a real chinwag server, one Chromium, Redis."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, settings
from playwright.async_api import Browser, Playwright, async_playwright, expect

from chinwag.transport.server import ChinwagServer
from tests.chromium import launch_chromium
from tests.janus import Janus, run_janus
from tests.redis_server import RedisServer
from tests.support import Client, StartServer, server_factory

#: Every Playwright ``expect`` waits this long for what it expects (its own
#: default is 5 s, which a busy machine exceeds); it returns as soon as it holds.
expect.set_options(timeout=20_000)

#: Property tests are judged by their examples, never by the wall clock: Hypothesis's
#: 200 ms deadline per example fails a busy machine (fuzzing.py's profiles agree).
settings.register_profile("chinwag", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("chinwag")


@pytest.fixture(scope="session", autouse=True)
def private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers started as commands keep history in a directory of this run, not the user's."""
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data-home"))
    yield
    if before is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """Factory: start a real server on an ephemeral loopback port; stopped after the test."""
    async with server_factory() as start:
        yield start


@pytest.fixture
async def server(start_server: StartServer) -> ChinwagServer:
    """A real server with default settings and a short presence interval."""
    return await start_server(presence_interval=0.02)


@pytest.fixture
async def connect(server: ChinwagServer) -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    """Factory: open real WebSocket clients to ``server``; closed after the test."""
    clients: list[Client] = []

    async def open_client(**kwargs: Any) -> Client:
        client = await Client.open(server.port, **kwargs)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as driver:
        yield driver


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    """One headless Chromium for the whole session; each test opens its own contexts.

    Three fake cameras, so device switching can be tested (see tests/chromium.py).
    """
    chromium = await launch_chromium(playwright, cameras=3)
    yield chromium
    await chromium.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server for one test, stopped afterwards."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def janus(tmp_path: Path) -> Iterator[Janus]:
    """A real Janus from ``chinwag janus-config`` (tests/janus.py), killed after the test."""
    with run_janus(tmp_path) as running:
        yield running
