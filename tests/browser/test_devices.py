"""Choosing another camera or microphone in the middle of a call.

The other person must keep receiving, and what they receive must come from the
new device: the sender's track, and the track the encoder reads from
(``outbound-rtp`` -> ``media-source.trackIdentifier``), change to it, and the
other side's decoded frames and audio samples keep rising afterwards.

The browsers have three fake cameras. The tests switch to ``fake_device_2``
because Chromium's ``fake_device_1`` is a depth camera whose frames WebRTC
cannot encode; the last test shows that on a bare page, without chinwag.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.people import OpenPerson, Person, connect_call, two_people

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

NEW_CAMERA = "fake_device_2"
NEW_MICROPHONE = "Fake Audio Input 1"


async def switch_to(person: Person, picker: str, kind: str, label: str) -> dict[str, Any]:
    """Pick ``label`` in the ``picker`` list; wait until that device feeds the sender."""
    before = await person.sending(kind)
    assert before is not None and before["label"] != label
    # The pickers are in the settings sheet; it closes again so the call screen is usable.
    await person.open_settings()
    await person.page.get_by_role("combobox", name=picker).select_option(label=label)
    await person.page.keyboard.press("Escape")

    async def switched() -> dict[str, Any] | None:
        now = await person.sending(kind)
        fed = now and now["label"] == label and now["sourceTrackId"] == now["trackId"]
        return now if fed else None

    after: dict[str, Any] = await person.until(switched, 5, f"{kind} did not switch to {label}")
    assert after["trackId"] != before["trackId"]
    assert after["sourceTrackId"] != before["sourceTrackId"]
    # The encoder keeps producing from the new device.
    await person.rises(lambda: sent(person, kind), 5, f"{kind} stopped after the switch")
    return before


async def sent(person: Person, kind: str) -> int:
    now = await person.sending(kind)
    return int(now["sent"]) if now else 0


async def local_preview_frames(person: Person) -> int:
    return int(
        await person.page.evaluate(
            "() => document.getElementById('local-video').getVideoPlaybackQuality()"
            ".totalVideoFrames"
        )
    )


async def test_switching_camera_and_microphone_mid_call(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await connect_call(alice, bob)

    old_camera = await switch_to(alice, "Camera", "video", NEW_CAMERA)
    await bob.media_flows(audio=False)  # bob decodes frames that now come from fake_device_2
    await expect(alice.page.locator("#camera-select option:checked")).to_have_text(NEW_CAMERA)
    # alice's own preview shows the new camera, and it is moving.
    await alice.rises(lambda: local_preview_frames(alice), 5, "the preview froze")

    old_microphone = await switch_to(alice, "Microphone", "audio", NEW_MICROPHONE)
    await bob.media_flows(video=False)
    await expect(alice.page.locator("#mic-select option:checked")).to_have_text(NEW_MICROPHONE)

    # The devices left behind are released, and the call still works both ways.
    states = await alice.page.evaluate(
        "() => Object.fromEntries("
        "window.chinwag.debug.localTracks.map((t) => [t.id, t.readyState]))"
    )
    assert states[old_camera["trackId"]] == "ended"
    assert states[old_microphone["trackId"]] == "ended"
    await alice.media_flows()
    await alice.click("Hang up")
    await alice.back_to_idle()
    await bob.back_to_idle()


# Two loopback connections on one bare page, each sending fake_device_0, then
# switched with replaceTrack to the camera at `index`. Reports the new camera's
# pixel format and how many frames were encoded in the second after the switch.
_BARE_SWITCH = """
async (indexes) => {
  await navigator.mediaDevices.getUserMedia({ video: true }).then((s) => s.getTracks()[0].stop());
  const cameras = (await navigator.mediaDevices.enumerateDevices())
    .filter((d) => d.kind === "videoinput");
  const encoded = async (pc) => {
    let n = 0;
    (await pc.getStats()).forEach((s) => { if (s.type === "outbound-rtp") n = s.framesEncoded; });
    return n;
  };
  const pixelFormat = async (track) => {
    const reader = new MediaStreamTrackProcessor({ track: track.clone() }).readable.getReader();
    const { value } = await reader.read();
    const format = value.format;
    value.close();
    await reader.cancel();
    return format;
  };
  const run = async (index) => {
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    const first = (await navigator.mediaDevices.getUserMedia({
      video: { deviceId: { exact: cameras[0].deviceId } } })).getVideoTracks()[0];
    const sender = a.addTrack(first);
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    for (let i = 0; i < 100 && (await encoded(a)) < 5; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const next = (await navigator.mediaDevices.getUserMedia({
      video: { deviceId: { exact: cameras[index].deviceId } } })).getVideoTracks()[0];
    await sender.replaceTrack(next);
    first.stop();
    const format = await pixelFormat(next);
    await new Promise((r) => setTimeout(r, 300)); // let frames of the old camera drain
    const start = await encoded(a);
    await new Promise((r) => setTimeout(r, 1000));
    const result = { label: next.label, format, encoded: (await encoded(a)) - start };
    next.stop();
    a.close();
    b.close();
    return result;
  };
  return Promise.all(indexes.map(run));
}
"""


async def test_fake_device_1_is_a_depth_camera_that_sends_nothing(browser: Browser) -> None:
    """Why the switching test uses fake_device_2: a Chromium quirk, shown without chinwag."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        # A blank page on a loopback origin (a secure context), served by Playwright itself.
        await page.route(
            "http://127.0.0.1:9/",
            lambda route: route.fulfill(body="<!doctype html><title>bare</title>"),
        )
        await page.goto("http://127.0.0.1:9/")
        depth, webcam = await page.evaluate(_BARE_SWITCH, [1, 2])
    finally:
        await context.close()
    # fake_device_2 behaves like a webcam: I420 frames, encoded at about 20 per second.
    assert webcam["label"] == "fake_device_2" and webcam["format"] == "I420"
    assert webcam["encoded"] >= 10, webcam
    # fake_device_1 delivers 16-bit depth frames (no VideoFrame format); the encoder drops them.
    assert depth["label"] == "fake_device_1" and depth["format"] is None
    assert depth["encoded"] == 0, depth
