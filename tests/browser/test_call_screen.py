"""The call screen as a person meets it: ringing that reaches a hidden tab, a
ringing call that leaves the keyboard alone, shortcuts, the phone layout,
missed and busy calls, and no call while the server is unreachable."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from chinwag.transport.server import ChinwagServer
from tests.browser.conftest import OpenPerson
from tests.browser.people import Person, connect_call, two_people

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

# Makes the page believe its tab went to the background, as switching tabs does.
_HIDE_PAGE = """
() => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
  document.dispatchEvent(new Event("visibilitychange"));
}
"""
_ENABLE_BOB = "document.querySelector('#user-list li[data-name=\"bob\"] button').disabled = false"
# A phone browser: no screen sharing.
_NO_SCREEN_SHARING = "delete MediaDevices.prototype.getDisplayMedia;"


async def focused_id(person: Person) -> str:
    return str(await person.page.evaluate("document.activeElement?.id ?? ''"))


async def ring_level(person: Person) -> float:
    return float(await person.page.evaluate("window.chinwag.ring.level()"))


async def test_typing_in_chat_during_an_incoming_call_keeps_focus_and_does_not_accept(
    open_person: OpenPerson,
) -> None:
    alice, bob = await two_people(open_person)
    box = bob.page.get_by_role("textbox", name="Message")
    await box.click()
    await box.type("I was saying")
    await alice.call("bob")
    await bob.sees_text("#incoming-text", "alice is calling")

    # Space and Enter go to the chat, as typed: the message is sent, the call still rings.
    await box.type(" something important")
    await box.press("Enter")
    await alice.sees_text("#messages", "I was saying something important")
    assert await focused_id(bob) == "chat-input"
    assert await bob.call_state() == "ringing"
    assert await bob.local_tracks() == []  # no camera opened

    # The documented shortcut accepts from anywhere, and the typing goes on where it was.
    await bob.page.keyboard.press("Alt+Shift+A")
    await bob.until_state("active")
    await bob.media_flows()
    assert await focused_id(bob) == "chat-input"


async def test_shortcuts_mute_camera_help_chat_and_hang_up(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await connect_call(alice, bob)
    await alice.page.locator("#remote-video").click()  # focus off any text field

    await alice.page.keyboard.press("m")
    await expect(bob.page.locator("#remote-muted")).to_be_visible()
    await expect(alice.page.locator("#self-muted")).to_be_visible()
    await expect(alice.page.get_by_role("button", name="Unmute")).to_be_visible()
    await alice.page.keyboard.press("v")
    await expect(bob.page.locator("#remote-camera-off")).to_be_visible()
    await alice.page.keyboard.press("m")
    await expect(bob.page.locator("#remote-muted")).to_be_hidden()
    await expect(alice.page.locator("#self-muted")).to_be_hidden()

    await alice.page.keyboard.press("?")
    help_dialog = alice.page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(help_dialog).to_be_visible()
    await expect(help_dialog).to_contain_text("Alt+Shift+A")
    await alice.page.keyboard.press("Escape")
    await expect(help_dialog).to_be_hidden()

    # The chat folds away in a call; C brings it back.
    await expect(alice.page.locator("#chat-panel")).to_be_hidden()
    await alice.page.keyboard.press("c")
    await expect(alice.page.locator("#chat-panel")).to_be_visible()

    await alice.page.keyboard.press("Alt+Shift+H")
    await alice.sees_notice("Call with bob ended · 0:")
    await bob.sees_notice("alice hung up · call lasted 0:")
    await alice.back_to_idle()
    await bob.back_to_idle()


async def test_ringing_reaches_a_hidden_tab(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await bob.context.grant_permissions(["notifications"])
    await bob.page.evaluate(_HIDE_PAGE)

    await alice.call("bob")
    await bob.page.wait_for_function("() => document.title.includes('alice is calling')")
    await expect(bob.page.locator("#favicon")).to_have_attribute("href", "/icons/favicon-ring.svg")
    await bob.page.wait_for_function(
        "() => window.chinwag.ring.notification?.body.includes('alice is calling')"
    )
    # The ringtone really plays: the context runs and its output is not silent.
    assert await bob.page.evaluate("window.chinwag.ring.tone") == "ringtone"
    await bob.page.wait_for_function("() => window.chinwag.ring.contextState === 'running'")
    await bob.until(lambda: _louder(bob), 5, "the ringtone is silent")
    # The caller hears a ringback tone.
    assert await alice.page.evaluate("window.chinwag.ring.tone") == "ringback"
    await alice.until(lambda: _louder(alice), 8, "the ringback tone is silent")

    await bob.click("Accept")
    await bob.until_state("active")
    await bob.page.wait_for_function("() => document.title === 'chinwag'")
    await expect(bob.page.locator("#favicon")).to_have_attribute("href", "/icons/favicon.svg")
    assert await bob.page.evaluate("window.chinwag.ring.tone") == ""
    assert await alice.page.evaluate("window.chinwag.ring.tone") == ""


async def _louder(person: Person) -> bool:
    return await ring_level(person) > 0.01


async def test_ringtone_can_be_muted_and_notifications_are_offered_once(
    open_person: OpenPerson,
) -> None:
    alice, bob = await two_people(open_person)
    offer = bob.page.locator("#notices").get_by_text("Get a notification")
    await expect(offer).to_be_visible()
    await bob.page.get_by_role("button", name="Not now").click()
    await expect(offer).to_be_hidden()

    await bob.open_settings()
    await bob.page.get_by_label("Play a ringtone for incoming calls").uncheck()
    await bob.page.keyboard.press("Escape")
    await alice.call("bob")
    await bob.sees_text("#incoming-text", "alice is calling")
    await bob.page.wait_for_function("() => window.chinwag.ring.contextState === 'running'")
    for _ in range(5):  # a muted ringtone stays silent however long one listens
        assert await ring_level(bob) == 0
        await bob.page.wait_for_timeout(200)
    await bob.click("Decline")

    # Asked once: a reload signs in again and does not offer again.
    await bob.page.reload()
    await expect(bob.page.locator("#self-name")).to_have_text("bob")
    await expect(bob.user_button("alice")).to_be_visible()
    await expect(offer).to_have_count(0)


async def test_phone_call_screen_fits_and_the_chat_is_a_button_away(
    open_person: OpenPerson,
) -> None:
    phone = await open_person("pat", viewport=(390, 844), init_script=_NO_SCREEN_SHARING)
    desk = await open_person("dana")
    await expect(desk.user_button("pat")).to_be_visible()
    await desk.user_button("pat").focus()
    await desk.page.keyboard.press("Enter")
    await phone.click("Accept")
    await phone.wait_remote_video()
    await phone.media_flows()

    box = await phone.page.locator("#call-area").bounding_box()
    assert box is not None and box["width"] == 390
    # No screen sharing where the browser has none; one row of controls, all on screen.
    await expect(phone.page.locator("#share-button")).to_be_hidden()
    controls = phone.page.locator(".controls button:visible")
    tops = set()
    for i in range(await controls.count()):
        button = controls.nth(i)
        await expect(button).to_be_in_viewport(ratio=1)
        found = await button.bounding_box()
        assert found is not None
        tops.add(round(found["y"]))
    assert len(tops) == 1, f"controls wrap onto {len(tops)} rows"
    toolbar = phone.page.get_by_role("toolbar", name="Call controls")
    for label in ("Mute", "Camera off", "Chat", "More", "Hang up"):
        await expect(toolbar.get_by_role("button", name=label, exact=True)).to_be_in_viewport()

    # A message while the chat is folded away: a badge; one tap shows it.
    await desk.say("see you at 5")
    await expect(phone.page.locator("#chat-unread")).to_have_text("1")
    await phone.page.locator("#chat-button").click()
    await expect(phone.page.locator("#messages")).to_contain_text("see you at 5")
    await expect(phone.page.locator("#messages .message").last).to_be_in_viewport()
    await expect(phone.page.locator("#chat-unread")).to_be_hidden()
    await phone.click("Close")
    await expect(phone.page.locator("#chat-panel")).to_be_hidden()

    # Devices are in the settings sheet, under More.
    await phone.more("Settings")
    settings = phone.page.get_by_role("dialog", name="Settings")
    await expect(settings.get_by_label("Camera", exact=True)).to_be_in_viewport()
    await phone.page.keyboard.press("Escape")
    await phone.click("Hang up")
    await desk.back_to_idle()


async def test_missed_call_is_listed_with_call_back_and_busy_callers_are_reported(
    open_person: OpenPerson,
) -> None:
    alice, bob = await two_people(open_person)
    await alice.call("bob")  # nobody answers: the server's 2 s ring runs out
    await bob.sees_notice("Missed call from alice", timeout=15_000)
    await bob.back_to_idle_without_media()
    missed = bob.page.locator("#missed-list li", has_text="alice")
    await expect(missed).to_be_visible()
    await bob.page.get_by_role("button", name="Call alice back").click()
    await alice.sees_text("#incoming-text", "bob is calling")
    await alice.click("Accept")
    await alice.until_state("active")
    await expect(missed).to_have_count(0)

    carol = await open_person("carol")
    await expect(carol.user_button("bob")).to_contain_text("in a call")
    await carol.call("bob")
    await carol.sees_notice("bob is busy")
    await bob.sees_notice("carol tried to call you")
    await expect(bob.page.locator("#missed-list li", has_text="carol")).to_be_attached()
    assert await bob.call_state() == "active"


async def test_no_call_starts_while_the_server_is_unreachable(
    chinwag: ChinwagServer, open_person: OpenPerson
) -> None:
    alice, _bob = await two_people(open_person)
    await chinwag.stop()
    await expect(alice.page.locator("#connection-status")).not_to_have_text("Connected")
    await expect(alice.user_button("bob")).to_be_disabled()
    # Forced past the disabled button, the call is refused in words and rings nobody.
    await alice.page.evaluate(_ENABLE_BOB)
    await alice.call("bob")
    await alice.sees_notice("You are offline")
    assert await alice.call_state() == "idle"
