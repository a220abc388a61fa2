"""A room-call mesh forming in headless Chromium through a real ``chinwag serve``.

Each person is a separate browser context on the real web client at
``/r/<room>?debug=1`` (the test hook exposes each link's RTCPeerConnection).
Once all are signed in to the room, all press the call button at once; the
clock runs from the first press until every page decodes video from every
other (``framesDecoded`` > 0 on each link's inbound video: all N(N-1)/2 pairs,
both ways). Each page's outgoing ``room-signal`` and ``media-state`` frames are
counted where they land: every frame a page receives is recorded (``Person``
listens from before the page loads), and the server relays each one to
exactly one target, naming its sender.
"""

from __future__ import annotations

import asyncio
import string
import sys
import time
from typing import IO, Any

from relaybench.servers import ROOT, running, say

from roombench.common import load_average

sys.path.insert(0, str(ROOT))  # tests/ holds the one set of Chromium flags and Person

from playwright.async_api import async_playwright

from tests.browser.people import Person
from tests.chromium import launch_chromium

MESH_TARGET_SECONDS = 3.0
PATIENCE_SECONDS = 120.0

# Frames decoded from each other participant, per peer connection (debug hook).
_FRAMES = """
async () => {
  const room = window.chinwag.room;
  const out = {};
  for (const name of room.peers()) {
    const pc = room.peerConnection(name);
    if (!pc) continue;
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
    });
    out[name] = frames;
  }
  return out;
}
"""


_PER_PAIR_TYPES = ("room-signal", "media-state")


def _sent_by(persons: list[Person], since: list[int]) -> dict[str, dict[str, int]]:
    """Per-pair messages each person sent, read off what the others received."""
    counts: dict[str, dict[str, int]] = {p.name: {} for p in persons}
    for person, start in zip(persons, since, strict=True):
        for message in person.received[start:]:
            kind, sender = message.get("type"), message.get("name")
            if kind in _PER_PAIR_TYPES and sender in counts:
                counts[sender][kind] = counts[sender].get(kind, 0) + 1
    return counts


def mesh_test(log: IO[bytes], *, people: int) -> dict[str, Any]:
    """Start a server, open ``people`` pages, form the mesh; the figures."""
    with running("chinwag", log, ["--no-history"]) as server:
        return asyncio.run(_mesh(f"http://127.0.0.1:{server.port}/r/mesh", people))


async def _mesh(url: str, people: int) -> dict[str, Any]:
    names = [f"{letter}{letter}" for letter in string.ascii_lowercase[:people]]
    async with async_playwright() as driver:
        browser = await launch_chromium(driver)
        try:
            persons = [await Person.open(browser, url, name) for name in names]
            since = [len(p.received) for p in persons]
            load = load_average()
            started = time.monotonic()
            await asyncio.gather(*(p.page.locator("#room-call-button").click() for p in persons))
            first_seen = await _until_all_decode(persons, started)
            formed = max(first_seen.values())
            signals = _sent_by(persons, since)
        finally:
            await browser.close()
    result = {
        "people": people,
        "pairs": people * (people - 1) // 2,
        "formed_s": formed,
        "median_link_s": sorted(first_seen.values())[len(first_seen) // 2],
        "signaling_sent": signals,
        "load_average": load,
        "met": formed < MESH_TARGET_SECONDS,
    }
    per_person = [signals[n].get("room-signal", 0) for n in names]
    say(
        f"  mesh of {people}: every pair decoding after {formed:.2f} s "
        f"(median link {result['median_link_s']:.2f} s, target {MESH_TARGET_SECONDS} s); "
        f"room-signal sent per person {per_person}; load {load}"
    )
    return result


async def _until_all_decode(persons: list[Person], started: float) -> dict[str, float]:
    """Poll every page; the time each directed link first decoded a frame."""
    wanted = {(p.name, o.name) for p in persons for o in persons if o is not p}
    seen: dict[str, float] = {}
    deadline = started + PATIENCE_SECONDS
    while len(seen) < len(wanted):
        if time.monotonic() > deadline:
            missing = sorted(wanted - {tuple(k.split(">")) for k in seen})
            raise TimeoutError(f"{len(missing)} links never decoded, e.g. {missing[:4]}")
        readings = await asyncio.gather(*(p.page.evaluate(_FRAMES) for p in persons))
        now = time.monotonic() - started
        for person, frames in zip(persons, readings, strict=True):
            for other, count in frames.items():
                key = f"{person.name}>{other}"
                if count > 0 and key not in seen:
                    seen[key] = now
        await asyncio.sleep(0.05)
    return seen
