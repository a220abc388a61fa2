"""A late joiner sees the chat said before it came, in real Chromium.

The tutorial's client (the stand-in in reference_client/) gets history as
ordinary ``message`` frames and shows it with innerHTML, so the stored lines
must arrive made harmless exactly like live ones. chinwag's page, which does
not ask for the ``history`` feature yet, gets the same frames.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from chinwag.transport.server import ChinwagServer
from tests.browser.conftest import OpenPerson
from tests.browser.test_reference_interop import open_reference
from tests.support import Client, StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

SAID = ["good morning", "<img src=x onerror=alert(1)>the agenda", "see you at ten"]


@pytest_asyncio.fixture(loop_scope="session")
async def chinwag(start_chinwag: StartServer, tmp_path: Path) -> ChinwagServer:
    """The browser tests' server, keeping history in this test's directory."""
    server = await start_chinwag(history=True, data_dir=str(tmp_path))
    ann = await Client.open(server.port)
    try:
        await ann.sign_in("ann", ["plain-text"])
        for text in SAID:
            await ann.send({"type": "message", "text": text})
            await ann.wait_for("message", text=text)
        assert server.history is not None and await server.history.store.flush(10)
    finally:
        await ann.close()
    return server


async def test_the_reference_client_shows_history_as_plain_messages(
    browser: Browser, reference_site: str, chinwag: ChinwagServer
) -> None:
    late = await open_reference(browser, reference_site, chinwag, "latecomer")
    try:
        lines = late.locator("#chatbox p")
        await expect(lines).to_have_text(
            ["ann: good morning", "ann: the agenda", "ann: see you at ten"]
        )
        assert await late.locator("#chatbox img").count() == 0
    finally:
        await late.context.close()


async def test_a_late_joiner_on_the_chinwag_page_sees_earlier_chat(
    open_person: OpenPerson,
) -> None:
    carol = await open_person("carol")
    for text in ("good morning", "see you at ten"):
        await carol.sees_text("#messages", text)
    await carol.say("morning all")
    await carol.sees_text("#messages", "morning all")
