"""An SFU call sends no video for a tile that cannot be seen, and resumes it in view.

Three Chromium pages and a real Janus (``--mesh-max 2``: the third moves the
call to the SFU). On ann's phone-sized page ben's tile is pinned (it fills the
stage) and cat's tile lies below it, scrolled out of the grid: ann's page asks
``off`` for cat and Janus stops forwarding cat's video to ann (its
``framesDecoded`` and ``bytesReceived`` stay flat while ben's rise), but cat's
audio still flows and cat's tile shows cat's initial. Scrolled into view,
cat's video decodes again.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.people import OpenPerson, Person, serious_axe_problems, until
from tests.browser.test_room_sfu import (  # noqa: F401 (fixtures: a real Janus, chinwag on it)
    RISE_WITHIN,
    chinwag,
    everyone_decodes_everyone,
    janus,
    join_call,
)

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.browser,
    pytest.mark.timeout(480),  # three simulcast pages plus Janus on a loaded 2-core machine
]

#: What ann's subscriber has received of `name` so far: video frames decoded and
#: bytes, audio packets (its m-lines, from getStats inbound-rtp).
_RECEIVED = """
async (name) => {
  const sfu = window.chinwag.room.sfu();
  const mids = sfu.midsOf(name);
  const report = await sfu.subscriber().getStats();
  const out = {frames: 0, videoBytes: 0, audioPackets: 0};
  report.forEach((s) => {
    if (s.type !== "inbound-rtp" || !mids.includes(String(s.mid))) return;
    if (s.kind === "video") {
      out.frames += s.framesDecoded || 0;
      out.videoBytes += s.bytesReceived || 0;
    } else {
      out.audioPackets += s.packetsReceived || 0;
    }
  });
  return out;
}
"""

# Whether `name`'s tile lies wholly outside the grid's scrolled view.
_OUT_OF_VIEW = """
(name) => {
  const grid = document.querySelector("#room-grid").getBoundingClientRect();
  const tile = document.querySelector(`.room-tile[aria-label="${name}"]`).getBoundingClientRect();
  return tile.top >= grid.bottom || tile.bottom <= grid.top;
}
"""

_GEOMETRY = """
() => [...document.querySelectorAll("#room-grid, .room-tile")].map((e) => {
  const r = e.getBoundingClientRect();
  return `${e.getAttribute("aria-label") ?? e.id} ${r.top}-${r.bottom} x ${r.left}-${r.right}`;
})
"""

WINDOW_MS = 3000  # a window in which an off tile receives no video and the others do


async def received(person: Person, name: str) -> dict[str, int]:
    result: dict[str, int] = await person.page.evaluate(_RECEIVED, name)
    return result


async def only_heard(person: Person, hidden: tuple[str, ...], seen: tuple[str, ...]) -> None:
    """Within RISE_WITHIN s comes a window in which ``person`` decodes the video of each of
    ``seen`` while the video of each of ``hidden`` stays flat (frames and bytes) and its
    audio still arrives."""

    async def held_back() -> dict[str, Any] | None:
        names = (*hidden, *seen)
        before = {name: await received(person, name) for name in names}
        await person.page.wait_for_timeout(WINDOW_MS)
        after = {name: await received(person, name) for name in names}
        shown = {"before": before, "after": after}
        print(person.name, "receives", shown)
        rose = all(after[n]["frames"] > before[n]["frames"] for n in seen)
        flat = all(after[n][k] == before[n][k] for n in hidden for k in ("frames", "videoBytes"))
        heard = all(after[n]["audioPackets"] > before[n]["audioPackets"] + 50 for n in hidden)
        return shown if rose and flat and heard else None

    await until(held_back, RISE_WITHIN, f"{hidden}'s video still reaches {person.name}")


async def decodes_again(person: Person, name: str, since: float) -> None:
    frames = (await received(person, name))["frames"]

    async def risen() -> bool:
        return (await received(person, name))["frames"] > frames

    await until(risen, RISE_WITHIN, f"{name}'s video did not come back")
    print(f"{name}'s video decodes again {time.monotonic() - since:.2f} s after coming into view")
    tile = person.page.get_by_role("region", name=name)
    await expect(tile).to_have_attribute("data-paused", "false")


async def test_an_off_screen_tile_gets_no_video_until_it_scrolls_back(
    open_person: OpenPerson,
) -> None:
    ann = await open_person("ann", path="r/tiles", viewport=(390, 560))
    ben, cat = [await open_person(name, path="r/tiles") for name in ("ben", "cat")]
    await join_call(ann, "Start a group call")
    for person in (ben, cat):
        await join_call(person, "Join the group call")
    await everyone_decodes_everyone([ann, ben, cat])

    # ben pinned fills ann's phone stage; cat's tile is scrolled away below it.
    await ann.page.get_by_role("button", name="Pin ben").click()
    cat_tile = ann.page.get_by_role("region", name="cat")
    await ann.page.evaluate("document.querySelector('#room-grid').scrollTop = 0")
    geometry = await ann.page.evaluate(_GEOMETRY)
    assert await ann.page.evaluate(_OUT_OF_VIEW, "cat"), f"cat's tile is on screen: {geometry}"
    await only_heard(ann, hidden=("cat",), seen=("ben",))
    # cat's tile shows cat's initial, not a frozen frame; ben's is not paused.
    await expect(cat_tile).to_have_attribute("data-paused", "true")
    await expect(cat_tile.locator(".room-tile-avatar")).to_be_visible()
    await expect(ann.page.get_by_role("region", name="ben")).not_to_have_attribute(
        "data-paused", "true"
    )

    shown_at = time.monotonic()
    await cat_tile.scroll_into_view_if_needed()
    await ann.screenshot("sfu-tiles-scrolled-back-phone")  # most likely still the initial
    await decodes_again(ann, "cat", shown_at)
    await ann.screenshot("sfu-tiles-back-in-view-phone")
    assert await serious_axe_problems(ann) == []

    # On a phone the chat opens as a sheet over the whole stage: no video under it.
    await ann.page.get_by_role("button", name="Chat", exact=True).click()
    await only_heard(ann, hidden=("ben", "cat"), seen=())
    await ann.page.get_by_role("button", name="Chat", exact=True).click()
    closed_at = time.monotonic()
    for name in ("ben", "cat"):
        await decodes_again(ann, name, closed_at)
