"""The pre-join screen: a live camera preview and microphone level before any
call, device failures named per device (from the browser itself: Chromium's
``--fail-audio-stream-creation`` breaks the microphone alone; a browser with no
fake permission prompt refuses what the context was not granted), and a call
that goes on with what still works: video only, or listening only."""

from __future__ import annotations

import pytest
import pytest_asyncio
from playwright.async_api import expect

from chinwag.transport.server import ChinwagServer
from tests.browser.conftest import Launch, OpenPerson
from tests.browser.people import Person, serious_axe_problems, until
from tests.support import StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

# Frames the preview <video> has shown so far (it rises while the camera plays).
_PREVIEW_FRAMES = (
    "() => document.getElementById('prejoin-video').getVideoPlaybackQuality().totalVideoFrames"
)
_LEVEL = "() => document.getElementById('prejoin-level').value"


@pytest_asyncio.fixture(loop_scope="session")
async def chinwag(start_chinwag: StartServer) -> ChinwagServer:
    """Rings long enough for a person to look at the pre-join screen before joining."""
    return await start_chinwag(ring_timeout=30.0)


async def open_prejoin_for_call(caller: Person, callee: Person) -> None:
    await expect(caller.user_button(callee.name)).to_be_visible()
    await caller.call(callee.name)
    await expect(caller.page.get_by_role("heading", name=f"Call {callee.name}")).to_be_visible()


async def test_preview_plays_and_the_level_meter_follows_the_microphone(
    open_person: OpenPerson,
) -> None:
    alice = await open_person("alice", prejoin=True)
    bob = await open_person("bob")
    await open_prejoin_for_call(alice, bob)

    # The preview decodes the camera's frames, and the meter moves with the fake microphone's beeps.
    await alice.rises(
        lambda: alice.page.evaluate(_PREVIEW_FRAMES), 10, "the preview shows no frames"
    )
    levels: set[float] = set()

    async def meter_moved() -> bool:
        levels.add(round(float(await alice.page.evaluate(_LEVEL)), 3))
        return len(levels) >= 3 and max(levels) > 0.05

    await until(meter_moved, 10, f"the level meter did not move: {levels}")
    assert await serious_axe_problems(alice) == []
    # Nothing rang yet: the call starts with Call.
    assert await bob.call_state() == "idle"

    # Microphone off before joining: the call starts muted, and bob sees it.
    await alice.page.get_by_role("button", name="Microphone").click()
    await expect(alice.page.get_by_role("button", name="Microphone")).to_have_attribute(
        "aria-pressed", "false"
    )
    await alice.page.locator("#prejoin-join").click()
    await bob.sees_text("#incoming-text", "alice is calling")
    await bob.click("Accept")
    await bob.media_flows(audio=False)
    await expect(bob.page.locator("#remote-muted")).to_be_visible()
    await expect(alice.page.get_by_role("button", name="Unmute")).to_be_visible()


async def test_accept_goes_through_the_pre_join_screen_and_ringing_stops(
    open_person: OpenPerson,
) -> None:
    alice = await open_person("alice")
    bob = await open_person("bob", prejoin=True)
    await expect(alice.user_button("bob")).to_be_visible()
    await alice.call("bob")
    await bob.sees_text("#incoming-text", "alice is calling")
    await bob.click("Accept")
    await expect(bob.page.get_by_role("heading", name="alice is calling")).to_be_visible()

    # The ring stops within a moment (the analyser hears the last note fade); the caller
    # still hears ringing until bob joins.
    async def silent() -> bool:
        return float(await bob.page.evaluate("window.chinwag.ring.level()")) == 0

    await until(silent, 1.5, "bob's ringtone goes on after Accept")
    assert await alice.call_state() == "ringing"
    # The camera button off before joining: bob joins with his camera off.
    await bob.page.get_by_role("button", name="Camera", exact=True).click()
    await bob.page.get_by_role("button", name="Join the call").click()
    await alice.media_flows(video=False)
    await expect(alice.page.locator("#remote-camera-off")).to_be_visible()
    await expect(alice.page.locator("#remote-avatar")).to_be_visible()
    await expect(alice.page.locator("#remote-avatar")).to_have_text("B")


async def test_broken_microphone_is_named_and_video_only_works(
    open_person: OpenPerson, launch: Launch
) -> None:
    broken = await launch(extra=["--fail-audio-stream-creation"])
    alice = await open_person("alice", in_browser=broken, prejoin=True)
    bob = await open_person("bob")
    await open_prejoin_for_call(alice, bob)
    problem = alice.page.locator("#prejoin-problem")
    await expect(problem).to_contain_text("The microphone is in use by another application")
    await expect(problem).not_to_contain_text("camera")
    await alice.rises(
        lambda: alice.page.evaluate(_PREVIEW_FRAMES), 10, "the camera preview stopped too"
    )
    assert await serious_axe_problems(alice) == []

    join = alice.page.get_by_role("button", name="Join with video only")
    await join.click()
    await bob.sees_text("#incoming-text", "alice is calling")
    await bob.click("Accept")
    await bob.media_flows(audio=False)  # bob decodes alice's video
    assert await alice.sender_kinds() == ["video"]


async def test_refused_microphone_permission_is_named_with_how_to_allow_it(
    open_person: OpenPerson, launch: Launch, chinwag: ChinwagServer
) -> None:
    # A real refusal: no fake prompt, and the context was granted the camera only.
    strict = await launch(prompt="none")
    alice = await open_person("alice", in_browser=strict, sign_in=False, prejoin=True)
    await alice.context.grant_permissions(["camera"], origin=chinwag.url.rstrip("/"))
    await alice.sign_in("alice")
    bob = await open_person("bob")
    await open_prejoin_for_call(alice, bob)
    problem = alice.page.locator("#prejoin-problem")
    await expect(problem).to_contain_text(
        "Microphone permission was refused: here is how to allow it."
    )
    await expect(problem).to_contain_text("In Chrome:")
    await alice.page.get_by_role("button", name="Join with video only").click()
    await bob.click("Accept")
    await bob.media_flows(audio=False)


async def test_nothing_allowed_joins_to_listen_only(
    open_person: OpenPerson, launch: Launch
) -> None:
    strict = await launch(prompt="none")
    alice = await open_person("alice", in_browser=strict, prejoin=True)
    bob = await open_person("bob")
    await open_prejoin_for_call(alice, bob)
    problem = alice.page.locator("#prejoin-problem")
    await expect(problem).to_contain_text("Camera and microphone permission was refused")
    await alice.page.get_by_role("button", name="Join to listen only").click()
    await bob.click("Accept")
    # alice sends nothing, and still sees and hears bob.
    await alice.media_flows()
    assert await alice.sender_kinds() == []


async def test_group_call_joined_audio_only_from_the_pre_join_screen(
    open_person: OpenPerson,
) -> None:
    alice = await open_person("alice", prejoin=True)
    bob = await open_person("bob")
    await alice.page.get_by_role("button", name="Start a group call in this room").click()
    await expect(
        alice.page.get_by_role("heading", name="Join the group call in Lobby")
    ).to_be_visible()
    await alice.page.get_by_label("Audio only (no camera)").check()
    await expect(alice.page.locator("#prejoin-avatar")).to_be_visible()
    await alice.page.get_by_role("button", name="Join", exact=True).click()
    await expect(alice.page.locator("#stage")).to_be_visible(timeout=30_000)
    await bob.page.get_by_role("button", name="Join the group call (1 in it)").click()
    sent = (
        "() => (window.chinwag.room.peerConnection('bob')?.getSenders() ?? [])"
        ".filter((s) => s.track).map((s) => s.track.kind)"
    )

    async def audio_only_link() -> bool:
        return await alice.page.evaluate(sent) == ["audio"]

    await until(audio_only_link, 20, "alice's link to bob does not carry her audio alone")
    await expect(
        bob.page.get_by_role("region", name="alice").locator(".room-tile-avatar")
    ).to_be_visible()
