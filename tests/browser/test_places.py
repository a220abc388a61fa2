"""Clear places: room links in chat move in the same tab (one session), notices
never stack the same words, rename and sign out from the top bar, a group call
alone says "Waiting for others" with the link, joins and leaves are told,
three tiles leave no empty quarter, audio calls, and avatars that tell Bob
from Bob1."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from chinwag.transport.server import ChinwagServer
from tests.browser.conftest import OpenPerson
from tests.browser.people import Person, serious_axe_problems, two_people

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

_TILE_BOXES = """
() => {
  const grid = document.getElementById('room-grid').getBoundingClientRect();
  const tiles = [...document.querySelectorAll('#room-grid .room-tile')].map((t) => {
    const b = t.getBoundingClientRect();
    return { left: b.left, right: b.right, top: b.top, bottom: b.bottom };
  });
  return { grid: { left: grid.left, right: grid.right }, tiles };
}
"""


async def start_group_call(person: Person) -> None:
    await person.page.get_by_role("button", name="Start a group call in this room").click()
    await expect(person.page.locator("#stage")).to_be_visible(timeout=30_000)


async def join_group_call(person: Person, count: int) -> None:
    await person.page.get_by_role("button", name=f"Join the group call ({count} in it)").click()
    await expect(person.page.locator("#stage")).to_be_visible(timeout=30_000)


async def test_room_link_in_chat_moves_in_the_same_tab_with_one_session(
    open_person: OpenPerson, chinwag: ChinwagServer
) -> None:
    alice, bob = await two_people(open_person)
    room_url = f"{chinwag.url}r/team"
    await alice.say(f"come to {room_url} and see www.example.com")
    link = bob.page.locator("#messages a", has_text="/r/team")
    await expect(link).not_to_have_attribute("target", "_blank")
    outside = bob.page.locator("#messages a", has_text="www.example.com")
    await expect(outside).to_have_attribute("href", "https://www.example.com/")
    await expect(outside).to_have_attribute("target", "_blank")

    await link.click()
    await expect(bob.page.locator("#room-title")).to_have_text("team")
    assert bob.page.url.split("?")[0] == room_url
    assert len(bob.context.pages) == 1
    # Still one bob: the Lobby lost him, and no "bob1" signed in anywhere.
    await expect(alice.user_button("bob")).to_have_count(0)
    await expect(bob.page.locator("#self-name")).to_have_text("bob")
    await expect(bob.page.locator("#user-list li")).to_have_count(1)
    assert not any(m.get("name") == "bob1" for m in bob.received)


async def test_notices_never_stack_the_same_words(
    open_person: OpenPerson, denying_browser: Browser
) -> None:
    alice = await open_person("alice", in_browser=denying_browser)
    bob = await open_person("bob")
    await expect(alice.user_button("bob")).to_be_visible()
    for _ in range(3):
        await alice.call("bob")
        # Listening only is offered; alice says no, and the refusal is told in a notice.
        prompt = alice.page.locator("#call-prompt")
        await prompt.get_by_role("button", name="Cancel", exact=True).click()
        await alice.sees_notice("Camera and microphone permission was refused")
        await alice.until_state("idle")
    await expect(alice.page.locator("#notices .notice", has_text="refused")).to_have_count(1)
    assert await bob.call_state() == "idle"


async def test_private_to_box_resets_and_the_label_names_the_sender(
    open_person: OpenPerson,
) -> None:
    alice, bob = await two_people(open_person)
    to = alice.page.get_by_label("To", exact=True)
    await to.select_option(label="Privately to bob")
    await alice.say("just for you")
    await expect(to).to_have_value("")
    await expect(bob.page.locator("#messages .message.direct .meta")).to_contain_text(
        "Private from alice"
    )
    await alice.say("for everyone")
    await expect(bob.page.locator("#messages .message").last).not_to_have_class("message direct")


async def test_rename_and_sign_out_from_the_top_bar(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await alice.page.locator("#account-button").click()
    await alice.page.get_by_role("menuitem", name="Change name").click()
    dialog = alice.page.get_by_role("dialog", name="Change name")
    await expect(dialog).to_be_visible()
    assert await serious_axe_problems(alice) == []
    await dialog.get_by_label("New name").fill("alicia")
    await dialog.get_by_label("New name").press("Enter")
    await expect(dialog).to_be_hidden()
    await expect(alice.page.locator("#self-name")).to_have_text("alicia")
    await expect(bob.user_button("alicia")).to_be_visible()

    await alice.page.locator("#account-button").click()
    await alice.page.get_by_role("menuitem", name="Sign out").click()
    await expect(alice.page.get_by_label("Your name")).to_be_visible()
    await expect(bob.user_button("alicia")).to_have_count(0)
    # The remembered name is forgotten: a reload asks again instead of signing in by itself.
    await alice.page.reload()
    await expect(alice.page.get_by_label("Your name")).to_be_visible()
    await expect(alice.page.get_by_label("Your name")).to_have_value("")


async def test_group_call_alone_waits_with_the_link_then_tells_joins_and_leaves(
    open_person: OpenPerson,
) -> None:
    alice, bob = await two_people(open_person)
    carol = await open_person("carol")
    await start_group_call(alice)
    waiting = alice.page.locator("#waiting")
    await expect(waiting).to_be_visible()
    await expect(waiting).to_contain_text("Waiting for others")
    await expect(alice.page.locator("#waiting-link")).to_have_value(alice.page.url.split("?")[0])
    assert await serious_axe_problems(alice) == []

    await join_group_call(bob, 1)
    await expect(waiting).to_be_hidden()
    await alice.sees_notice("bob joined the call")
    await join_group_call(carol, 2)
    await alice.sees_notice("carol joined the call")

    # Three tiles: two above, the third centred below (no empty quarter).
    await expect(alice.page.locator("#room-grid .room-tile")).to_have_count(3, timeout=30_000)
    boxes = await alice.page.evaluate(_TILE_BOXES)
    grid, tiles = boxes["grid"], boxes["tiles"]
    last = tiles[2]
    grid_middle = (grid["left"] + grid["right"]) / 2
    assert abs((last["left"] + last["right"]) / 2 - grid_middle) < 4, boxes
    assert last["top"] >= tiles[0]["bottom"], boxes

    await expect(carol.page.locator("#hangup-button")).to_have_text("Leave call")
    await carol.page.locator("#hangup-button").click()
    await alice.sees_notice("carol left the call")


async def test_audio_call_sends_no_video_and_shows_avatars(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await alice.page.get_by_role("button", name="Audio call with bob").click()
    await bob.sees_text("#incoming-text", "alice is calling (audio call)")
    await bob.click("Accept")
    await alice.media_flows(video=False)
    await bob.media_flows(video=False)
    for person in (alice, bob):
        assert await person.sender_kinds() == ["audio"]
        await expect(person.page.locator("#remote-avatar")).to_be_visible()


async def test_avatars_take_a_colour_from_the_name(open_person: OpenPerson) -> None:
    bob = await open_person("Bob")
    await open_person("Bob1")
    avatars = bob.page.locator("#user-list .avatar")
    await expect(avatars).to_have_count(2)
    colours = {await a.get_attribute("data-colour") for a in await avatars.all()}
    assert len(colours) == 2, colours
