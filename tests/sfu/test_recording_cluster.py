"""Recording an SFU call held across two ``chinwag serve --redis`` processes, on a real Janus.

ann is on process a, ben and cat on process b (``--mesh-max 2``: three make an
SFU call). ann starts a recording: ben and cat see it (notice and the call's
``recording``), and so does dan, who joins the room on process b afterwards.
ben, on process b, stops it: ann hears, and process a (which started it)
writes the recording into the data directory both processes share.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from chinwag.sfu.recordings import list_recordings
from tests.cluster.conftest import process_pair
from tests.janus import Janus
from tests.redis_server import RedisServer
from tests.sfu.test_cluster_placement import ROOMS, enter
from tests.support import Client

WAIT = 30.0


async def test_a_recording_started_on_one_process_is_seen_and_stopped_on_the_other(
    redis_server: RedisServer, janus: Janus, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    flags = ["--sfu", janus.url, "--sfu-secret", janus.secret, "--mesh-max", "2"]
    flags += ["--recordings", "--data-dir", str(data)]
    clients: list[Client] = []
    with process_pair(redis_server.url, tmp_path, *flags) as (a, b):
        try:
            ann = await enter(a, "ann", clients)
            ben, cat = [await enter(b, name, clients) for name in ("ben", "cat")]
            for person in (ann, ben, cat):
                await person.send({"type": "room-call-join"})
            for person in (ann, ben, cat):
                await person.wait_for("room-call", WAIT, mode="sfu")

            await ann.send({"type": "room-recording", "action": "start"})
            started = await ann.wait_for("room-recording", WAIT, action="start")
            for person in (ben, cat):  # on the other process: the call's state, then a notice
                await person.wait_for("room-call", WAIT, recording=started_by(started))
                notice = await person.wait_for("room-recording", WAIT, action="start")
                assert (notice["by"], notice["since"]) == ("ann", started["since"])
            dan = await Client.open(b.port)  # arrives later, on process b
            clients.append(dan)
            await dan.send({"type": "username", "name": "dan", "features": ROOMS, "room": "team"})
            welcome = await dan.wait_for("signed-in", WAIT)
            assert welcome["room"]["call"]["recording"] == started_by(started), welcome

            await ben.send({"type": "room-recording", "action": "stop"})
            await ann.wait_for("room-call", WAIT, recording=None, mode="sfu")
            stop = await ann.wait_for("room-recording", WAIT, action="stop")
            assert stop["by"] == "ben" and stop["since"] == started["since"]
            await dan.wait_for("room-recording", WAIT, action="stop")

            deadline = asyncio.get_running_loop().time() + WAIT
            while not [r for r in list_recordings(data / "recordings") if r["state"] == "ready"]:
                assert asyncio.get_running_loop().time() < deadline, list_recordings(
                    data / "recordings"
                )
                await asyncio.sleep(0.1)
            [made] = list_recordings(data / "recordings")
            assert (made["by"], made["since"]) == ("ann", started["since"]), made
        finally:
            for client in clients:
                with contextlib.suppress(Exception):
                    await client.close()


def started_by(notice: dict[str, object]) -> dict[str, object]:
    return {"since": notice["since"], "by": notice["by"]}
