"""Chromium, given only chinwag's STUN responder, gathers a server-reflexive candidate.

On loopback the reflexive address equals the socket's own address, and
Chromium drops such a srflx candidate as redundant unless it hides host
addresses behind mDNS names. So this test launches its own Chromium with
mDNS hiding left on (the shared one turns it off), and uses about:blank, as
Chromium shows a loopback origin its real addresses. The proof is three facts
that must agree: the page's srflx candidate, its ``local-candidate`` stats
naming our STUN URL, and the responder having answered that very port.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from chinwag.nat.stun import StunResponder, start_stun_server
from tests.chromium import launch_chromium
from tests.nat.conftest import new_peer_page

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

SRFLX = re.compile(r" udp \d+ (?P<address>\S+) (?P<port>\d+) typ srflx ")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def mdns_browser() -> AsyncIterator[Browser]:
    async with async_playwright() as driver:
        chromium = await launch_chromium(driver, mdns=True)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def responder() -> AsyncIterator[tuple[int, StunResponder]]:
    transport, protocol = await start_stun_server("127.0.0.1", 0)
    yield transport.get_extra_info("sockname")[1], protocol
    transport.close()


async def test_browser_gathers_srflx_from_the_embedded_responder(
    responder: tuple[int, StunResponder], mdns_browser: Browser
) -> None:
    port, protocol = responder
    stun_url = f"stun:127.0.0.1:{port}"
    page = await new_peer_page(mdns_browser, "about:blank")
    try:
        await page.evaluate(
            "([c]) => natPeer.open(c, false)", [{"iceServers": [{"urls": stun_url}]}]
        )
        await page.evaluate("(t) => natPeer.describe(t)", 5000)
        report = await page.evaluate("natPeer.report()")
    finally:
        await page.context.close()

    srflx = [match for line in report["candidates"] if (match := SRFLX.search(line))]
    assert srflx, report["candidates"]
    srflx_port = int(srflx[0]["port"])
    assert srflx[0]["address"] == "127.0.0.1"
    expected_stats = {"type": "srflx", "address": "127.0.0.1", "port": srflx_port, "url": stun_url}
    assert expected_stats in report["localCandidates"]
    assert ("127.0.0.1", srflx_port) in protocol.recent_sources
    assert report["errors"] == []
