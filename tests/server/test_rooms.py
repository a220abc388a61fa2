"""Rooms over real sockets: isolation, passwords, the cap, switching, the public list, /r/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chinwag.client import DEFAULT_FEATURES, ErrorReply, PublicRoom, RoomSignal, connect
from chinwag.config import load_settings
from chinwag.transport.server import ChinwagServer
from tests.support import Client, StartServer

ROOMS = ["deltas", "ringing", "plain-text", "rooms"]
Connect = Callable[..., Awaitable[Client]]


async def enter(connect: Connect, name: str, room: str = "", **extra: Any) -> Client:
    """A ``rooms`` client signed in to ``room``, its welcome and first list read."""
    client = await connect()
    await client.send({"type": "username", "name": name, "features": ROOMS, "room": room, **extra})
    welcome = await client.wait_for("signed-in")
    assert welcome["room"]["room"] == room
    await client.wait_for("userlist")
    return client


async def received_until(client: Client, text: str) -> list[dict[str, Any]]:
    """Every message ``client`` gets up to and including the chat line ``text``."""
    seen = []
    while not seen or seen[-1].get("text") != text:
        seen.append(await client.next())
    return seen


async def test_presence_chat_relays_and_calls_never_leak_between_rooms(connect: Connect) -> None:
    alice = await enter(connect, "alice", "team")
    bob = await enter(connect, "bob", "team")
    await alice.wait_for("presence", joined=["bob"])
    carol = await enter(connect, "carol")  # the default room
    reference = await connect()
    await reference.sign_in("ref")
    await carol.wait_for("presence", joined=["ref"])
    await reference.wait_for("userlist", users=["carol", "ref"])

    await alice.send({"type": "message", "text": "team only"})
    await bob.wait_for("message", text="team only")
    await carol.send({"type": "call-invite", "target": "alice"})
    refused = await carol.wait_for("error", code="no-such-user")
    assert refused["message"] == "alice is not online; the call-invite was not delivered."
    await carol.send({"type": "video-offer", "target": "bob", "sdp": "x"})
    await carol.wait_for("error", code="no-such-user", target="bob")
    await carol.send({"type": "room-call-join"})
    await carol.wait_for("room-call", room="")
    await alice.send({"type": "room-call-join"})
    await bob.wait_for("room-call", room="team")
    await alice.send({"type": "broadcast-thing"})  # untargeted: the team room only
    await bob.wait_for("broadcast-thing", name="alice")
    await alice.send({"type": "message", "text": "end"})
    await bob.wait_for("message", text="end")
    # Nothing of the team room reached the default room, and no room message the reference.
    await carol.send({"type": "message", "text": "lobby"})
    at_carol, at_reference = (
        await received_until(carol, "lobby"),
        await received_until(reference, "lobby"),
    )
    for message in at_carol + at_reference:
        assert "alice" not in str(message) and "bob" not in str(message), message
        assert "team" not in str(message), message
    assert not [m for m in at_reference if "room" in m["type"]], at_reference


async def test_room_call_cap_and_signal_between_participants(start_server: StartServer) -> None:
    server = await start_server(presence_interval=0.02, room_call_max=2)
    clients = []
    try:
        for name in ("alice", "bob", "carol"):
            clients.append(await Client.open(server.port))
            await clients[-1].send(
                {"type": "username", "name": name, "features": ROOMS, "room": "mesh"}
            )
            await clients[-1].wait_for("signed-in")
        alice, bob, carol = clients
        await alice.send({"type": "room-call-join"})
        await bob.send({"type": "room-call-join"})
        call = await carol.wait_for(
            "room-call",
            room="mesh",
            participants=[{"name": "alice", "rollback": True}, {"name": "bob", "rollback": True}],
        )
        assert call["started"] > 0
        await carol.send({"type": "room-call-join"})
        full = await carol.wait_for("error", code="room-call-full")
        assert full["for"] == "room-call-join"
        await carol.send({"type": "room-signal", "target": "alice", "candidate": {}})
        await carol.wait_for("error", code="not-in-call")
        await bob.send({"type": "room-signal", "target": "alice", "description": {"type": "offer"}})
        signal = await alice.wait_for("room-signal")
        assert signal["name"] == "bob" and signal["description"] == {"type": "offer"}
        await bob.close()  # leaving for good frees the seat
        await carol.wait_for("room-call", participants=[{"name": "alice", "rollback": True}])
        await carol.send({"type": "room-call-join"})
        await alice.wait_for(
            "room-call",
            participants=[{"name": "alice", "rollback": True}, {"name": "carol", "rollback": True}],
        )
    finally:
        for client in clients:
            await client.close()


async def test_room_passwords_creator_set_wrong_right(connect: Connect) -> None:
    alice = await enter(connect, "alice", "vault", roomPassword="s3cret")
    bob = await connect()
    await bob.send({"type": "username", "name": "bob", "features": ROOMS, "room": "vault"})
    assert (await bob.wait_for("error"))["code"] == "room-password-required"
    await bob.send(
        {
            "type": "username",
            "name": "bob",
            "features": ROOMS,
            "room": "vault",
            "roomPassword": "guess",
        }
    )
    assert (await bob.wait_for("error"))["code"] == "room-password-wrong"
    await bob.send({"type": "username", "name": "bob", "features": ROOMS})
    await bob.wait_for("signed-in")
    await bob.send({"type": "join-room", "room": "VAULT", "password": "nope"})
    assert (await bob.wait_for("error"))["code"] == "room-password-wrong"
    await bob.send({"type": "join-room", "room": "VAULT", "password": "s3cret"})
    room = await bob.wait_for("room")
    assert (room["room"], room["locked"]) == ("vault", True)
    await alice.wait_for("presence", joined=["bob"])


async def test_switching_rooms_is_seen_by_both_rooms_without_reconnecting(
    connect: Connect,
) -> None:
    alice = await enter(connect, "alice", "one")
    bob = await enter(connect, "bob", "one")
    carol = await enter(connect, "carol", "two")
    await alice.wait_for("presence", joined=["bob"])
    await bob.send({"type": "join-room", "room": "two", "public": True, "title": "ignored"})
    room = await bob.wait_for("room")
    assert (room["room"], room["public"], room["title"]) == ("two", False, "")
    assert (await bob.wait_for("userlist"))["users"] == ["carol", "bob"]
    await alice.wait_for("presence", left=["bob"])
    await carol.wait_for("presence", joined=["bob"])


async def test_the_public_room_list_as_a_message_and_over_http(
    server: ChinwagServer, connect: Connect
) -> None:
    alice = await enter(connect, "alice")
    await alice.send({"type": "join-room", "room": "Open house", "public": True, "title": "Hi"})
    await alice.wait_for("room", public=True)
    await enter(connect, "bob", "Open house")
    await enter(connect, "carol", "hidden")
    await alice.send({"type": "list-rooms"})
    listed = await alice.wait_for("rooms")
    assert listed["rooms"] == [{"room": "Open house", "title": "Hi", "count": 2}]
    url = f"http://127.0.0.1:{server.port}/api/rooms"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert await response.json() == listed["rooms"]


async def test_room_pages_serve_the_web_client(server: ChinwagServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/") as response:
            index = await response.read()
        for path in ("/r/team", "/r/Team%20stand-up", "/r/%3Cscript%3E", "/r/%FF"):
            async with session.get(base + path) as response:
                assert response.status == 200, path
                assert await response.read() == index


async def test_restricted_rooms_from_the_config_file(
    tmp_path: Path, start_server: StartServer
) -> None:
    config = tmp_path / "chinwag.toml"
    config.write_text(
        'rooms_restricted = true\n\n[[rooms]]\nname = "Board"\ntitle = "The board"\n'
        'password = "pw"\npublic = true\n'
    )
    settings = load_settings(None, {"CHINWAG_CONFIG": str(config)})
    assert settings.redacted()["rooms"][0]["password"] == "***"
    server = await start_server(rooms=settings.rooms, rooms_restricted=True)
    alice = await Client.open(server.port)
    try:
        await alice.send({"type": "username", "name": "alice", "features": ROOMS, "room": "x"})
        assert (await alice.wait_for("error"))["code"] == "no-such-room"
        await alice.send(
            {
                "type": "username",
                "name": "alice",
                "features": ROOMS,
                "room": "board",
                "roomPassword": "pw",
            }
        )
        welcome = await alice.wait_for("signed-in")
        assert welcome["room"]["room"] == "Board" and welcome["room"]["title"] == "The board"
        await alice.send({"type": "join-room", "room": "elsewhere"})
        assert (await alice.wait_for("error"))["code"] == "no-such-room"
    finally:
        await alice.close()


async def test_the_python_client_in_rooms_and_room_calls(server: ChinwagServer) -> None:
    url = f"http://127.0.0.1:{server.port}/"
    async with (
        connect(url, "alice", room="team", room_password="pw") as alice,
        connect(url, "bob", features=[*DEFAULT_FEATURES, "rooms", "no-rollback"]) as bob,
    ):
        assert alice.room is not None and (alice.room.room, alice.room.locked) == ("team", True)
        with pytest.raises(ErrorReply) as refused:
            await bob.join_room("team", password="wrong")
        assert refused.value.code == "room-password-wrong"
        entered = await bob.join_room("Team", password="pw")
        assert entered.room == "team" and bob.room == entered
        await alice.join_room_call()
        call = await bob.join_room_call()
        assert [(p.name, p.rollback) for p in call.participants] == [
            ("alice", True),
            ("bob", False),
        ]
        with alice.subscribe() as events:
            await bob.room_signal("alice", description=("offer", "v=0"))
            signal = await anext(e async for e in events if isinstance(e, RoomSignal))
        assert (signal.name, signal.description_type, signal.sdp) == ("bob", "offer", "v=0")
        await alice.join_room("open", public=True, title="Open")
        assert await bob.list_rooms() == (PublicRoom(room="open", title="Open", count=1),)
        assert bob.room_call is not None and bob.room_call.names() == ["bob"]
