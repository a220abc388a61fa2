"""What survives a reload: the name (the page signs in by itself), the recent
chat, and a call in progress, which comes back with media on both sides while
the other person sees "Reconnecting…", never "left"."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPerson
from tests.browser.people import Person, connect_call, two_people

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

# Records every phase and notice text the page shows, so a passing "left" is caught.
_WATCH_WORDS = """
() => {
  window.seenWords = [];
  const watch = (id) => new MutationObserver(() =>
    window.seenWords.push(document.getElementById(id).textContent)
  ).observe(document.getElementById(id), { childList: true, subtree: true, characterData: true });
  watch("notices");
  watch("call-phase");
}
"""


async def seen_words(person: Person) -> list[str]:
    return [str(w) for w in await person.page.evaluate("window.seenWords")]


async def test_reload_mid_call_brings_the_call_back_on_both_sides(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await alice.say("before the reload")
    await bob.sees_text("#messages", "before the reload")
    await connect_call(alice, bob)
    await alice.page.evaluate(_WATCH_WORDS)
    loop = asyncio.get_running_loop()

    started = loop.time()
    await bob.page.reload()
    # bob signs in again by himself, under his name, and the call comes back.
    await expect(bob.page.locator("#self-name")).to_have_text("bob")
    await bob.until_state("active", timeout=15_000)
    await alice.until_state("active", timeout=15_000)
    for person in (alice, bob):
        await person.media_flows(within=15)
    took = loop.time() - started
    print(f"call back with media both ways {took:.1f} s after the reload")

    words = " ".join(await seen_words(alice))
    assert "Reconnecting" in words or "lost their connection" in words, words
    assert "left" not in words, words
    await expect(alice.page.locator("#call-phase")).to_have_text("")
    # The chat from before the reload is still there, and the clock did not restart.
    await expect(bob.page.locator("#messages")).to_contain_text("before the reload")
    await expect(bob.page.locator("#call-duration")).not_to_have_text("0:00")

    # The call is a normal call again: hanging up ends it on both sides.
    await bob.click("Hang up")
    await alice.sees_notice("bob hung up")
    await alice.back_to_idle()
    await bob.until_state("idle")


async def test_a_reload_remembers_the_name_and_resumes_the_session(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await bob.page.reload()
    await expect(bob.page.locator("#self-name")).to_have_text("bob")
    await expect(bob.user_button("alice")).to_be_visible()
    await alice.say("still there?")
    await bob.sees_text("#messages", "still there?")
    # A new tab has no session to resume, but remembers the name.
    tab = await bob.context.new_page()
    await tab.goto(bob.page.url)
    await expect(tab.get_by_label("Your name")).to_have_value("bob")
    await tab.close()
