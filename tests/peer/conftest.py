"""Peer fixtures: coturn on loopback, a chinwag server that hands it out, Chromium, the peer CLI.

Why a TURN relay: aioice (aiortc's ICE) never offers loopback host
candidates and has no option to, so on a machine whose only shared network is
loopback an aiortc peer reaches nobody directly. Every test call therefore
goes through a real coturn on 127.0.0.1 (``--allow-loopback-peers``): the
Python side runs with ``relay_only`` (``--relay-only``) and the test page with
``iceTransportPolicy: "relay"``, so all media stays on 127.0.0.1 whatever
other interfaces the machine has.

Everything runs on the session event loop (``pytestmark`` in each module),
so Chromium and coturn start once per session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser

from chinwag.client import ChinwagClient
from chinwag.config import settings_for_tests
from chinwag.transport.server import ChinwagServer
from tests.coturn import Coturn, coturn_for_fixture
from tests.peer.support import BrowserUser

PAGE_DIR = Path(__file__).parent / "page"
TURN_SECRET = "peer-tests-secret"


# --------------------------------------------------------------------------- coturn


@pytest.fixture(scope="session")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    """One turnserver on loopback for the session, checking TURN REST credentials."""
    yield from coturn_for_fixture(tmp_path_factory, TURN_SECRET)


# --------------------------------------------------------------------------- chinwag


@pytest_asyncio.fixture(loop_scope="session")
async def server(coturn: Coturn) -> AsyncIterator[ChinwagServer]:
    """A real chinwag server whose ``ice-servers`` name the loopback coturn."""
    settings = settings_for_tests(
        host="127.0.0.1",
        port=0,
        # Rings until answered: a prompt a busy machine shows late must still find
        # the call ringing (the no-answer test sets its own --ring-timeout).
        ring_timeout=60.0,
        presence_interval=0.02,
        ice_url=[coturn.url()],
        turn_secret=TURN_SECRET,
    )
    async with ChinwagServer(settings) as running:
        yield running


@pytest.fixture
def url(server: ChinwagServer) -> str:
    return f"http://127.0.0.1:{server.port}/"


@pytest_asyncio.fixture(loop_scope="session")
async def sign_in(url: str) -> AsyncIterator[Callable[..., Any]]:
    """Factory: ``sign_in(name, **options)``, a signed-in :class:`ChinwagClient`
    (``options`` as its constructor takes them); closed after the test."""
    clients: list[ChinwagClient] = []

    async def open_client(name: str, **options: Any) -> ChinwagClient:
        client = ChinwagClient(url, name, **{"connect_timeout": 5.0, **options})
        await client.connect()
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.close()


# --------------------------------------------------------------------------- browser


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def test_page_site() -> AsyncIterator[str]:
    """Serve tests/peer/page from a real loopback HTTP server; yields its base URL.

    (A page fulfilled by Playwright's routing counts as non-local, and
    Chromium's local-network-access checks then block its WebSocket.)
    """
    app = web.Application()
    app.router.add_static("/", PAGE_DIR)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/"
    await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def open_browser_user(
    browser: Browser, url: str, test_page_site: str
) -> AsyncIterator[Callable[..., Any]]:
    """Factory: ``await open_browser_user("carol", answer="decline")`` signs in a test page."""
    contexts = []

    async def open_user(name: str, **options: Any) -> BrowserUser:
        context = await browser.new_context()
        contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{test_page_site}index.html")
        user = BrowserUser(page)
        await user.run("signIn", url, name, options)
        return user

    yield open_user
    for context in contexts:
        await context.close()
