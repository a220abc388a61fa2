"""Two quick device picks, in a one-to-one call and in a group call alike (one controls
module): the switches run one at a time and the call ends up on the last device picked.

Without the guard the two switches race: both open their device at once, and whichever
finishes last wins, so the sender, the local picture and the picker can end up on
different devices (the group call's own copy of device switching once lost it). The
page counts ``getUserMedia`` calls in flight through an init script; the picks are two
``change`` events on the Microphone / Camera picker in one task, as quick as two picks
can be.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.people import OpenPerson, Person, connect_call, until

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

# Counts getUserMedia calls in flight (now) and the most at once (most).
COUNT_OPENS = """
(() => {
  const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.opens = { now: 0, most: 0 };
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.opens.now += 1;
    window.opens.most = Math.max(window.opens.most, window.opens.now);
    try {
      return await open(constraints);
    } finally {
      window.opens.now -= 1;
    }
  };
})();
"""

# Pick each label in turn on a picker, all in one task.
PICK_QUICKLY = """
([pickerId, labels]) => {
  window.opens.most = 0;
  const picker = document.getElementById(pickerId);
  for (const label of labels) {
    const option = [...picker.options].find((o) => o.text === label);
    if (!option) throw new Error(`no option ${label}`);
    picker.value = option.value;
    picker.dispatchEvent(new Event("change"));
  }
}
"""

# What the page sends and shows of one kind: the link's sender track, the local
# picture's tracks of that kind, and the most getUserMedia calls at once.
SENDING = """
([kind, localVideo]) => {
  const room = window.chinwag.room;
  const pc = room.peers().length ? room.peerConnection(room.peers()[0]) : window.chinwag.debug.pc;
  const sender = pc.getSenders().find((s) => s.track?.kind === kind);
  const stream = document.querySelector(localVideo).srcObject;
  const local = kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
  return {
    sender: sender?.track?.label ?? "",
    local: local.map((t) => [t.label, t.readyState]),
    opensNow: window.opens.now,
    most: window.opens.most,
  };
}
"""


async def two_quick_picks(
    person: Person, kind: str, picker: str, labels: list[str], local_video: str
) -> None:
    before = await person.page.evaluate(SENDING, [kind, local_video])
    assert before["sender"] not in labels, before
    await person.page.evaluate(PICK_QUICKLY, [picker, labels])

    async def settled() -> dict[str, Any] | None:
        now: dict[str, Any] = await person.page.evaluate(SENDING, [kind, local_video])
        done = now["opensNow"] == 0 and now["sender"] == labels[-1] and now["local"]
        return now if done else None

    after = await until(settled, 15, f"{kind} did not end on {labels[-1]}")
    # One switch at a time: never two devices opening at once.
    assert after["most"] == 1, after
    # The sender and the local picture hold the last pick, live, and nothing else.
    assert after["local"] == [[labels[-1], "live"]], after
    await expect(person.page.locator(f"#{picker} option:checked")).to_have_text(labels[-1])


async def test_two_quick_picks_in_a_one_to_one_call_end_on_the_last(
    open_person: OpenPerson,
) -> None:
    alice = await open_person("alice", init_script=COUNT_OPENS)
    bob = await open_person("bob")
    await expect(alice.user_button("bob")).to_be_visible()
    await connect_call(alice, bob)
    picks = ["Fake Audio Input 1", "Fake Audio Input 2"]
    await two_quick_picks(alice, "audio", "mic-select", picks, "#local-video")
    await two_quick_picks(
        alice, "video", "camera-select", ["fake_device_1", "fake_device_2"], "#local-video"
    )
    await bob.media_flows()
    await alice.click("Hang up")
    await bob.back_to_idle()
    assert not alice.console_errors, alice.console_errors


async def test_two_quick_picks_in_a_group_call_end_on_the_last(open_person: OpenPerson) -> None:
    ann = await open_person("ann", path="r/pair", init_script=COUNT_OPENS)
    ben = await open_person("ben", path="r/pair")
    await ann.page.get_by_role("button", name="Start a group call in this room").click()
    await ben.page.get_by_role("button", name="Join the group call (1 in it)").click()
    own_tile = "#room-grid .room-tile[data-self] video"
    await expect(ann.page.locator("#room-grid .room-tile")).to_have_count(2, timeout=20_000)
    await until(
        lambda: ann.page.evaluate("() => window.chinwag.room.peers().length === 1"),
        20,
        "ann has no link to ben",
    )
    picks = ["Fake Audio Input 1", "Fake Audio Input 2"]
    await two_quick_picks(ann, "audio", "mic-select", picks, own_tile)
    await two_quick_picks(
        ann, "video", "camera-select", ["fake_device_1", "fake_device_2"], own_tile
    )
    assert not ann.console_errors, ann.console_errors
