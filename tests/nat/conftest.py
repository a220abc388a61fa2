"""NAT traversal fixtures: a real coturn on loopback, one headless Chromium, relay-test pages.

coturn is started by tests/coturn.py (its flags and why are explained there);
Chromium by tests/chromium.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, Page

from tests.coturn import Coturn, start_coturn, stop_coturn

__all__ = ["Coturn", "OpenPeerPage", "StartCoturn", "new_peer_page"]

PEER_SCRIPT = (Path(__file__).parent / "relay_peer.js").read_text()

StartCoturn = Callable[..., Coturn]


@pytest.fixture(name="start_coturn")
def coturn_factory(tmp_path: Path) -> Iterator[StartCoturn]:
    """Factory: ``start_coturn(secret, config=None)`` runs turnserver on loopback until teardown
    (see :func:`tests.coturn.start_coturn`)."""
    running: list[Coturn] = []

    def start(secret: str = "test-secret", config: str | None = None) -> Coturn:
        running.append(start_coturn(tmp_path / f"coturn-{len(running)}", secret, config))
        return running[-1]

    yield start
    for coturn in running:
        stop_coturn(coturn)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def blank_site() -> AsyncIterator[str]:
    """An empty page on http://127.0.0.1 (a secure context, so getUserMedia works)."""
    app = web.Application()

    async def empty_page(_: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>nat</title>", content_type="text/html")

    app.router.add_get("/", empty_page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    await runner.cleanup()


async def new_peer_page(browser: Browser, site: str) -> Page:
    """A page in a fresh context of ``browser``, at ``site``, with ``natPeer`` loaded."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(site)
    await page.add_script_tag(content=PEER_SCRIPT)
    return page


OpenPeerPage = Callable[[], Awaitable[Page]]


@pytest_asyncio.fixture(loop_scope="session")
async def open_peer_page(browser: Browser, blank_site: str) -> AsyncIterator[OpenPeerPage]:
    """Factory: a relay-test page (see ``new_peer_page``); its context closes after the test."""
    pages: list[Page] = []

    async def open_page() -> Page:
        pages.append(await new_peer_page(browser, blank_site))
        return pages[-1]

    yield open_page
    for page in pages:
        await page.context.close()
