"""Room calls in real Chromium, before the server side exists: web/js/mesh.js.

One page (tests/browser/room_page/mesh.html) holds one RoomCall per person,
each with its own fake-camera stream, joined through an in-page signaling bus
that does what the server will do (participants in join order, ``room-call``
to everyone, ``room-signal`` relayed to ``target`` with ``name`` set). Every
peer connection is real; media flow is proven per pair by getStats counters
rising. The end-to-end test through the chinwag server comes with it.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.browser.people import until

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

#: Seconds for a whole mesh to decode its first frames on a busy 2-core machine.
CONNECT_WITHIN = 60
#: Seconds for every counter to rise once more.
RISE_WITHIN = 30

Counters = dict[str, dict[str, int]]


async def open_mesh_page(browser: Browser, room_site: str) -> Page:
    page = await (await browser.new_context()).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(room_site + "mesh.html")
    await page.wait_for_function("() => window.meshTest !== undefined")
    assert not errors, errors
    return page


async def frames(page: Page) -> Counters:
    result: Counters = await page.evaluate("meshTest.framesDecoded()")
    return result


def pairs(people: str) -> set[tuple[str, str]]:
    return {(me, other) for me in people for other in people if me != other}


async def every_pair_decodes(page: Page, people: str) -> Counters:
    """Each person decodes video from each other person, and only from them: counters rise."""

    async def all_started() -> Counters | None:
        now = await frames(page)
        seen = {(me, other) for me, row in now.items() for other in row}
        assert seen <= pairs(people), f"links to people not in the call: {seen - pairs(people)}"
        started = seen == pairs(people) and all(now[a][b] for a, b in pairs(people))
        return now if started else None

    first: Counters = await until(
        all_started, CONNECT_WITHIN, f"{people}: not every pair decodes video"
    )

    async def all_rose() -> Counters | None:
        now = await frames(page)
        rose = all(now.get(a, {}).get(b, 0) > first[a][b] for a, b in pairs(people))
        return now if rose else None

    rising: Counters = await until(all_rose, RISE_WITHIN, f"{people}: video stopped somewhere")
    return rising


async def assert_caps(page: Page, people: str) -> dict[str, Any]:
    """Every video sender carries the cap for this many people (read back from the sender)."""
    await page.evaluate("meshTest.settled()")
    caps: dict[str, Any] = await page.evaluate("meshTest.caps()")
    parameters = await page.evaluate("meshTest.senderParameters()")
    expected = caps[people[0]]
    assert all(cap == expected for cap in caps.values()), caps
    wanted = {"maxBitrate": expected["maxBitrate"], "scale": expected["scaleResolutionDownBy"]}
    for me, other in pairs(people):
        assert parameters[me][other] == wanted, (me, other, parameters[me][other])
    return expected


async def send_rates(page: Page, seconds: float) -> dict[tuple[str, str], float]:
    """Video kbit/s each sender sends each peer, over a window of ``seconds``."""
    before = await page.evaluate("meshTest.bytesSent()")
    await page.wait_for_timeout(seconds * 1000)  # a measuring window, not a wait for a condition
    after = await page.evaluate("meshTest.bytesSent()")
    rates = {}
    for me, row in after.items():
        for other, now in row.items():
            then = before[me][other]
            rates[me, other] = (now["bytes"] - then["bytes"]) * 8 / (now["at"] - then["at"])
    return rates


async def test_mesh_of_four_then_a_fifth_joins_and_one_leaves(
    browser: Browser, room_site: str
) -> None:
    page = await open_mesh_page(browser, room_site)
    try:
        for name in "abcd":
            await page.evaluate("(name) => meshTest.join(name)", name)
        await every_pair_decodes(page, "abcd")
        cap = await assert_caps(page, "abcd")
        assert (cap["kbps"], cap["scaleResolutionDownBy"]) == (833, 1.5)

        rates = await send_rates(page, 4)
        print(f"4 people, cap {cap['kbps']} kbit/s per peer: sent kbit/s per pair {rates}")
        assert all(rate > 0 for rate in rates.values()), rates
        # The encoder keeps to maxBitrate over a window (with RTP overhead allowance).
        assert max(rates.values()) < cap["kbps"] * 1.25, rates

        await page.evaluate("meshTest.join('e')")
        await every_pair_decodes(page, "abcde")
        assert (await assert_caps(page, "abcde"))["kbps"] == 625

        await page.evaluate("meshTest.leave('b')")
        await every_pair_decodes(page, "acde")
        assert (await assert_caps(page, "acde"))["kbps"] == 833
        assert await page.evaluate("meshTest.errors()") == {name: [] for name in "acde"}
        counts = await page.evaluate("meshTest.signalCounts()")
        print(f"signaling messages sent per person: {counts}")
    finally:
        await page.context.close()


def pulses(name: str, on_ms: int, off_ms: int, until_ms: int, level: float = 0.2) -> list[Any]:
    """Tracker input: ``name`` at ``level`` for on_ms, silent for off_ms, ... every 100 ms."""
    return [
        [t, {name: level if t % (on_ms + off_ms) < on_ms else 0.0}] for t in range(0, until_ms, 100)
    ]


async def test_speaking_hysteresis_holds_through_pauses_and_ignores_clicks(
    browser: Browser, room_site: str
) -> None:
    page = await open_mesh_page(browser, room_site)
    try:
        track = "([steps]) => meshTest.track(steps)"
        # Words with 300 ms gaps: speaking from the start until the end, never in between off.
        states = await page.evaluate(track, [pulses("a", 400, 300, 4000)])
        actives = [s["active"] for s in states]
        first = actives.index("a")
        assert first <= 3, actives
        assert all(active == "a" for active in actives[first:]), actives
        # Then silence: the highlight goes after the hold time, not at once.
        silence = [[4000 + t, {"a": 0.0}] for t in range(0, 2000, 100)]
        states = await page.evaluate(track, [pulses("a", 400, 300, 4000) + silence])
        tail = [s["active"] for s in states[40:]]
        assert tail[0] == "a" and tail[-1] is None, tail
        # A single 100 ms click never counts as speaking.
        click = [[t, {"a": 0.5 if t == 100 else 0.0}] for t in range(0, 2000, 100)]
        assert all(s["speaking"] == [] for s in await page.evaluate(track, [click]))
        # Two speakers: the louder takes over only after the first held it minDwellMs.
        both = [[t, {"a": 0.1, "b": 0.05 if t < 600 else 0.3}] for t in range(0, 3000, 100)]
        actives = [s["active"] for s in await page.evaluate(track, [both])]
        switch = actives.index("b")
        assert actives[:switch].count("a") >= 10 and set(actives[switch:]) == {"b"}, actives
    finally:
        await page.context.close()


async def test_active_speaker_follows_real_audio_and_replace_track(
    browser: Browser, room_site: str
) -> None:
    page = await open_mesh_page(browser, room_site)

    async def active_for(name: str, wanted: str | None) -> bool:
        seen = await page.evaluate("(n) => meshTest.speakers(n)", name)
        return bool(seen) and seen[-1]["active"] == wanted

    try:
        await page.evaluate("meshTest.join('a', 'tone')")
        await page.evaluate("meshTest.join('b', 'silence')")
        await page.evaluate("meshTest.join('c', 'silence')")
        await every_pair_decodes(page, "abc")
        for listener in "bc":
            await page.evaluate("(n) => meshTest.watch(n)", listener)
        for listener in "bc":
            await until(lambda n=listener: active_for(n, "a"), RISE_WITHIN, f"{listener}: not a")
        # a goes quiet and c starts, through replaceTrack on every link of theirs.
        await page.evaluate("meshTest.replaceAudio('a', 'silence')")
        await page.evaluate("meshTest.replaceAudio('c', 'tone')")
        await until(lambda: active_for("b", "c"), RISE_WITHIN, "b: c's tone not detected")
        seen = await page.evaluate("meshTest.speakers('b')")
        assert all(s["active"] in ("a", "c", None) for s in seen), seen
    finally:
        await page.context.close()
