"""A person on chinwag's own web page calls the echo bot, relayed through coturn."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from chinwag.peer.cli import EXIT_CODES
from chinwag.transport.server import ChinwagServer
from tests.browser.people import Person
from tests.peer.support import start_cli

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]


async def test_web_client_calls_the_echo_bot_and_sees_itself(
    browser: Browser, server: ChinwagServer, url: str
) -> None:
    echo = await start_cli("peer", "--server", url, "--name", "echo", "--echo", "--relay-only")
    alice = await Person.open(browser, server.url, "alice", query="relay=1")
    try:
        await echo.expect("waiting for calls")
        await expect(alice.user_button("echo")).to_be_visible()
        await alice.call("echo")
        await alice.wait_remote_video()
        await alice.media_flows()  # its own fake camera and microphone, sent back by the bot
        await alice.more("Stats")
        await expect(alice.page.locator('[data-stat="route"]')).to_contain_text("relay")
        await alice.click("Hang up")
        await alice.back_to_idle()
        await echo.expect("alice hung up")
    finally:
        await alice.close()
        finished = await echo.stop()
    assert finished.returncode == EXIT_CODES["ok"], finished.output
