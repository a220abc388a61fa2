"""The Python peer in a room call with two Chromium pages that use the real web/js/mesh.js.

Each page is a page of the real chinwag server with tests/peer/room_page/room-harness.js
injected (same origin, so it imports the server's own /js/mesh.js and opens its
WebSocket to that server). Media proof: each browser's getStats counters for the
other browser AND for the peer rise, and the peer's received tracks yield frames.
The peer is relay-only through the loopback coturn (see conftest.py for why).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page

from chinwag.client import DEFAULT_FEATURES, ChinwagClient
from chinwag.peer.call import rtc_configuration
from chinwag.peer.holds import Holds
from chinwag.peer.media import CallMedia, MediaOptions
from chinwag.peer.mesh import RoomMesh
from tests.peer.support import FrameCounter, eventually

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

HARNESS = (Path(__file__).parent / "room_page" / "room-harness.js").read_text()
ROOM = "Stand-up"


@pytest_asyncio.fixture(loop_scope="session")
async def open_room_page(browser: Browser, url: str) -> AsyncIterator[Callable[..., Any]]:
    """Factory: a Chromium page of the real server, joined to ROOM's call as ``name``."""
    contexts = []

    async def open_page(name: str) -> Page:
        # The server's strict CSP forbids inline scripts; the test injects its harness anyway.
        context = await browser.new_context(bypass_csp=True)
        contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{url}r/{ROOM}")
        await page.add_script_tag(content=HARNESS, type="module")
        await page.wait_for_function("() => window.roomTest !== undefined")
        assert await page.evaluate("([n, r]) => roomTest.join(n, r)", [name, ROOM]) == name
        return page

    yield open_page
    for context in contexts:
        await context.close()


async def decoding(page: Page, peers: set[str], frames: int = 15) -> None:
    """``page`` decodes video and audio from each of ``peers``, counters rising."""

    async def counters() -> dict[str, dict[str, int]] | None:
        now: dict[str, dict[str, int]] = await page.evaluate("roomTest.inbound()")
        return now if set(now) == peers and all(now[p]["frames"] for p in peers) else None

    start = await eventually(counters, f"links to {peers} decoding", within=60)

    last = start
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        last = await counters() or last
        if all(
            last[p]["frames"] >= start[p]["frames"] + frames
            and last[p]["samples"] > start[p]["samples"]
            for p in peers
        ):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"media from {peers} not rising: {start} -> {last}")


async def test_the_python_peer_in_a_room_call_with_two_browsers(
    url: str, open_room_page: Callable[..., Any]
) -> None:
    alice = await open_room_page("alice")
    features = (*DEFAULT_FEATURES, "rooms", "no-rollback")
    client = ChinwagClient(url, "robot", features=features, room=ROOM)
    await client.connect()
    counter = FrameCounter()
    mesh = RoomMesh(
        client,
        lambda: CallMedia(MediaOptions(), (counter.consume,)),
        lambda: rtc_configuration(client.ice_servers, relay_only=True),
    )
    running = asyncio.create_task(mesh.run())  # joins after alice: offers to her
    try:
        bob = await open_room_page("bob")  # joins after the peer: offers to it
        await decoding(alice, {"bob", "robot"})
        await decoding(bob, {"alice", "robot"})
        await counter.rising("video", 20)  # the peer decodes the browsers' frames
        await counter.rising("audio", 20)
        assert set(mesh.links) == {"alice", "bob"}
        assert all(link.connected.is_set() for link in mesh.links.values())
        assert await alice.evaluate("roomTest.errors()") == []
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        counter.stop()
        await client.close()


async def audio_energy(page: Page, peer: str, seconds: float) -> tuple[float, int]:
    """How much audio energy and how many samples ``page`` received from ``peer`` in ``seconds``."""
    before = (await page.evaluate("roomTest.inbound()"))[peer]
    await asyncio.sleep(seconds)  # a measuring window, not a wait for an event
    after = (await page.evaluate("roomTest.inbound()"))[peer]
    return after["energy"] - before["energy"], after["samples"] - before["samples"]


async def test_the_python_peer_obeys_a_hosts_mute(
    url: str, open_room_page: Callable[..., Any]
) -> None:
    alice = await open_room_page("alice")  # she opened the room: its host
    client = ChinwagClient(
        url, "robot", features=(*DEFAULT_FEATURES, "rooms", "no-rollback"), room=ROOM
    )
    await client.connect()
    holds = Holds()
    mesh = RoomMesh(
        client,
        lambda: CallMedia(MediaOptions(), holds=holds),
        lambda: rtc_configuration(client.ice_servers, relay_only=True),
        holds,
    )
    running = asyncio.create_task(mesh.run())
    try:
        await decoding(alice, {"robot"})
        loud, _ = await audio_energy(alice, "robot", 2.0)
        assert loud > 0, "the robot's tone carried no energy before the mute"

        await alice.evaluate("roomTest.send({type: 'mute', target: 'robot', kind: 'audio'})")

        async def told() -> list[dict[str, Any]] | None:
            states: list[dict[str, Any]] = await alice.evaluate("roomTest.mediaStates()")
            said = [s for s in states if s.get("name") == "robot" and s.get("audio") is False]
            return said or None

        said = await eventually(told, "media-state with audio off from the robot", within=30)
        assert said[-1]["video"] is True
        assert holds.kinds == {"audio"}
        await asyncio.sleep(1.0)  # what was in flight and in the jitter buffer plays out
        quiet, samples = await audio_energy(alice, "robot", 2.0)
        assert samples > 0, "audio stopped flowing: the track must stay, silent"
        assert quiet < loud / 100, (loud, quiet)
        await decoding(alice, {"robot"})  # its video still comes
        assert await alice.evaluate("roomTest.errors()") == []
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await client.close()
