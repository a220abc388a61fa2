"""Camera and microphone problems are told in words, on both sides, and leave nothing open."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import OpenPerson

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]


async def test_callee_denies_camera_permission(
    open_person: OpenPerson, denying_browser: Browser
) -> None:
    alice = await open_person("alice")
    bob = await open_person("bob", in_browser=denying_browser)
    await expect(alice.user_button("bob")).to_be_visible()

    await alice.call("bob")
    await bob.click("Accept")
    await bob.sees_notice("Permission to use the camera or microphone was denied")
    await alice.sees_notice("bob could not use their camera or microphone (permission denied)")
    await alice.back_to_idle()
    await bob.until_state("idle")
    assert await bob.local_tracks() == []


async def test_caller_denied_camera_rings_nobody(
    open_person: OpenPerson, denying_browser: Browser
) -> None:
    alice = await open_person("alice", in_browser=denying_browser)
    bob = await open_person("bob")
    await expect(alice.user_button("bob")).to_be_visible()

    await alice.call("bob")
    await alice.sees_notice("Permission to use the camera or microphone was denied")
    await alice.until_state("idle")
    await expect(bob.page.locator("#incoming")).to_be_hidden()
    assert await bob.call_state() == "idle"
