"""Rooms in the web client, through the real server: the room from the address, Copy link,
the Lobby's public list, a locked room, and moving between rooms on one socket."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.people import OpenPerson, Person

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

WAIT_MS = 20_000


def sockets_opened(person: Person) -> int:
    """How many sockets the page opened: each one starts with the server's `id`."""
    return sum(1 for message in person.received if message.get("type") == "id")


async def people_listed(person: Person) -> list[str]:
    names: list[str] = await person.page.locator("#user-list li").evaluate_all(
        "(items) => items.map((li) => li.dataset.name)"
    )
    return names


async def test_room_from_the_address_and_copy_link(open_person: OpenPerson) -> None:
    alice = await open_person("alice", path="r/Team%20room")
    await expect(alice.page.locator("#room-title")).to_have_text("Team room")
    await expect(alice.page.locator("#idle-title")).to_have_text("Welcome to Team room")
    bob = await open_person("bob")  # the Lobby: not alice's room
    await expect(bob.page.locator("#room-title")).to_have_text("Lobby")
    await expect(alice.page.locator("#user-list li")).to_have_count(1)

    await alice.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await alice.page.get_by_role("button", name="Copy link").click()
    url = alice.page.url.split("?")[0]
    assert url.endswith("/r/Team%20room"), url
    await alice.sees_notice(f"Link copied: {url}")
    copied = await alice.page.evaluate("() => navigator.clipboard.readText()")
    assert copied == url


async def test_copy_link_without_clipboard_shows_the_link_selected(open_person: OpenPerson) -> None:
    no_clipboard = "Object.defineProperty(navigator, 'clipboard', { value: undefined });"
    alice = await open_person("alice", path="r/team", init_script=no_clipboard)
    await alice.page.get_by_role("button", name="Copy link").click()
    box = alice.page.get_by_label("Copy this link by hand")
    await expect(box).to_be_visible()
    await expect(box).to_be_focused()
    assert (await box.input_value()).endswith("/r/team")
    selected = await box.evaluate("(input) => input.selectionEnd - input.selectionStart")
    assert selected == len(await box.input_value())


async def test_new_public_room_is_listed_with_its_count(open_person: OpenPerson) -> None:
    watcher = await open_person("watcher")
    alice = await open_person("alice")
    await alice.page.get_by_label("Room name").fill("standup")
    await alice.page.get_by_label("Title (optional)").fill("Daily stand-up")
    await alice.page.get_by_label("List publicly on the Lobby page").check()
    await alice.page.get_by_role("button", name="Open the room").click()
    await expect(alice.page.locator("#room-title")).to_have_text("Daily stand-up")
    assert alice.page.url.split("?")[0].endswith("/r/standup")
    await open_person("bob", path="r/standup")

    entry = watcher.page.get_by_role("link", name="Daily stand-up, 2 people")
    await expect(entry).to_be_visible(timeout=WAIT_MS)
    await entry.click()  # a link click: join-room on the same socket
    await expect(watcher.page.locator("#room-title")).to_have_text("Daily stand-up")
    await expect(watcher.page.locator("#user-list li")).to_have_count(3)
    assert sockets_opened(watcher) == 1


async def test_locked_room_asks_for_its_password(open_person: OpenPerson) -> None:
    owner = await open_person("owner")
    await owner.page.get_by_label("Room name").fill("secret")
    await owner.page.get_by_label("Password (optional)").fill("s3cret")
    await owner.page.get_by_role("button", name="Open the room").click()
    await expect(owner.page.locator("#room-title")).to_have_text("secret")

    # Signing in straight into the locked room: the sign-in card asks.
    guest = await open_person("guest", path="r/secret", sign_in=False)
    await guest.page.get_by_label("Your name").fill("guest")
    await guest.page.get_by_label("Your name").press("Enter")
    # The words sit under the password field, not under the name.
    await expect(guest.page.locator("#room-password-error")).to_have_text(
        "This room is locked: type its password."
    )
    await expect(guest.page.locator("#name-error")).to_have_text("")
    password = guest.page.locator("#signin").get_by_label("Room password")
    await expect(password).to_be_focused()
    await password.fill("wrong")
    await password.press("Enter")
    await expect(guest.page.locator("#room-password-error")).to_have_text(
        "That password is wrong; try again."
    )
    await expect(password).to_have_attribute("aria-invalid", "true")
    await password.fill("s3cret")
    await password.press("Enter")
    await expect(guest.page.locator("#self-name")).to_have_text("guest")
    await expect(guest.page.locator("#user-list li")).to_have_count(2)

    # Moving there by link from the Lobby: a dialog asks; the address stays meanwhile.
    walker = await open_person("walker")
    # One move, as the browser's Forward button makes it: the address changes, then one
    # popstate. (history.back() then forward() queued two popstates, and at load the
    # Lobby's could land after the dialog had opened, closing it.)
    await walker.page.evaluate(
        "() => { history.pushState({}, '', '/r/secret');"
        " window.dispatchEvent(new PopStateEvent('popstate')); }"
    )
    dialog = walker.page.get_by_role("dialog", name="Room password")
    await expect(dialog).to_be_visible(timeout=WAIT_MS)
    await expect(dialog).to_contain_text("This room is locked: type its password.")
    assert walker.page.url.split("?")[0].endswith("/")
    await dialog.get_by_label("Room password").fill("nope")
    await dialog.get_by_label("Room password").press("Enter")
    await expect(dialog).to_contain_text("That password is wrong; try again.")
    await dialog.get_by_label("Room password").fill("s3cret")
    await dialog.get_by_label("Room password").press("Enter")
    await expect(dialog).to_be_hidden()
    await expect(walker.page.locator("#room-title")).to_have_text("secret")
    assert sockets_opened(walker) == 1


async def test_switching_rooms_keeps_the_socket_and_changes_the_people(
    open_person: OpenPerson,
) -> None:
    alice = await open_person("alice")
    await open_person("bob")
    await open_person("carol", path="r/garden")
    await expect(alice.page.locator("#user-list li")).to_have_count(2)

    await alice.page.evaluate(
        "() => { const a = document.createElement('a'); a.href = '/r/garden';"
        " a.textContent = 'garden'; document.getElementById('messages').append(a); a.click(); }"
    )
    await expect(alice.page.locator("#room-title")).to_have_text("garden")
    assert alice.page.url.split("?")[0].endswith("/r/garden")
    await alice.until(
        lambda: people_listed(alice), 10, "the people list did not change to garden's"
    )
    await expect(alice.page.locator("#user-list li")).to_have_count(2)
    assert sorted(await people_listed(alice)) == ["alice", "carol"]

    await alice.page.go_back()  # back: the Lobby again, still the same socket
    await expect(alice.page.locator("#room-title")).to_have_text("Lobby")
    await expect(alice.page.locator("#user-list li[data-name=bob]")).to_be_visible()
    assert sorted(await people_listed(alice)) == ["alice", "bob"]
    assert sockets_opened(alice) == 1
    joins: list[dict[str, Any]] = [m for m in alice.received if m.get("type") == "room"]
    assert [m["room"] for m in joins] == ["garden", ""]


async def test_the_public_list_is_polled_only_while_on_screen(open_person: OpenPerson) -> None:
    watcher = await open_person("watcher")

    def answers() -> int:
        return sum(1 for message in watcher.received if message.get("type") == "rooms")

    async def answers_after(seconds: float) -> int:
        before = answers()
        await watcher.page.wait_for_timeout(seconds * 1000)
        return answers() - before

    assert await answers_after(9) >= 2  # every 4 s while the Lobby's list shows
    # The list leaves the screen (as when a call or another view covers it): no more asking.
    await watcher.page.evaluate(
        "() => { document.getElementById('lobby-extras').style.display = 'none'; }"
    )
    await watcher.page.wait_for_timeout(500)  # an answer to a request already sent may land
    assert await answers_after(9) == 0
    shown = answers()
    await watcher.page.evaluate(
        "() => { document.getElementById('lobby-extras').style.display = ''; }"
    )
    for _ in range(30):  # asked again within 3 s (the timer alone takes up to 4 s)
        if answers() > shown:
            break
        await watcher.page.wait_for_timeout(100)
    assert answers() > shown
