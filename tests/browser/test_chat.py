"""Chat as people use it: safe links, own messages apart, private messages,
the new-messages marker, join and leave lines, multi-line messages, and
messages written while offline."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from chinwag.transport.server import ChinwagServer
from tests.browser.conftest import OpenPerson
from tests.browser.people import two_people
from tests.support import StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

HOSTILE = (
    "see https://example.org/a?b=1&c=<b>x</b>, javascript:alert(1) "
    'http://x.test/"onmouseover="alert(1)" <img src=x onerror=alert(2)> '
    "data:text/html,<script>alert(3)</script> ftp://files.test/x HTTPS://Example.ORG/Path)."
)
EXPECTED_LINKS = ["https://example.org/a?b=1&c=", "http://x.test/", "HTTPS://Example.ORG/Path"]


async def test_links_are_clickable_and_hostile_text_stays_text(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await alice.say(HOSTILE)
    last = bob.page.locator("#messages .message").last
    await expect(last.locator(".text")).to_have_text(HOSTILE)
    links = last.locator("a")
    await expect(links).to_have_text(EXPECTED_LINKS)
    for i in range(len(EXPECTED_LINKS)):
        link = links.nth(i)
        await expect(link).to_have_attribute("rel", "noopener noreferrer")
        await expect(link).to_have_attribute("target", "_blank")
        href = str(await link.get_attribute("href"))
        assert href.startswith(("http://", "https://")), href
    # Nothing else became markup: no image, no script ran, on either side.
    for person in (alice, bob):
        assert (
            await person.page.locator("#messages img, #messages script, #messages b").count() == 0
        )
    assert alice.dialogs == [] and bob.dialogs == []


async def test_own_and_private_messages_are_set_apart(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    carol = await open_person("carol")
    await expect(alice.user_button("carol")).to_be_visible()
    await alice.say("hello all")
    await expect(alice.page.locator("#messages .message.own")).to_contain_text("hello all")
    await expect(bob.page.locator("#messages .message").last).not_to_have_class("message own")

    await alice.page.get_by_label("To", exact=True).select_option(label="Privately to bob")
    await alice.say("just for you")
    mine = alice.page.locator("#messages .message.direct.own")
    await expect(mine).to_contain_text("Privately to bob")
    theirs = bob.page.locator("#messages .message.direct")
    await expect(theirs).to_contain_text("just for you")
    await expect(theirs).to_contain_text("Private")
    await expect(theirs.locator(".sender")).to_have_text("Private from alice")
    await carol.say("anyone?")
    await alice.sees_text("#messages", "anyone?")
    await expect(carol.page.locator("#messages")).not_to_contain_text("just for you")


async def test_new_messages_marker_and_jump_when_scrolled_up(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    for i in range(15):  # under the chat rate limit (bursts of 20)
        await alice.say(f"filler {i}")
    await bob.sees_text("#messages", "filler 14")
    await bob.page.locator("#messages").evaluate("(log) => { log.scrollTop = 0; }")
    await alice.say("the news")
    await expect(bob.page.locator("#messages .new-marker")).to_have_text("New messages")
    jump = bob.page.get_by_role("button", name="Jump to new messages")
    await expect(jump).to_be_visible()
    await jump.click()
    await expect(bob.page.locator("#messages .message").last).to_be_in_viewport()
    await expect(jump).to_be_hidden()


async def test_join_and_leave_lines_and_shift_enter(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    carol = await open_person("carol")
    await expect(alice.page.locator("#messages .note").last).to_have_text("carol joined")
    await carol.close()
    await expect(alice.page.locator("#messages .note").last).to_have_text("carol left")

    box = bob.page.get_by_role("textbox", name="Message")
    await box.fill("line one")
    await box.press("Shift+Enter")
    await box.type("line two")
    await box.press("Enter")
    await expect(alice.page.locator("#messages .text").last).to_have_text("line one\nline two")


async def test_a_message_written_offline_goes_out_on_reconnect(
    chinwag: ChinwagServer, start_chinwag: StartServer, open_person: OpenPerson
) -> None:
    alice = await open_person("alice")
    port = chinwag.port
    await chinwag.stop()
    await expect(alice.page.locator("#connection-status")).not_to_have_text("Connected")
    await alice.say("written offline")
    pending = alice.page.locator("#messages .message.pending")
    await expect(pending).to_contain_text("Waiting to send")

    await start_chinwag(port=port)
    await expect(alice.page.locator("#connection-status")).to_have_text("Connected")
    await expect(pending).to_have_count(0)
    # The server relayed it back: it went out.
    await expect(alice.page.locator("#messages .message.own").last).to_contain_text(
        "written offline"
    )
