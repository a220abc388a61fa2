"""Two ``chinwag serve --redis`` processes with the same two Janus instances place one SFU
call on one Janus, in one VideoRoom (each derives the room from ``--sfu-secret`` and the
call; the Janus is the one the first placed it on, through Redis), and a second call on the
other, less loaded Janus."""

from __future__ import annotations

import asyncio
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
    redis_server: RedisServer, two_janus: list[Janus], tmp_path: Path, clients: list[Client]
) -> None:
    with process_pair(redis_server.url, tmp_path, *sfu_flags(two_janus)) as processes:
        people = [
            await enter(process, name, clients)
            for process, name in zip(processes, ("ann", "bob"), strict=True)
        ]
        room_id = await sfu_call(people, two_janus[0].secret, "team")

        async def found_once() -> list[int | None]:
            for person in people:  # each process opens the call's room on its Janus
                await person.send({"type": "sfu-subscribe"})
            found = [await members(janus, room_id) for janus in two_janus]
            return found if sorted(found, key=str) == [2, None] else []

        found: list[int | None] = []
        deadline = asyncio.get_running_loop().time() + AGREE_WITHIN
        while not found:
            assert asyncio.get_running_loop().time() < deadline, "no agreement on a Janus"
            found = await found_once()
            await asyncio.sleep(0.5)
        # One Janus has the room with both processes' watchers in it; the other has none.
        assert sorted(found, key=str) == [2, None]


async def test_a_second_call_goes_to_the_less_loaded_janus(
    redis_server: RedisServer, two_janus: list[Janus], tmp_path: Path, clients: list[Client]
) -> None:
    """The first call (two people, on process a) is on one Janus; the second (two people,
    on process b) lands on the other, which carries nothing: by load, whatever the names."""
    secret = two_janus[0].secret
    with process_pair(redis_server.url, tmp_path, *sfu_flags(two_janus)) as processes:
        first = [await enter(processes[0], name, clients, "team") for name in ("ann", "bob")]
        where_first = await placed(two_janus, await sfu_call(first, secret, "team"))
        second = [await enter(processes[1], name, clients, "club") for name in ("cy", "di")]
        where_second = await placed(two_janus, await sfu_call(second, secret, "club"))
        assert where_second != where_first, (where_first, where_second)


def sfu_flags(two_janus: list[Janus]) -> list[str]:
    """``serve`` options for the two Janus instances, with calls of two on the SFU."""
    flags = ["--sfu-secret", two_janus[0].secret, "--mesh-max", "1"]
    for janus in two_janus:
        flags += ["--sfu", janus.url]
    return flags


async def sfu_call(people: list[Client], secret: str, room: str) -> int:
    """``people`` (in ``room``) join its call, on the SFU, and ask for streams (which opens
    the call's VideoRoom on its Janus); the VideoRoom's id."""
    for person in people:
        await person.send({"type": "room-call-join"})
    call = await people[0].wait_for("room-call", mode="sfu")
    for person in people:
        await person.send({"type": "sfu-subscribe"})
    return room_identity(secret.encode(), name_key(room), call["started"])[0]


async def enter(
    process: ChinwagProcess, name: str, opened: list[Client], room: str = "team"
) -> Client:
    client = await Client.open(process.port)
    opened.append(client)
    await client.send({"type": "username", "name": name, "features": ROOMS, "room": room})
    await client.wait_for("signed-in")
    return client


async def placed(two_janus: list[Janus], room_id: int) -> int:
    """The index of the Janus that has VideoRoom ``room_id`` once the call's people ask for
    streams there; the other must not have it at all."""
    deadline = asyncio.get_running_loop().time() + AGREE_WITHIN
    while True:
        found = [await members(janus, room_id) for janus in two_janus]
        there = [i for i, n in enumerate(found) if n is not None]
        if len(there) == 1:
            return there[0]
        assert len(there) <= 1, f"the call is on both Janus instances: {found}"
        assert asyncio.get_running_loop().time() < deadline, f"not placed: {found}"
        await asyncio.sleep(0.5)
