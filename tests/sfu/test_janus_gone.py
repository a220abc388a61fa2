"""No Janus left, at the protocol level: a real chinwag server, a real Janus, plain clients.

Three clients (``--mesh-max 2``) hold an SFU call and subscribe (so each has a
seat on Janus). Janus is killed with SIGKILL: the call is too large for a mesh,
so each is told ``sfu-waiting`` and the call stays on the SFU. Janus starts
again at the same URL: each is told ``sfu-moved`` (publish again). Killed once
more, cat leaves: the call of two goes back to a mesh (``room-call`` without
``mode``) within 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from tests.janus import run_janus, start_janus, stop_janus
from tests.sfu.test_recording_server import arrive
from tests.support import Client, server_factory

WAIT = 30.0
BACK_WITHIN = 10.0


async def test_a_large_call_waits_for_janus_and_a_small_one_goes_back_to_a_mesh(
    tmp_path: Path,
) -> None:
    opened: list[Client] = []
    with run_janus(tmp_path / "first") as janus:
        async with server_factory() as start:
            server = await start(
                sfu=[janus.url], sfu_secret=janus.secret, mesh_max=2, room_call_idle=600.0
            )
            assert server.sfu is not None
            try:
                await wait_until(lambda: bool(server.sfu and server.sfu.up()), "no Janus")
                people = [(await arrive(server, n, opened))[0] for n in ("ann", "ben", "cat")]
                for client in people:
                    await client.send({"type": "room-call-join"})
                for client in people:
                    await client.wait_for("room-call", WAIT, mode="sfu")
                    await client.send({"type": "sfu-subscribe"})  # a seat on Janus
                await wait_until(lambda: bool(server.sfu and server.sfu.rooms), "no room")
                await wait_until(
                    lambda: all(len(r.seats) == 3 for r in server.sfu.rooms.values()), "no seats"
                )

                janus.process.kill()
                for client in people:
                    await client.wait_for("sfu-waiting", WAIT)

                again = start_janus(tmp_path / "again", janus.secret, janus.ws_port)
                try:
                    for client in people:  # publish again: there is a Janus once more
                        await client.wait_for("sfu-moved", WAIT)
                    for client in people:
                        await client.send({"type": "sfu-subscribe"})
                    await wait_until(
                        lambda: (
                            all(len(r.seats) == 3 for r in server.sfu.rooms.values())
                            and bool(server.sfu.rooms)
                        ),
                        "no seats on the second Janus",
                    )
                    again.process.kill()
                    for client in people:
                        await client.wait_for("sfu-waiting", WAIT)

                    ann, ben, cat = people
                    await cat.send({"type": "room-call-leave"})
                    left_at = asyncio.get_running_loop().time()
                    for client in (ann, ben):
                        call = await client.wait_for("room-call", BACK_WITHIN)
                        while len(call["participants"]) != 2 or "mode" in call:
                            call = await client.wait_for("room-call", BACK_WITHIN)
                    took = asyncio.get_running_loop().time() - left_at
                    assert took < BACK_WITHIN, took
                    assert server.sfu.counters()["sfu_moves_to_mesh"] == 1
                finally:
                    stop_janus(again)
            finally:
                for client in opened:
                    with contextlib.suppress(Exception):
                        await client.close()


async def wait_until(probe: Callable[[], bool], failure: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not probe():
        assert loop.time() < deadline, failure
        await asyncio.sleep(0.05)
