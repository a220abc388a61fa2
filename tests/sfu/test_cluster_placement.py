"""Two ``chinwag serve --redis`` processes with the same two Janus instances place one SFU
call on one Janus, in one VideoRoom: each derives the room from ``--sfu-secret`` and the
call, and picks the Janus by rendezvous hashing, so they agree without asking each other."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from chinwag.core.names import name_key
from chinwag.sfu.janus import JanusError, JanusSession
from chinwag.sfu.room import VIDEOROOM, room_identity
from tests.cluster.conftest import process_pair
from tests.cluster.support import ChinwagProcess
from tests.janus import Janus, run_janus
from tests.redis_server import RedisServer
from tests.support import Client

ROOMS = ["deltas", "ringing", "plain-text", "rooms"]
AGREE_WITHIN = 30.0


@pytest.fixture
def two_janus(tmp_path: Path) -> Iterator[list[Janus]]:
    with run_janus(tmp_path / "one") as one, run_janus(tmp_path / "two") as two:
        yield [one, two]


async def members(janus: Janus, room: int) -> int | None:
    """How many are in VideoRoom ``room`` on ``janus`` (None: no such room there)."""
    async with JanusSession(janus.url, janus.secret) as session:
        handle = await session.attach(VIDEOROOM)
        try:
            reply = await handle.request({"request": "listparticipants", "room": room})
        except JanusError as error:
            assert error.code == 426, error  # no such room
            return None
    return len(reply.data["participants"])


async def test_two_processes_put_one_call_on_one_janus(
    redis_server: RedisServer, two_janus: list[Janus], tmp_path: Path
) -> None:
    secret = two_janus[0].secret
    flags = ["--sfu-secret", secret, "--mesh-max", "1"]
    for janus in two_janus:
        flags += ["--sfu", janus.url]
    clients: list[Client] = []
    with process_pair(redis_server.url, tmp_path, *flags) as processes:
        try:
            people = [
                await enter(process, name, clients)
                for process, name in zip(processes, ("ann", "bob"), strict=True)
            ]
            for person in people:
                await person.send({"type": "room-call-join"})
            call = await people[0].wait_for("room-call", mode="sfu")
            room_id = room_identity(secret.encode(), name_key("team"), call["started"])[0]

            async def placed() -> list[int | None]:
                for person in people:  # each process opens the call's room on its Janus
                    await person.send({"type": "sfu-subscribe"})
                found = [await members(janus, room_id) for janus in two_janus]
                return found if sorted(found, key=str) == [2, None] else []

            found: list[int | None] = []
            deadline = asyncio.get_running_loop().time() + AGREE_WITHIN
            while not found:
                assert asyncio.get_running_loop().time() < deadline, "no agreement on a Janus"
                found = await placed()
                await asyncio.sleep(0.5)
            # One Janus has the room with both processes' watchers in it; the other has none.
            assert sorted(found, key=str) == [2, None]
        finally:
            for client in clients:
                with contextlib.suppress(Exception):
                    await client.close()


async def enter(process: ChinwagProcess, name: str, opened: list[Client]) -> Client:
    client = await Client.open(process.port)
    opened.append(client)
    await client.send({"type": "username", "name": name, "features": ROOMS, "room": "team"})
    await client.wait_for("signed-in")
    return client
