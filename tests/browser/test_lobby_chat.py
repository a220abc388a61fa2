"""Signing in, seeing who is online, and chatting, as two people see it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPerson

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

SCRIPT_PAYLOAD = "<img src=x onerror=alert(1)>"


async def test_two_people_see_each_other_and_chat(open_person: OpenPerson) -> None:
    alice = await open_person("alice")
    bob = await open_person("bob")

    await expect(alice.user_button("bob")).to_be_visible()
    await expect(bob.user_button("alice")).to_be_visible()
    await expect(alice.page.get_by_role("button", name="alice (you)")).to_be_disabled()
    await expect(alice.page.locator("#connection-status")).to_have_text("Connected")
    await alice.screenshot("signed-in")

    await alice.say("hello bob")
    await bob.sees_text("#messages", "hello bob")
    await expect(bob.page.locator("#messages .message").last.locator(".sender")).to_have_text(
        "alice"
    )
    await bob.say("hi alice")
    await alice.sees_text("#messages", "hi alice")
    await expect(alice.page.locator("#messages time").last).to_have_text(
        re.compile(r"\d{1,2}:\d{2}")
    )


async def test_script_in_a_message_is_shown_as_text(open_person: OpenPerson) -> None:
    alice = await open_person("alice")
    bob = await open_person("bob")
    await expect(bob.user_button("alice")).to_be_visible()

    await alice.say(SCRIPT_PAYLOAD)

    await expect(bob.page.locator("#messages .text").last).to_have_text(SCRIPT_PAYLOAD)
    assert await bob.page.locator("#messages img").count() == 0
    assert await alice.page.locator("#messages img").count() == 0
    assert bob.dialogs == [] and alice.dialogs == []


async def test_a_name_with_html_is_refused_and_the_error_shown(open_person: OpenPerson) -> None:
    mallory = await open_person("mallory", sign_in=False)
    await mallory.page.get_by_label("Your name").fill(SCRIPT_PAYLOAD)
    await mallory.page.get_by_label("Your name").press("Enter")

    error = mallory.page.locator("#name-error")
    await expect(error).not_to_be_empty()
    await expect(mallory.page.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    assert await mallory.page.locator("img").count() == 0
    assert mallory.dialogs == []
    # After the error, a good name still signs in.
    await mallory.sign_in("mallory")


async def test_a_taken_name_shows_the_assigned_one(open_person: OpenPerson) -> None:
    await open_person("alice")
    other = await open_person("alice-two", sign_in=False)
    await other.sign_in("alice", expect_name="alice1")
    await expect(other.page.locator("#rename-note")).to_contain_text("alice was taken")
