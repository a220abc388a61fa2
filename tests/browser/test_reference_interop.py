"""Interop with the tutorial's client, both directions, through the clean-room stand-in.

The stand-in (reference_client/) speaks exactly what docs/protocol.md records
of the reference client: no ringing, auto-answer, candidates without ``name``.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from chinwag.transport.server import ChinwagServer
from tests.browser.conftest import OpenPerson

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

_REFERENCE_FRAMES = """
async () => {
  const v = document.getElementById("received_video");
  return v.videoWidth > 0 && !v.paused ? v.videoWidth : 0;
}
"""


async def open_reference(browser: Browser, site: str, chinwag: ChinwagServer, name: str) -> Page:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{site}index.html?port={chinwag.port}")
    await page.fill("#name", name)
    await page.click("#login")
    return page


async def reference_decodes(page: Page, within_ms: int = 10_000) -> None:
    """The stand-in's received <video> has frames, and their count rises."""
    await page.wait_for_function(_REFERENCE_FRAMES, timeout=within_ms)
    first = await page.evaluate(
        "() => document.getElementById('received_video').getVideoPlaybackQuality().totalVideoFrames"
    )
    await page.wait_for_function(
        "(n) => document.getElementById('received_video').getVideoPlaybackQuality()"
        ".totalVideoFrames > n",
        arg=first,
        timeout=within_ms,
    )


async def test_reference_user_calls_chinwag_user(
    browser: Browser, reference_site: str, chinwag: ChinwagServer, open_person: OpenPerson
) -> None:
    alice = await open_person("alice")
    ref = await open_reference(browser, reference_site, chinwag, "oldtimer")
    await expect(alice.user_button("oldtimer")).to_be_visible()
    try:
        await ref.locator("#users li", has_text="alice").click()
        await alice.sees_text("#incoming-text", "oldtimer is calling")
        await alice.click("Accept")
        await alice.wait_remote_video()
        await alice.media_flows()
        await reference_decodes(ref)

        await alice.click("Hang up")
        await alice.back_to_idle()
        await expect(ref.locator("#hangup-button")).to_be_disabled()
    finally:
        await ref.context.close()


async def test_chinwag_user_calls_reference_user(
    browser: Browser, reference_site: str, chinwag: ChinwagServer, open_person: OpenPerson
) -> None:
    alice = await open_person("alice")
    ref = await open_reference(browser, reference_site, chinwag, "oldtimer")
    try:
        await alice.call("oldtimer")  # the server accepts for it; it answers our offer
        await alice.wait_remote_video()
        await alice.media_flows()
        await reference_decodes(ref)
        # The stand-in shows chat with innerHTML; the server made it harmless.
        await alice.say("<img src=x onerror=alert(1)>")
        await expect(ref.locator("#chatbox p").last).to_contain_text("alice")
        assert await ref.locator("#chatbox img").count() == 0

        await ref.click("#hangup-button")
        await alice.sees_notice("oldtimer hung up")
        await alice.back_to_idle()
    finally:
        await ref.context.close()
