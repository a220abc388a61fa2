"""The page survives a server restart: it reconnects and signs in again by itself."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from chinwag.server import ChinwagServer
from tests.browser.conftest import OpenPerson, StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]


async def test_page_reconnects_and_signs_in_again_after_a_restart(
    chinwag: ChinwagServer, start_chinwag: StartServer, open_person: OpenPerson
) -> None:
    alice = await open_person("alice")
    status = alice.page.locator("#connection-status")
    await expect(status).to_have_text("Connected")
    port = chinwag.port

    await chinwag.stop()
    await expect(status).to_have_text("Reconnecting…")
    assert alice.dialogs == []

    await start_chinwag(port=port)
    await expect(status).to_have_text("Connected", timeout=10_000)
    # Signed in again under the same name, without a reload: others see her.
    bob = await open_person("bob")
    await expect(bob.user_button("alice")).to_be_visible()
    await expect(alice.user_button("bob")).to_be_visible()
    await alice.say("back again")
    await bob.sees_text("#messages", "back again")
