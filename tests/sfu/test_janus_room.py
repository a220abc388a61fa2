"""chinwag's VideoRooms on a real Janus: one call's pin and token open no other room,
a participant who leaves is kicked and its token stops working, a finished call's room
is destroyed. (That the browser never gets a pin or token at all is the protocol's
design, tested in tests/unit/test_lobby_sfu.py; this is the defence behind it.)"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from chinwag.sfu.janus import JanusError, JanusSession
from chinwag.sfu.room import VIDEOROOM, JanusRoom, room_identity
from tests.janus import Janus

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module")
async def session(janus: Janus) -> AsyncIterator[JanusSession]:
    async with JanusSession(janus.url, janus.secret) as opened:
        yield opened


def quiet(_name: str, _message: dict[str, Any] | None = None) -> None:
    """Replies and speakers go nowhere: these tests look at Janus itself."""


async def open_room(session: JanusSession, janus: Janus, call: str) -> JanusRoom:
    key = secrets.token_bytes(16)
    room = JanusRoom(session, room_identity(key, call, 1), quiet, quiet, janus.secret)
    await room.open(capacity=4)
    return room


async def join_as_publisher(session: JanusSession, room: int, pin: str, token: str) -> None:
    handle = await session.attach(VIDEOROOM)
    try:
        await handle.request(
            {"request": "join", "ptype": "publisher", "room": room, "pin": pin, "token": token}
        )
    finally:
        await handle.detach()


async def participants(session: JanusSession, room: JanusRoom) -> list[dict[str, Any]]:
    handle = await session.attach(VIDEOROOM)
    try:
        reply = await handle.request({"request": "listparticipants", "room": room.id})
    finally:
        await handle.detach()
    listed: list[dict[str, Any]] = reply.data.get("participants", [])
    return listed


async def test_one_calls_pin_and_token_open_no_other_room(
    session: JanusSession, janus: Janus
) -> None:
    first = await open_room(session, janus, "alpha")
    second = await open_room(session, janus, "beta")
    try:
        token = await first.admit("ann")
        await join_as_publisher(session, first.id, first.pin, token)  # its own room: fine
        with pytest.raises(JanusError) as refused:  # its pin and token, another room
            await join_as_publisher(session, second.id, first.pin, token)
        assert refused.value.code == 433, refused.value  # unauthorized
        with pytest.raises(JanusError) as refused:  # even knowing that room's pin
            await join_as_publisher(session, second.id, second.pin, token)
        assert refused.value.code == 433, refused.value
    finally:
        await first.close()
        await second.close()


async def test_leaving_kicks_and_revokes_the_token_and_ending_destroys_the_room(
    session: JanusSession, janus: Janus
) -> None:
    room = await open_room(session, janus, "gamma")
    token = await room.admit("ben")
    handle = await session.attach(VIDEOROOM)
    joined = await handle.request(
        {
            "request": "join",
            "ptype": "publisher",
            "room": room.id,
            "pin": room.pin,
            "token": token,
            "display": "ben",
        }
    )
    seat = room.seats["ben"]  # as a publish would leave it
    seat.feed, seat.publisher = joined.data["id"], handle
    assert "ben" in [p.get("display") for p in await participants(session, room)]

    await room.leave("ben")
    assert "ben" not in [p.get("display") for p in await participants(session, room)]
    with pytest.raises(JanusError) as refused:
        await join_as_publisher(session, room.id, room.pin, token)
    assert refused.value.code == 433  # not in the allowed list any more

    await room.close()
    with pytest.raises(JanusError) as gone:
        await participants(session, room)
    assert gone.value.code == 426  # no such room
