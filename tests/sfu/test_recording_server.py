"""Recording through a real chinwag server and a real Janus, with plain WebSocket clients.

No media here (tests/browser/test_room_recording.py has the browsers): this is
the control path, end to end. A start reaches Janus (the recording's folder
and manifest appear in the data directory), everyone in the room and a
late arrival see it, and the starter leaving stops it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from chinwag.sfu.recordings import list_recordings
from chinwag.transport.server import ChinwagServer
from tests.janus import Janus
from tests.support import Client, server_factory

FEATURES = ["deltas", "ringing", "plain-text", "rooms"]
WAIT = 30.0


@pytest_asyncio.fixture
async def server(janus: Janus, tmp_path: Path) -> AsyncIterator[ChinwagServer]:
    async with server_factory() as start:
        started = await start(
            sfu=[janus.url], sfu_secret=janus.secret, mesh_max=2, recordings=True,
            data_dir=str(tmp_path / "data"), room_call_idle=600.0,  # plain clients never signal
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not (started.sfu and started.sfu.up()):
            assert loop.time() < deadline, "Janus not connected"
            await asyncio.sleep(0.05)
        yield started


async def arrive(server: ChinwagServer, name: str, opened: list[Client]) -> tuple[Client, Any]:
    """``name`` signs in to room ``r``; the client and its ``signed-in``."""
    client = await Client.open(server.port)
    opened.append(client)
    await client.send({"type": "username", "name": name, "features": FEATURES, "room": "r"})
    return client, await client.wait_for("signed-in")


async def test_a_recording_reaches_janus_everyone_sees_it_and_it_stops_with_its_starter(
    server: ChinwagServer, tmp_path: Path
) -> None:
    opened: list[Client] = []
    try:
        people = {}
        for name in ("ann", "ben", "cat"):
            people[name], welcome = await arrive(server, name, opened)
            assert welcome["recordings"] is True
        for client in people.values():
            await client.send({"type": "room-call-join"})
        for client in people.values():
            await client.wait_for("room-call", WAIT, mode="sfu")

        await people["ann"].send({"type": "room-recording", "action": "start"})
        for client in people.values():
            state = await client.wait_for("room-call", WAIT)
            notice = await client.wait_for("room-recording", WAIT)
            assert state["recording"] == {"since": notice["since"], "by": "ann"}
            assert (notice["action"], notice["by"]) == ("start", "ann")

        recordings = tmp_path / "data" / "recordings"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not list_recordings(recordings):  # the folder Janus records into
            assert loop.time() < deadline, "no recording folder"
            await asyncio.sleep(0.05)
        [manifest] = list_recordings(recordings)
        assert (manifest["room"], manifest["by"], manifest["state"]) == ("r", "ann", "recording")
        assert (recordings / manifest["id"]).stat().st_mode & 0o077 == 0

        _, welcome = await arrive(server, "dan", opened)  # a late arrival is told at once
        assert welcome["room"]["call"]["recording"]["by"] == "ann"

        await people["ann"].send({"type": "room-call-leave"})
        stop = await people["ben"].wait_for("room-recording", WAIT)
        assert (stop["action"], stop["by"], stop["reason"]) == ("stop", "ann", "left")
        deadline = loop.time() + WAIT
        while list_recordings(recordings)[0]["state"] != "ready":
            assert loop.time() < deadline, list_recordings(recordings)
            await asyncio.sleep(0.05)
        # Nobody published (no media here): a recording with no streams, but finished.
        assert list_recordings(recordings)[0]["files"] == []
    finally:
        for client in opened:
            await client.close()


async def test_janus_dying_mid_recording_is_logged_with_its_calls_and_stops_the_recording(
    server: ChinwagServer, janus: Janus, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    opened: list[Client] = []
    try:
        people = [(await arrive(server, name, opened))[0] for name in ("ann", "ben", "cat")]
        for client in people:
            await client.send({"type": "room-call-join"})
        for client in people:
            await client.wait_for("room-call", WAIT, mode="sfu")
        await people[0].send({"type": "room-recording", "action": "start"})
        await people[1].wait_for("room-recording", WAIT, action="start")
        recordings = tmp_path / "data" / "recordings"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not (server.sfu and server.sfu.recordings and server.sfu.recordings.active):
            assert loop.time() < deadline, "the recording did not start on Janus"
            await asyncio.sleep(0.05)

        janus.process.kill()  # as a crash would
        stop = await people[1].wait_for("room-recording", WAIT, action="stop")
        assert (stop["by"], stop["reason"]) == (None, "media-server-lost")
        await people[2].wait_for("room-call", WAIT, recording=None, mode="sfu")
        lost = [r.getMessage() for r in caplog.records if "is lost" in r.getMessage()]
        assert lost and "1 call(s) affected: 'r'" in lost[0], lost
        deadline = loop.time() + WAIT  # what was written is still made playable
        while list_recordings(recordings)[0]["state"] != "ready":
            assert loop.time() < deadline, list_recordings(recordings)
            await asyncio.sleep(0.05)
    finally:
        for client in opened:
            await client.close()
