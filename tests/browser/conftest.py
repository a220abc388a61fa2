"""Browser fixtures: one headless Chromium per session, a fresh chinwag server per test.

Everything is real: the Debian Chromium (fake camera and microphone, never
``playwright install``), a real chinwag server on loopback, and a static
server for the reference-client stand-in. Browser tests run on the session
event loop (see ``pytestmark`` in each module) so the browser is launched once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, Playwright

import chinwag
from chinwag.transport.routes import CONTENT_SECURITY_POLICY
from chinwag.transport.server import ChinwagServer
from tests.browser.people import OpenPerson, Person
from tests.chromium import launch_chromium
from tests.firefox import firefox, firefox_browser
from tests.support import StartServer, server_factory

__all__ = ["Launch", "OpenPerson", "firefox", "firefox_browser"]

REFERENCE_CLIENT = Path(__file__).parent / "reference_client"
ROOM_PAGES = Path(__file__).parent / "room_page"
WEB_FILES = Path(chinwag.__file__).parent / "web"

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


Launch = Callable[..., Awaitable[Browser]]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def launch(playwright: Playwright) -> AsyncIterator[Launch]:
    """Factory: a Chromium with its own devices and prompt (tests/chromium.py options)."""
    browsers: list[Browser] = []

    async def open_browser(**options: Any) -> Browser:
        browser = await launch_chromium(playwright, **options)
        browsers.append(browser)
        return browser

    yield open_browser
    for browser in browsers:
        await browser.close()


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
    ``in_browser=`` uses another browser (e.g. one that denies camera access);
    ``path="r/team"`` opens a room's page.
    """
    people: list[Person] = []
    url = chinwag.url  # kept: a restarted server listens on the same port

    async def open_one(
        name: str,
        *,
        server: ChinwagServer | None = None,
        in_browser: Browser | None = None,
        path: str = "",
        **options: Any,
    ) -> Person:
        where = in_browser or browser
        base = (server.url if server else url) + path
        person = await Person.open(where, base, name, **options)
        people.append(person)
        return person

    yield open_one
    for person in people:
        await person.close()


@contextlib.asynccontextmanager
async def static_site(folders: dict[str, Path]) -> AsyncIterator[str]:
    """Serve each folder under its URL prefix on a loopback port, with the chinwag page's CSP
    (so what a page does here would also pass on the real page); yields the base URL."""

    @web.middleware
    async def same_policy(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    app = web.Application(middlewares=[same_policy])
    for prefix, folder in folders.items():
        app.router.add_static(prefix, folder)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def reference_site() -> AsyncIterator[str]:
    """Serve the reference-client stand-in on its own loopback port; yields its base URL."""
    async with static_site({"/": REFERENCE_CLIENT}) as url:
        yield url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def room_site() -> AsyncIterator[str]:
    """The room-call test pages (tests/browser/room_page/) at ``/`` next to the web client's
    files at ``/web/``, so the pages import the real modules; yields the base URL."""
    async with static_site({"/web": WEB_FILES, "/": ROOM_PAGES}) as url:
        yield url
