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

import procstat
from relaybench.servers import ROOT, running, say

from roombench.common import load_average

sys.path.insert(0, str(ROOT))  # tests/ holds the one set of Chromium flags and Person

from playwright.async_api import async_playwright

from tests.browser.people import Person
from tests.chromium import launch_chromium

MESH_TARGET_SECONDS = 3.0
PATIENCE_SECONDS = 120.0

# In each page, every 50 ms: the wall-clock time (ms) each link was first
# connected and first decoded a video frame. Recorded in the page, because a
# round of page.evaluate from here takes seconds while 8 pages saturate 2 cores.
_RECORDER = """
() => {
  const seen = { connected: {}, decoding: {}, state: {} };
  window.meshBench = seen;
  setInterval(async () => {
    const room = window.chinwag.room;
    for (const name of room.peers()) {
      const pc = room.peerConnection(name);
      if (pc) seen.state[name] = `${pc.connectionState}/${pc.iceConnectionState}`;
      if (!pc || seen.decoding[name]) continue;
      if (pc.connectionState === "connected") seen.connected[name] ??= Date.now();
      let frames = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
      });
      if (frames > 0) {
        seen.connected[name] ??= Date.now();
        seen.decoding[name] = Date.now();
      }
    }
  }, 50);
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
                mine = counts[sender]
                mine[kind] = mine.get(kind, 0) + 1
                if kind == "room-signal":  # offers/answers apart from ICE candidates
                    part = "description" if "description" in message else "candidate"
                    mine[part] = mine.get(part, 0) + 1
    return counts


def mesh_test(log: IO[bytes], *, people: int) -> dict[str, Any]:
    """Start a server, open ``people`` pages, form the mesh; the figures."""
    with running("chinwag", log, ["--no-history"]) as server:
        before = server.usage().cpu_seconds
        result = asyncio.run(_mesh(f"http://127.0.0.1:{server.port}/r/mesh", people))
        # Pages, sign-ins and the whole call set-up: what the server's part costs.
        result["server_cpu_s"] = server.usage().cpu_seconds - before
    if result["never_decoded"]:
        say(f"  never decoded within {PATIENCE_SECONDS:.0f} s: {result['never_decoded']}")
    say(f"  server CPU for all of it (pages, sign-ins, call): {result['server_cpu_s']:.2f} s")
    return result


async def _mesh(url: str, people: int) -> dict[str, Any]:
    names = [f"{letter}{letter}" for letter in string.ascii_lowercase[:people]]
    async with async_playwright() as driver:
        browser = await launch_chromium(driver)
        try:
            persons = [await Person.open(browser, url, name) for name in names]
            since = [len(p.received) for p in persons]
            load = load_average()
            for person in persons:
                await person.page.evaluate(_RECORDER)
            busy_before = procstat.busy_cpu_seconds()
            started = time.monotonic()
            started_ms = time.time() * 1000
            await asyncio.gather(*(p.page.locator("#room-call-button").click() for p in persons))
            clicked = time.monotonic() - started
            connected, decoding, slowest_poll, missing = await _until_all_decode(
                persons, started_ms
            )
            # Links that never decoded (a saturated machine) leave the time unmeasured.
            formed = float("inf") if missing else max(decoding.values())
            machine_busy = (procstat.busy_cpu_seconds() - busy_before) / (
                time.monotonic() - started
            )
            signals = _sent_by(persons, since)
        finally:
            await browser.close()
    result = {
        "people": people,
        "pairs": people * (people - 1) // 2,
        "formed_s": formed,
        "clicks_s": clicked,
        "all_connected_s": max(connected.values(), default=float("inf")),
        "median_link_connected_s": _median(connected),
        "median_link_decoding_s": _median(decoding),
        "slowest_poll_s": slowest_poll,
        "machine_busy_cores": machine_busy,
        "signaling_sent": signals,
        "load_average": load,
        "links_decoding": len(decoding),
        "never_decoded": missing,
        "met": formed < MESH_TARGET_SECONDS,
    }
    per_person = [
        f"{signals[n].get('description', 0)}+{signals[n].get('candidate', 0)}" for n in names
    ]
    say(
        f"  mesh of {people}: every pair decoding after {formed:.2f} s "
        f"(target {MESH_TARGET_SECONDS} s; median link {result['median_link_decoding_s']:.2f} s); "
        f"clicks done {clicked:.2f} s, every link connected {result['all_connected_s']:.2f} s "
        f"(median {result['median_link_connected_s']:.2f} s); "
        f"reading the pages took up to {slowest_poll:.2f} s; "
        f"machine busy {machine_busy:.2f} cores; "
        f"room-signal sent per person (descriptions+candidates) {per_person}; load {load}"
    )
    return result


async def _until_all_decode(
    persons: list[Person], started_ms: float
) -> tuple[dict[str, float], dict[str, float], float, dict[str, str]]:
    """Wait until every page decodes every other; when each link connected and decoded (s).

    Also the longest round of reading the pages' records (it bounds nothing:
    the times are the pages' own), and, if the patience ran out, the links that
    never decoded with their connection/ICE states.
    """
    wanted = {f"{p.name}>{o.name}" for p in persons for o in persons if o is not p}
    connected: dict[str, float] = {}
    decoding: dict[str, float] = {}
    slowest = 0.0
    deadline = time.monotonic() + PATIENCE_SECONDS
    states: dict[str, str] = {}
    while len(decoding) < len(wanted) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        asked = time.monotonic()
        records = await asyncio.gather(*(p.page.evaluate("window.meshBench") for p in persons))
        slowest = max(slowest, time.monotonic() - asked)
        for person, record in zip(persons, records, strict=True):
            for kind, into in (("connected", connected), ("decoding", decoding)):
                for other, at_ms in record[kind].items():
                    into[f"{person.name}>{other}"] = (at_ms - started_ms) / 1000
            for other, state in record["state"].items():
                states[f"{person.name}>{other}"] = state
    missing = {link: states.get(link, "no link") for link in sorted(wanted - set(decoding))}
    return connected, decoding, slowest, missing


def _median(times: dict[str, float]) -> float:
    ordered = sorted(times.values())
    return ordered[len(ordered) // 2] if ordered else float("inf")
