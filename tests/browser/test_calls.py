"""Calls between two chinwag pages: ringing, media, hanging up, and every way a call ends."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.async_api import expect

from chinwag.transport.server import ChinwagServer
from tests.browser.conftest import OpenPerson
from tests.browser.people import connect_call, two_people, until

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

RESOLUTION = re.compile(r"^\d+\D\d+$")  # width, multiplication sign, height
CLOCK = re.compile(r"^\d+:\d\d$")
README_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "images" / "in-call.png"


async def test_call_ring_accept_media_and_hang_up(
    open_person: OpenPerson, chinwag: ChinwagServer
) -> None:
    alice, bob = await two_people(open_person)

    await alice.call("bob")
    await alice.sees_text("#outgoing-text", "Calling bob…")
    await bob.sees_text("#incoming-text", "alice is calling")
    # Ringing opens no camera on the callee's side.
    assert await bob.local_tracks() == []
    await alice.screenshot("calling")
    await bob.screenshot("ringing")

    await bob.click("Accept")
    for person in (alice, bob):
        await person.wait_remote_video()
        width, height = await person.remote_video_size()
        assert width > 0 and height > 0
        await person.media_flows()
    await alice.sees_text("#peer-name", "bob")
    await expect(alice.page.get_by_label("Video of bob")).to_be_visible()
    # The clock counts from the answer: minutes and seconds, moving on (any load).
    duration = alice.page.locator("#call-duration")
    await expect(duration).to_have_text(CLOCK)
    shown = await duration.text_content()
    await expect(duration).not_to_have_text(shown or "", timeout=30_000)
    await expect(bob.page.locator('#user-list li[data-name="alice"]')).to_have_attribute(
        "data-busy", "true"
    )
    # Both pages said media flows (call-connected): the server's call is active.
    await until(lambda: chinwag.lobby.call_state("alice") == "active", 10, "the call is active")
    shot = await alice.screenshot("in-call")
    if os.environ.get("CHINWAG_UPDATE_DOC_IMAGES"):  # by hand, so tests leave the tree clean
        shutil.copyfile(shot, README_IMAGE)

    await alice.more("Stats")
    await expect(alice.page.locator('[data-stat="route"]')).to_have_text("host (UDP)")
    await expect(alice.page.locator('[data-stat="resolution"]')).to_have_text(RESOLUTION)
    await expect(alice.page.locator('[data-stat="in"]')).to_contain_text("kbit/s")
    await expect(alice.page.locator('[data-stat="rtt"]')).to_contain_text("ms")
    await alice.screenshot("stats-panel")

    await bob.click("Hang up")
    await alice.sees_notice("bob hung up")
    await alice.back_to_idle()
    await bob.back_to_idle()

    # Either can call again at once; this time the callee hangs up... from the other side.
    await connect_call(bob, alice)
    await alice.media_flows()
    await alice.click("Hang up")
    await bob.back_to_idle()
    await alice.back_to_idle()


async def test_decline_tells_the_caller(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await alice.call("bob")
    await bob.click("Decline")
    await alice.sees_notice("bob declined")
    await alice.back_to_idle()
    await expect(bob.page.locator("#incoming")).to_be_hidden()


async def test_someone_in_a_call_is_busy(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    carol = await open_person("carol")
    await connect_call(alice, bob)
    await expect(carol.user_button("bob")).to_contain_text("in a call")

    await carol.call("bob")
    await carol.sees_notice("bob is busy")
    await carol.back_to_idle()
    # bob never saw a prompt, and his call goes on.
    await expect(bob.page.locator("#incoming")).to_be_hidden()
    assert await bob.call_state() == "active"


async def test_cancel_by_keyboard_while_ringing_removes_the_prompt(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await alice.call("bob")
    await expect(bob.page.locator("#incoming")).to_be_visible()
    # Cancel has the focus while ringing; Escape presses it.
    await expect(alice.page.get_by_role("button", name="Cancel")).to_be_focused()
    await alice.page.keyboard.press("Escape")
    await expect(bob.page.locator("#incoming")).to_be_hidden()
    await bob.sees_notice("Missed call from alice")
    await alice.back_to_idle()


async def test_no_answer_ends_the_attempt(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)  # the page takes the 2 s ring timeout
    alice_2s = await open_person("dave", query="ringTimeout=1")
    await alice_2s.call("bob")
    await expect(bob.page.locator("#incoming")).to_be_visible()
    await alice_2s.sees_notice("No answer from bob", timeout=5000)
    await alice_2s.back_to_idle()
    await expect(bob.page.locator("#incoming")).to_be_hidden()
    assert alice is not None


async def test_glare_gives_exactly_one_call(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await alice.page.evaluate("() => 0")
    # Both click at (nearly) the same moment.
    await alice.user_button("bob").click(no_wait_after=True)
    await bob.user_button("alice").click(no_wait_after=True)
    for person in (alice, bob):
        await person.wait_remote_video()
        await person.media_flows()
        assert await person.call_state() == "active"
    await expect(alice.page.locator("#incoming")).to_be_hidden()
    await expect(bob.page.locator("#incoming")).to_be_hidden()


async def test_mute_camera_off_and_screen_share_reach_the_other_side(
    open_person: OpenPerson,
) -> None:
    alice, bob = await two_people(open_person)
    await connect_call(alice, bob)

    await alice.click("Mute")
    await expect(bob.page.locator("#remote-muted")).to_be_visible()
    await alice.click("Camera off")
    await expect(bob.page.locator("#remote-camera-off")).to_be_visible()
    await alice.click("Unmute")
    await alice.click("Camera on")
    await expect(bob.page.locator("#remote-muted")).to_be_hidden()
    await expect(bob.page.locator("#remote-camera-off")).to_be_hidden()

    camera_id = await alice.page.evaluate(
        "() => window.chinwag.debug.pc.getSenders().find(s => s.track?.kind === 'video').track.id"
    )
    await alice.click("Share screen")
    await expect(bob.page.locator("#remote-sharing")).to_be_visible()
    sent_id = await alice.page.evaluate(
        "() => window.chinwag.debug.pc.getSenders().find(s => s.track?.kind === 'video').track.id"
    )
    assert sent_id != camera_id
    await bob.media_flows(audio=False)

    await alice.click("Stop sharing")
    await expect(bob.page.locator("#remote-sharing")).to_be_hidden()
    back_id = await alice.page.evaluate(
        "() => window.chinwag.debug.pc.getSenders().find(s => s.track?.kind === 'video').track.id"
    )
    assert back_id == camera_id
    await bob.media_flows(audio=False)


async def test_a_closed_page_ends_the_call_on_the_other_side(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await connect_call(alice, bob)
    await bob.close()
    # A closed page and a reloaded one look the same at first: alice waits a
    # little for bob to come back ("reconnecting", never "left" at once), then ends.
    await alice.sees_notice("bob lost their connection")
    await expect(alice.page.locator("#call-phase")).to_have_text("Reconnecting…")
    await alice.sees_notice("bob left; the call ended", timeout=20_000)
    await alice.back_to_idle()
    await expect(alice.user_button("bob")).to_have_count(0)


async def test_cancel_before_the_camera_opens_leaves_it_off(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    # Call and cancel in the same task, before getUserMedia can answer.
    await alice.page.evaluate(
        "() => { document.querySelector('#user-list li[data-name=\"bob\"] button').click();"
        " document.getElementById('cancel-button').click(); }"
    )
    await alice.until_state("idle")

    async def camera_opened_and_stopped() -> bool:
        states = await alice.local_tracks()
        return bool(states) and set(states) == {"ended"}

    await alice.until(camera_opened_and_stopped, 5, "the camera opened late stayed on")
    await expect(bob.page.locator("#incoming")).to_be_hidden()
    assert await bob.call_state() == "idle"
