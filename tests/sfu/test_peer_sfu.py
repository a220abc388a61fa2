"""The aiortc peer (``chinwag.peer``) in a room call on a real Janus, with no browser.

Issue 19: a bot whose first subscription offer carried two or more people
decoded only the first one's video. aiortc's default bundle policy left the
later video m-lines of that offer on a transport BUNDLE discards, so their
receivers never started; their packets went to the first video receiver
("Invalid data found when processing input") or nowhere. The peer now uses
``max-bundle`` on its Janus connections (``peer/sfu.py``).

Here two bots form the call first (``--mesh-max 1``: it is on Janus from the
second person); the third's first offer then holds both others' streams, and
every bot must decode every other one's video, frames rising per person.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from chinwag.client import DEFAULT_FEATURES, ChinwagClient
from chinwag.peer.call import rtc_configuration
from chinwag.peer.media import CallMedia, MediaOptions
from chinwag.peer.mesh import RoomMesh
from chinwag.transport.server import ChinwagServer
from tests.coturn import start_coturn, stop_coturn
from tests.janus import Janus, run_janus
from tests.peer.support import FramesBySender, eventually
from tests.support import server_factory

TURN_SECRET = "peer-fallback-secret"

#: Seconds for a bot to decode someone on a busy 2-core machine (about 1 s when idle).
DECODE_WITHIN = 60.0


@pytest_asyncio.fixture
async def server(janus: Janus) -> AsyncIterator[ChinwagServer]:
    async with server_factory() as start:
        started = await start(sfu=[janus.url], sfu_secret=janus.secret, mesh_max=1)
        await eventually(
            lambda: _true(bool(started.sfu and started.sfu.up())), "Janus connected", 30
        )
        yield started


async def _true(value: bool) -> bool:
    return value


class Bot:
    """One ``RoomMesh`` peer in room ``r``, sending the generated pattern and tone.

    On a mesh link it goes through TURN (aioice offers no loopback candidate);
    on Janus it needs none.
    """

    def __init__(self, server: ChinwagServer, name: str) -> None:
        self.name = name
        self.client = ChinwagClient(
            server.url, name, features=(*DEFAULT_FEATURES, "rooms", "no-rollback"), room="r"
        )
        self.frames = FramesBySender(lambda: self.mesh)
        self.mesh = RoomMesh(
            self.client,
            lambda: CallMedia(MediaOptions(), (self.frames.consume,)),
            lambda: rtc_configuration(self.client.ice_servers, relay_only=self.mesh.sfu is None),
        )
        self.running: asyncio.Task[None] | None = None

    async def join(self) -> None:
        await self.client.connect()
        self.running = asyncio.create_task(self.mesh.run())

    async def close(self) -> None:
        if self.running is not None:
            self.running.cancel()
            await asyncio.gather(self.running, return_exceptions=True)
        self.frames.stop()
        with contextlib.suppress(Exception):
            await self.client.close()


async def test_a_bot_whose_first_offer_holds_two_people_decodes_both(
    server: ChinwagServer,
) -> None:
    bots = [Bot(server, name) for name in ("ann", "ben", "cat")]
    try:
        first, second, late = bots
        await first.join()
        await second.join()
        await first.frames.rising({"ben"}, within=DECODE_WITHIN)
        await second.frames.rising({"ann"}, within=DECODE_WITHIN)
        await late.join()  # its subscription starts with ann's and ben's streams at once
        for bot in bots:
            others = {b.name for b in bots} - {bot.name}
            await bot.frames.rising(others, within=DECODE_WITHIN)
        sfu = late.mesh.sfu
        assert sfu is not None and sfu.subscriber is not None
        videos = [t for t in sfu.subscriber.getTransceivers() if t.kind == "video"]
        assert len(videos) == 2  # both people in one negotiation: the case that broke
    finally:
        for bot in bots:
            await bot.close()


async def test_four_bots_joining_at_once_each_decode_every_other(server: ChinwagServer) -> None:
    """All at one instant, as a meeting starts: each bot's queue holds room-calls from
    before its own join (a mesh it is not in), which must not pull it off Janus."""
    bots = [Bot(server, name) for name in ("ann", "ben", "cat", "dan")]
    try:
        await asyncio.gather(*(bot.join() for bot in bots))
        for bot in bots:
            others = {b.name for b in bots} - {bot.name}
            await bot.frames.rising(others, within=DECODE_WITHIN)
            assert bot.mesh.sfu is not None and not bot.mesh.links
    finally:
        for bot in bots:
            await bot.close()


async def test_bots_go_back_to_a_mesh_when_no_janus_is_left(tmp_path: Path) -> None:
    """Three bots on Janus (``--mesh-max 2``); one leaves, Janus is killed: the two
    left decode each other again over a mesh link (through a loopback coturn)."""
    relay = start_coturn(tmp_path / "coturn", TURN_SECRET)
    bots: list[Bot] = []
    try:
        with run_janus(tmp_path / "janus") as janus:
            async with server_factory() as start:
                server = await start(
                    sfu=[janus.url], sfu_secret=janus.secret, mesh_max=2, room_call_idle=600.0,
                    ice_url=[relay.url()], turn_secret=TURN_SECRET,
                )  # fmt: skip
                await eventually(
                    lambda: _true(bool(server.sfu and server.sfu.up())), "Janus connected", 30
                )
                bots = [Bot(server, name) for name in ("ann", "ben", "cat")]
                for bot in bots:
                    await bot.join()
                ann, ben, cat = bots
                for bot in (ann, ben):
                    await bot.frames.rising(
                        {"ann", "ben", "cat"} - {bot.name}, within=DECODE_WITHIN
                    )
                assert ann.mesh.sfu is not None and not ann.mesh.links
                await cat.close()
                janus.process.kill()
                await eventually(
                    lambda: _true(ann.mesh.sfu is None and ben.mesh.sfu is None),
                    "the call did not go back to a mesh",
                    30,
                )
                await ann.frames.rising({"ben"}, within=DECODE_WITHIN)
                await ben.frames.rising({"ann"}, within=DECODE_WITHIN)
                assert set(ann.mesh.links) == {"ben"} and set(ben.mesh.links) == {"ann"}
    finally:
        for bot in bots:
            await bot.close()
        stop_coturn(relay)
