"""Camera and microphone problems are told in words, on both sides, and leave nothing open.

Every page here skips the pre-join screen (``Person.open``'s default), so the
call engine opens the devices itself (media.js ``openCallMedia``): each
failure still names its device, in the pre-join screen's words
(deviceerrors.js), and what still works is offered: video only, audio only,
or listening only.

Each condition comes from the browser itself wherever Chromium has a way to
produce it:

- permission denied: ``--use-fake-ui-for-media-stream=deny`` (the prompt says no);
  for one kind only, a browser without the fake prompt (headless Chromium then
  refuses what was not granted) and ``grant_permissions(["microphone"])``;
- no camera: ``--use-fake-device-for-media-stream=device-count=0`` (fake
  microphones, no camera: ``getUserMedia`` rejects with ``NotFoundError``);
- neither: no fake devices at all, on a host without capture hardware (the
  test machines are containers with no ``/dev/snd`` or ``/dev/video*``; the
  test checks that first and says so if the host has devices);
- device in use: ``--fail-audio-stream-creation`` makes the audio stream fail
  to start, so ``getUserMedia`` rejects with ``NotReadableError`` ("Could not
  start audio source"), which is what Chromium raises when a device is held by
  another application.

Chromium's fake devices always include three microphones, so "a camera but no
microphone" has no browser mechanism: an init script hides the microphones and
rejects audio requests with the ``NotFoundError`` Chromium itself raises for a
missing kind (seen with ``device-count=0`` for cameras).
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from chinwag.transport.server import ChinwagServer
from tests.browser.conftest import Launch, OpenPerson
from tests.browser.people import Person, call_and_accept, serious_axe_problems
from tests.support import StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

# Simulated, see the module docstring: no microphone, and the exact rejection
# Chromium gives for a kind it has no device of.
_NO_MICROPHONE = """
(() => {
  const media = navigator.mediaDevices;
  const enumerate = media.enumerateDevices.bind(media);
  const getUserMedia = media.getUserMedia.bind(media);
  media.enumerateDevices = async () =>
    (await enumerate()).filter((device) => device.kind !== "audioinput");
  media.getUserMedia = async (constraints) => {
    if (constraints?.audio) throw new DOMException("Requested device not found", "NotFoundError");
    return getUserMedia(constraints);
  };
})();
"""

_CAPTURE_DEVICES = """
async () => (await navigator.mediaDevices.enumerateDevices())
  .filter((d) => d.kind === "audioinput" || d.kind === "videoinput").map((d) => d.kind)
"""


@pytest_asyncio.fixture(loop_scope="session")
async def chinwag(start_chinwag: StartServer) -> ChinwagServer:
    """Longer rings than the suite's 2 s: the callee answers a question before accepting."""
    return await start_chinwag(ring_timeout=10.0)


# Frames decoded from each other participant of a group call (getStats, per peer connection).
_ROOM_FRAMES = """
async () => {
  const room = window.chinwag.room;
  let frames = 0;
  for (const name of room.peers()) {
    const report = await room.peerConnection(name).getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
    });
  }
  return frames;
}
"""

_BOTH_REFUSED = "Camera and microphone permission was refused: here is how to allow it."
_MICROPHONE_IN_USE = "The microphone is in use by another application"


async def sees_question(person: Person, text: str) -> None:
    await expect(person.page.locator("#call-prompt")).to_contain_text(text)


async def answer(person: Person, label: str) -> None:
    """Press one of the question's buttons (the call screen has its own Cancel too)."""
    await person.page.locator("#call-prompt").get_by_role("button", name=label, exact=True).click()


async def caller_goes_on_with(caller: Person, callee: Person, kind: str) -> None:
    """The caller takes the offer of `kind` alone; the callee accepts and receives it."""
    await answer(caller, "Audio only" if kind == "audio" else "Video only")
    await callee.sees_text("#incoming-text", f"{caller.name} is calling")
    await callee.click("Accept")
    await callee.media_flows(audio=kind == "audio", video=kind == "video")
    assert await caller.sender_kinds() == [kind]
    await caller.click("Hang up")
    await caller.back_to_idle()
    await callee.back_to_idle()


async def sends_only(person: Person, kind: str) -> None:
    """The question names one device only: the other one is not blamed."""
    other = "camera" if kind == "audio" else "microphone"
    await expect(person.page.locator("#call-prompt")).not_to_contain_text(other)


async def test_callee_denies_camera_permission(
    open_person: OpenPerson, denying_browser: Browser
) -> None:
    alice = await open_person("alice")
    bob = await open_person("bob", in_browser=denying_browser)
    await expect(alice.user_button("bob")).to_be_visible()

    await alice.call("bob")
    await bob.click("Accept")
    # Both refused: listening only is offered; bob says no, and the call is declined in words.
    await sees_question(bob, _BOTH_REFUSED)
    await sees_question(bob, "listening only?")
    await answer(bob, "Cancel")
    await bob.sees_notice(_BOTH_REFUSED)
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
    await sees_question(alice, _BOTH_REFUSED)
    await sees_question(alice, "In Chrome: click the icon at the left of the address bar")
    await answer(alice, "Cancel")
    await alice.sees_notice(_BOTH_REFUSED)
    await alice.until_state("idle")
    await expect(bob.page.locator("#incoming")).to_be_hidden()
    assert await bob.call_state() == "idle"


async def test_caller_refused_camera_calls_audio_only(
    open_person: OpenPerson, launch: Launch, chinwag: ChinwagServer
) -> None:
    alice = await open_person("alice", in_browser=await launch(prompt="none"))
    await alice.context.grant_permissions(["microphone"], origin=chinwag.url)
    bob = await open_person("bob")

    await expect(alice.user_button("bob")).to_be_visible()
    await alice.call("bob")
    # Refused, not absent: the words name the camera, and the microphone alone is offered.
    await sees_question(alice, "Camera permission was refused: here is how to allow it.")
    await sees_question(alice, "Continue with audio only?")
    await sends_only(alice, "video")
    assert await serious_axe_problems(alice) == []
    await caller_goes_on_with(alice, bob, "audio")  # bob hears alice


async def test_callee_without_camera_talks_audio_only(
    open_person: OpenPerson, launch: Launch
) -> None:
    alice = await open_person("alice")
    bob = await open_person("bob", in_browser=await launch(cameras=0))

    await call_and_accept(alice, bob)
    await sees_question(bob, "No camera was found. Continue with audio only?")
    await answer(bob, "Audio only")
    await alice.until_state("active")

    await alice.media_flows(video=False)  # alice hears bob
    assert await bob.sender_kinds() == ["audio"]
    await bob.media_flows()  # and bob still sees and hears alice
    await alice.click("Hang up")
    await alice.back_to_idle()
    await bob.back_to_idle()


async def test_caller_without_microphone_calls_video_only(open_person: OpenPerson) -> None:
    alice = await open_person("alice", sign_in=False)
    await alice.context.add_init_script(_NO_MICROPHONE)
    await alice.page.reload()
    await alice.sign_in("alice")
    bob = await open_person("bob")

    await expect(alice.user_button("bob")).to_be_visible()
    await alice.call("bob")
    await sees_question(alice, "No microphone was found. Continue with video only?")
    await answer(alice, "Video only")
    await bob.sees_text("#incoming-text", "alice is calling")
    await bob.click("Accept")
    await bob.until_state("active")

    await bob.media_flows(audio=False)  # bob sees alice
    assert await alice.sender_kinds() == ["video"]
    await bob.click("Hang up")
    await alice.back_to_idle()
    await bob.back_to_idle()


async def test_callee_with_no_devices_declines_in_words(
    open_person: OpenPerson, launch: Launch
) -> None:
    alice = await open_person("alice")
    bob = await open_person("bob", in_browser=await launch(cameras=None))
    devices = await bob.page.evaluate(_CAPTURE_DEVICES)
    assert devices == [], f"this host has capture devices, so 'none' cannot happen: {devices}"

    await call_and_accept(alice, bob)
    await sees_question(bob, "No camera or microphone was found.")
    await answer(bob, "Cancel")
    await bob.sees_notice("No camera or microphone was found.")
    await alice.sees_notice("bob has no camera or microphone that works")
    await alice.back_to_idle()
    await bob.until_state("idle")
    assert await bob.local_tracks() == []
    await expect(bob.page.locator("#call-prompt")).to_be_hidden()


async def test_callee_with_no_devices_can_listen_only(
    open_person: OpenPerson, launch: Launch
) -> None:
    alice = await open_person("alice")
    bob = await open_person("bob", in_browser=await launch(cameras=None))

    await call_and_accept(alice, bob)
    await sees_question(bob, "No camera or microphone was found. Continue without sending")
    await answer(bob, "Listen only")
    await bob.media_flows()  # bob sees and hears alice, sending nothing
    assert await bob.sender_kinds() == []
    await bob.click("Hang up")
    await alice.back_to_idle()
    await bob.back_to_idle_without_media()


async def test_callee_microphone_in_use_declines_in_words(
    open_person: OpenPerson, launch: Launch
) -> None:
    alice = await open_person("alice")
    bob = await open_person("bob", in_browser=await launch(extra=["--fail-audio-stream-creation"]))

    await call_and_accept(alice, bob)
    await sees_question(bob, _MICROPHONE_IN_USE)
    await answer(bob, "Cancel")
    await bob.sees_notice(_MICROPHONE_IN_USE)
    await alice.sees_notice("bob's camera or microphone is in use by another application")
    await alice.back_to_idle()
    await bob.until_state("idle")
    assert await bob.local_tracks() == []


async def test_group_call_without_microphone_asks_then_joins_video_only(
    open_person: OpenPerson,
) -> None:
    """A group call opens media as a one-to-one call does (media.js openCallMedia):
    the same question, then the call with the kind that works."""
    ann = await open_person("ann", path="r/quiet", sign_in=False)
    await ann.context.add_init_script(_NO_MICROPHONE)
    await ann.page.reload()
    await ann.sign_in("ann")
    ben = await open_person("ben", path="r/quiet")

    await ann.page.get_by_role("button", name="Start a group call in this room").click()
    await sees_question(ann, "No microphone was found. Continue with video only?")
    await answer(ann, "Video only")
    await ben.page.get_by_role("button", name="Join the group call (1 in it)").click()
    await expect(ann.page.locator("#room-grid .room-tile")).to_have_count(2, timeout=20_000)

    async def ann_sends_video_only() -> list[str] | None:
        kinds = await ann.page.evaluate(
            "() => { const room = window.chinwag.room; const pc = room.peers().length"
            " && room.peerConnection(room.peers()[0]);"
            " return pc ? pc.getSenders().filter((s) => s.track).map((s) => s.track.kind) : []; }"
        )
        return sorted(kinds) if kinds else None

    assert await ann.until(ann_sends_video_only, 20, "ann sends nothing") == ["video"]
    await ann.click("Leave call")
    await ann.sees_notice("You left the group call")


async def test_caller_microphone_in_use_is_named_and_calls_video_only(
    open_person: OpenPerson, launch: Launch
) -> None:
    """The pre-join screen skipped: the call engine itself names the microphone."""
    alice = await open_person(
        "alice", in_browser=await launch(extra=["--fail-audio-stream-creation"])
    )
    bob = await open_person("bob")
    await expect(alice.user_button("bob")).to_be_visible()

    await alice.call("bob")
    await sees_question(
        alice, f"{_MICROPHONE_IN_USE} (or cannot be started). Continue with video only?"
    )
    await sends_only(alice, "audio")
    assert await serious_axe_problems(alice) == []
    await caller_goes_on_with(alice, bob, "video")  # bob decodes alice's video


async def test_group_call_with_microphone_in_use_joins_video_only(
    open_person: OpenPerson, launch: Launch
) -> None:
    broken = await launch(extra=["--fail-audio-stream-creation"])
    ben = await open_person("ben", path="r/busy")
    ann = await open_person("ann", path="r/busy", in_browser=broken)

    await ben.page.get_by_role("button", name="Start a group call in this room").click()
    await expect(ben.page.locator("#room-grid .room-tile")).to_have_count(1, timeout=20_000)
    await ann.page.get_by_role("button", name="Join the group call (1 in it)").click()
    await sees_question(
        ann, f"{_MICROPHONE_IN_USE} (or cannot be started). Continue with video only?"
    )
    await sends_only(ann, "audio")
    await answer(ann, "Video only")
    await expect(ann.page.locator("#room-grid .room-tile")).to_have_count(2, timeout=20_000)
    # ben decodes ann's video.
    await ben.rises(lambda: ben.page.evaluate(_ROOM_FRAMES), 20, "ben decodes nothing from ann")
    await ann.click("Leave call")
    await ann.sees_notice("You left the group call")
