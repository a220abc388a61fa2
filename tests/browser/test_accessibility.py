"""axe-core (axe-playwright-python) on every screen of the page, light and
dark: no serious or critical violation. Also what a first visit needs: the
name field focused, an empty name explained, a favicon and a web app manifest."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import expect

from tests.browser.conftest import OpenPerson
from tests.browser.people import Person
from tests.support import StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

BLOCKING = {"serious", "critical"}
axe = Axe()


async def blocking_violations(person: Person, screen: str) -> list[str]:
    """Serious and critical axe violations on the page as it is now, in words."""
    results = await axe.run(person.page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        targets = [node["target"] for node in violation["nodes"]][:3]
        found.append(f"{screen}: {violation['id']} ({violation['impact']}) at {targets}")
    return found


async def check(person: Person, screen: str, problems: list[str]) -> None:
    problems.extend(await blocking_violations(person, screen))


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_screen_passes_axe(
    open_person: OpenPerson, start_chinwag: StartServer, scheme: Literal["light", "dark"]
) -> None:
    problems: list[str] = []
    # Calls ring long enough for axe to look at the ringing screens.
    server = await start_chinwag(ring_timeout=60.0)
    options: dict[str, Any] = {"color_scheme": scheme, "server": server}
    alice = await open_person("alice", sign_in=False, **options)
    await check(alice, "sign-in", problems)
    await alice.page.get_by_role("button", name="Sign in").click()  # empty name: the error shows
    await check(alice, "sign-in error", problems)
    await alice.sign_in("alice")
    bob = await open_person("bob", **options)
    await expect(alice.user_button("bob")).to_be_visible()
    await alice.say("a link: https://example.org/page")
    await bob.page.get_by_label("To", exact=True).select_option(label="Privately to alice")
    await bob.say("private hello")
    await expect(alice.page.locator("#messages .message.direct")).to_be_visible()
    await check(alice, "lobby with chat and notices", problems)

    await bob.call("alice")
    await alice.sees_text("#incoming-text", "bob is calling")
    await check(alice, "incoming call", problems)
    await check(bob, "outgoing call", problems)
    await alice.click("Accept")
    await alice.wait_remote_video()
    await alice.click("Mute")
    await check(alice, "in call", problems)
    await alice.page.locator("#more-button").click()
    await expect(alice.page.get_by_role("menu", name="More call actions")).to_be_visible()
    await check(alice, "in call, More menu open", problems)
    await alice.page.keyboard.press("Escape")
    await alice.page.locator("#chat-button").click()
    await alice.more("Stats")
    await check(alice, "in call with chat and stats", problems)
    await alice.page.keyboard.press("Escape")
    await alice.open_settings()
    await check(alice, "settings", problems)
    await alice.page.keyboard.press("Escape")
    await alice.page.locator("#help-button").click()
    await check(alice, "shortcuts", problems)
    await alice.page.keyboard.press("Escape")
    await alice.click("Hang up")
    await alice.sees_notice("Call with bob ended")
    await check(alice, "call ended", problems)

    phone = await open_person("pat", viewport=(390, 844), prejoin=True, **options)
    await phone.call("alice")
    await expect(phone.page.get_by_role("heading", name="Call alice")).to_be_visible()
    await check(phone, "phone pre-join", problems)
    await phone.page.get_by_role("button", name="Call", exact=True).click()
    await alice.sees_text("#incoming-text", "pat is calling")
    await alice.click("Accept")
    await phone.wait_remote_video()
    await check(phone, "phone in call", problems)
    await phone.page.locator("#chat-button").click()
    await check(phone, "phone chat", problems)
    assert not problems, "\n".join(problems)


async def test_first_visit_focus_empty_name_favicon_and_manifest(open_person: OpenPerson) -> None:
    person = await open_person("newcomer", sign_in=False)
    name = person.page.get_by_label("Your name")
    await expect(name).to_be_focused()
    await name.press("Enter")
    await expect(person.page.locator("#name-error")).to_contain_text("Type a name first")
    await expect(name).to_have_attribute("aria-invalid", "true")

    base = person.page.url.split("?")[0]
    icon = await person.page.request.get(base + "icons/favicon.svg")
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")
    manifest = await person.page.request.get(base + "manifest.webmanifest")
    assert manifest.ok
    data = json.loads(await manifest.text())
    assert data["display"] == "standalone" and data["start_url"] == "/"
    for entry in data["icons"]:
        fetched = await person.page.request.get(base + entry["src"].lstrip("/"))
        assert fetched.ok, entry["src"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_room_screens_pass_axe(
    open_person: OpenPerson, scheme: Literal["light", "dark"]
) -> None:
    """The Lobby's public rooms and New room form, a locked room's password, a group call
    (desktop and phone): no serious or critical violation."""
    problems: list[str] = []
    host = await open_person("host", color_scheme=scheme)
    await host.page.get_by_label("Room name").fill("crew")
    await host.page.get_by_label("Password (optional)").fill("pw")
    await host.page.get_by_label("List publicly on the Lobby page").check()
    await host.page.get_by_role("button", name="Open the room").click()
    lobby = await open_person("lobby", color_scheme=scheme)
    await expect(lobby.page.get_by_role("link", name="crew, 1 person")).to_be_visible(
        timeout=20_000
    )
    await check(lobby, "lobby with public rooms", problems)
    await lobby.page.get_by_role("link", name="crew, 1 person").click()
    await expect(lobby.page.get_by_role("dialog", name="Room password")).to_be_visible()
    await check(lobby, "room password dialog", problems)

    guest = await open_person("guest", path="r/crew", sign_in=False, color_scheme=scheme)
    await guest.page.get_by_label("Your name").fill("guest")
    await guest.page.get_by_label("Your name").press("Enter")
    await expect(guest.page.locator("#room-password-input")).to_be_visible()
    await check(guest, "sign-in into a locked room", problems)
    await guest.page.locator("#room-password-input").fill("pw")
    await guest.page.locator("#room-password-input").press("Enter")
    await expect(guest.page.locator("#room-title")).to_have_text("crew")
    await check(guest, "a room, idle", problems)

    await host.page.get_by_role("button", name="Start a group call in this room").click()
    await guest.page.get_by_role("button", name="Join the group call (1 in it)").click()
    await expect(guest.page.locator("#room-grid video")).to_have_count(2)
    await guest.page.get_by_role("button", name="Pin host").click()
    await check(guest, "group call", problems)
    await check(host, "group call, host", problems)
    phone = await open_person(
        "pat", path="r/crew", sign_in=False, viewport=(390, 844), color_scheme=scheme
    )
    await phone.page.get_by_label("Your name").fill("pat")
    await phone.page.get_by_label("Your name").press("Enter")
    await phone.page.locator("#room-password-input").fill("pw")
    await phone.page.locator("#room-password-input").press("Enter")
    await phone.page.get_by_role("button", name="Join the group call (2 in it)").click()
    await expect(phone.page.locator("#room-grid .room-tile")).to_have_count(3, timeout=20_000)
    await check(phone, "phone group call", problems)
    assert not problems, "\n".join(problems)
