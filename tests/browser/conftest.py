"""Browser fixtures: one headless Chromium per session, a fresh chinwag server per test.

Everything is real: the Debian Chromium (fake camera and microphone, never
``playwright install``), a real chinwag server on loopback, and a static
server for the reference-client stand-in. Browser tests run on the session
event loop (see ``pytestmark`` in each module) so the browser is launched once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, Playwright

from chinwag.transport.server import ChinwagServer
from tests.browser.people import OpenPerson, Person
from tests.chromium import launch_chromium
from tests.support import StartServer, server_factory

__all__ = ["OpenPerson"]

REFERENCE_CLIENT = Path(__file__).parent / "reference_client"

#: Settings that keep browser tests short: 2 s rings, 1 s heartbeats.
TEST_SETTINGS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "ring_timeout": 2.0,
    "heartbeat": 1.0,
    "presence_interval": 0.02,
}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def denying_browser(playwright: Playwright) -> AsyncIterator[Browser]:
    """A Chromium whose (fake) permission prompt says no to camera, microphone and screen."""
    chromium = await launch_chromium(playwright, prompt="deny")
    yield chromium
    await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def start_chinwag() -> AsyncIterator[StartServer]:
    """Factory: start a real chinwag server (test settings plus overrides); stopped after."""
    async with server_factory(**TEST_SETTINGS) as start:
        yield start


@pytest_asyncio.fixture(loop_scope="session")
async def chinwag(start_chinwag: StartServer) -> ChinwagServer:
    """A chinwag server with the test settings."""
    return await start_chinwag()


@pytest_asyncio.fixture(loop_scope="session")
async def open_person(browser: Browser, chinwag: ChinwagServer) -> AsyncIterator[OpenPerson]:
    """Factory: a person with their own browser context, signed in on the chinwag page.

    ``open_person("alice", query="relay=1", sign_in=False, viewport=(390, 844))``;
    ``server=`` opens another server's page instead of the default one, and
    ``in_browser=`` uses another browser (e.g. one that denies camera access).
    """
    people: list[Person] = []
    url = chinwag.url  # kept: a restarted server listens on the same port

    async def open_one(
        name: str,
        *,
        server: ChinwagServer | None = None,
        in_browser: Browser | None = None,
        **options: Any,
    ) -> Person:
        where = in_browser or browser
        person = await Person.open(where, server.url if server else url, name, **options)
        people.append(person)
        return person

    yield open_one
    for person in people:
        await person.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def reference_site() -> AsyncIterator[str]:
    """Serve the reference-client stand-in on its own loopback port; yields its base URL."""
    app = web.Application()
    app.router.add_static("/", REFERENCE_CLIENT)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/"
    await runner.cleanup()
