"""Hosts, moderators and guests over real sockets: every role check, the door, actions.

Each host's request sent by a guest is answered ``forbidden`` and changes
nothing (the room's control, as the server holds it, is compared before and
after, and nobody else hears of it).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from chinwag.core.closecodes import CloseCode
from chinwag.core.invites import mint_invite
from chinwag.transport.server import ChinwagServer
from tests.support import Client, StartServer

ROOMS = ["deltas", "ringing", "plain-text", "rooms"]
SECRET = "invite-secret-for-tests-0123456789abcdef"
Connect = Callable[..., Awaitable[Client]]

#: Every request a guest may not send, with fields that would be valid from a host.
HOSTS_ONLY: list[dict[str, Any]] = [
    {"type": "set-role", "target": "ana", "role": "guest"},
    {"type": "set-entry", "entry": "locked"},
    {"type": "admit", "target": "ana"},
    {"type": "deny", "target": "ana"},
    {"type": "remove", "target": "ana", "ban": True},
    {"type": "mute"},
    {"type": "mute", "target": "ana", "kind": "video"},
    {"type": "end-call"},
    {"type": "lower-hands"},
    {"type": "lower-hand", "target": "ana"},
    {"type": "invite-create", "role": "guest", "ttl": 600},
    {"type": "invite-revoke", "invite": "abc"},
    {"type": "breakout-open", "count": 2},
    {"type": "breakout-assign", "random": True},
    {"type": "breakout-start"},
    {"type": "breakout-broadcast", "text": "hello"},
    {"type": "breakout-close"},
]


@pytest.fixture
async def hosts_server(start_server: StartServer) -> ChinwagServer:
    # Room actions spend the chat bucket: these tests send many in a row.
    return await start_server(presence_interval=0.02, invite_secret=SECRET, chat_rate=100.0)


@pytest.fixture
async def connect_hosts(hosts_server: ChinwagServer) -> Any:
    clients: list[Client] = []

    async def open_client() -> Client:
        client = await Client.open(hosts_server.port)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.close()


async def enter(connect: Connect, name: str, room: str = "team", **extra: Any) -> Client:
    client = await connect()
    await client.send({"type": "username", "name": name, "features": ROOMS, "room": room, **extra})
    welcome = await client.wait_for("signed-in")
    assert welcome["name"] == name
    return client


async def sees(client: Client, name: str) -> None:
    """Wait until ``client``'s list of its room has ``name`` (a first list or a delta)."""
    while True:
        message = await client.next()
        if message["type"] == "userlist" and name in message["users"]:
            return
        if message["type"] == "presence" and name in message.get("joined", []):
            return


async def test_the_opener_hosts_and_a_guest_is_forbidden_every_hosts_request(
    connect_hosts: Connect, hosts_server: ChinwagServer
) -> None:
    ana = await enter(connect_hosts, "ana")
    control = await ana.wait_for("room-control")
    assert control["roles"] == {"ana": "host"} and control["entry"] == "open"
    dana = await enter(connect_hosts, "dana")
    seen = await dana.wait_for("room-control")
    assert seen["roles"] == {"ana": "host"} and "waiting" not in seen  # guests see no knockers
    await sees(ana, "dana")
    # A connection gets at most 10 error replies at once (FloodPolicy): three guests share them.
    guests = [dana, await enter(connect_hosts, "gus"), await enter(connect_hosts, "gil")]
    await sees(ana, "gil")
    before = hosts_server.lobby.room_control("team")
    for number, request in enumerate(HOSTS_ONLY):
        guest = guests[number % len(guests)]
        await guest.send(request)
        refused = await guest.wait_for("error")
        assert refused["code"] == "forbidden", (request, refused)
        assert refused["for"] == request["type"], refused
        assert "nothing changed" in refused["message"]
    assert hosts_server.lobby.room_control("team") == before
    await dana.send({"type": "message", "text": "after"})
    # ana heard nothing between: the guest's requests reached nobody
    nothing = await ana.wait_for("message", text="after")
    assert nothing["name"] == "dana"
    # a moderator may lock, but not make moderators or open breakout rooms
    await ana.send({"type": "set-role", "target": "dana", "role": "moderator"})
    await dana.wait_for("moderation", action="role", target="dana", role="moderator", by="ana")
    await dana.send({"type": "set-entry", "entry": "locked"})
    await ana.wait_for("moderation", action="entry", entry="locked", by="dana")
    await dana.send({"type": "breakout-open", "count": 2})
    await dana.wait_for("error", code="forbidden", **{"for": "breakout-open"})
    await dana.send({"type": "remove", "target": "ana"})
    await dana.wait_for("error", code="forbidden", **{"for": "remove"})


async def test_the_waiting_room_admit_and_deny(connect_hosts: Connect) -> None:
    ana = await enter(connect_hosts, "ana")
    await ana.send({"type": "set-entry", "entry": "waiting"})
    await ana.wait_for("room-control", entry="waiting")
    carol = await enter(connect_hosts, "carol")
    await carol.send({"type": "message", "text": "let me in"})
    held = await carol.wait_for("error", code="waiting")
    assert held["for"] == "message"
    await ana.wait_for("room-control", waiting=["carol"])
    await ana.send({"type": "admit", "target": "carol"})
    moved = await carol.wait_for("room", room="team")
    assert "waiting" not in moved
    await ana.wait_for("moderation", action="admit", target="carol", by="ana")
    await sees(ana, "carol")

    eve = await enter(connect_hosts, "eve")
    await ana.wait_for("room-control", waiting=["eve"])
    await ana.send({"type": "deny", "target": "eve"})
    told = await eve.wait_for("moderation", action="deny", by="ana")
    assert told["target"] == "eve"
    code, _ = await eve.closed()
    assert code == CloseCode.DENIED
    await ana.wait_for("room-control", waiting=[])


async def test_a_knocker_signs_in_waiting(connect_hosts: Connect) -> None:
    ana = await enter(connect_hosts, "ana")
    await ana.send({"type": "set-entry", "entry": "waiting"})
    await ana.wait_for("room-control", entry="waiting")
    carol = await connect_hosts()
    await carol.send({"type": "username", "name": "carol", "features": ROOMS, "room": "team"})
    welcome = await carol.wait_for("signed-in")
    assert welcome["room"]["room"] == "team" and welcome["room"]["waiting"] is True


async def test_remove_with_ban_keeps_them_out_and_the_room_hears_it(
    connect_hosts: Connect,
) -> None:
    ana = await enter(connect_hosts, "ana")
    bob = await enter(connect_hosts, "bob")
    dana = await enter(connect_hosts, "dana")
    await sees(ana, "dana")
    await ana.send({"type": "remove", "target": "dana", "ban": True})
    notice = await bob.wait_for("moderation", action="remove")
    assert notice["by"] == "ana" and notice["target"] == "dana" and notice["ban"] is True
    code, _ = await dana.closed()
    assert code == CloseCode.REMOVED
    again = await connect_hosts()
    await again.send({"type": "username", "name": "Dana", "features": ROOMS, "room": "team"})
    refused = await again.wait_for("error", code="banned")
    assert "cannot come back" in refused["message"]
    # another name from the same address is kept out too
    other = await connect_hosts()
    await other.send({"type": "username", "name": "zed", "features": ROOMS, "room": "team"})
    await other.wait_for("error", code="banned")


async def test_a_locked_room_refuses_newcomers_and_admits_an_invite_minted_for_it(
    connect_hosts: Connect, hosts_server: ChinwagServer
) -> None:
    ana = await enter(connect_hosts, "ana")
    await ana.send({"type": "set-entry", "entry": "locked"})
    await ana.wait_for("room-control", entry="locked")
    late = await connect_hosts()
    await late.send({"type": "username", "name": "late", "features": ROOMS, "room": "team"})
    refused = await late.wait_for("error", code="room-closed")
    assert refused["message"] == "room 'team' is locked: nobody new may enter."
    await ana.send({"type": "invite-create", "role": "guest", "ttl": 600})
    plain = (await ana.wait_for("invite"))["invite"]
    await late.send({"type": "username", "name": "late", "features": ROOMS, "room": "team",
                     "invite": plain})  # fmt: skip
    await late.wait_for("error", code="room-closed")
    await ana.send({"type": "invite-create", "role": "moderator", "ttl": 600, "single": True,
                    "passLock": True})  # fmt: skip
    minted = await ana.wait_for("invite")
    assert minted["role"] == "moderator" and minted["single"] and minted["passLock"]
    invited = await enter(connect_hosts, "mo", invite=minted["invite"])
    control = await invited.wait_for("room-control")
    assert control["roles"] == {"ana": "host", "mo": "moderator"}
    used = await connect_hosts()
    await used.send({"type": "username", "name": "copy", "features": ROOMS, "room": "team",
                     "invite": minted["invite"]})  # fmt: skip
    said = await used.wait_for("error", code="invite-used")
    assert said["message"] == "This invite link was for one person and has been used."
    await ana.send({"type": "invite-revoke", "invite": plain})
    await ana.wait_for("invite", revoked=True)
    await ana.send({"type": "set-entry", "entry": "open"})
    await used.send({"type": "username", "name": "copy", "features": ROOMS, "room": "team",
                     "invite": plain})  # fmt: skip
    await used.wait_for("error", code="invite-revoked")
    # an expired link, signed with the server's secret, says so in plain words
    expired, _ = mint_invite(SECRET.encode(), "team", "guest", time.time() - 5)
    await used.send({"type": "username", "name": "copy", "features": ROOMS, "room": "team",
                     "invite": expired})  # fmt: skip
    late_link = await used.wait_for("error", code="invite-expired")
    assert late_link["message"] == "This invite link has expired; ask the host for a new one."
    forged, _ = mint_invite(
        b"another secret, not the server's ..", "team", "guest", time.time() + 60
    )
    await used.send({"type": "username", "name": "copy", "features": ROOMS, "room": "team",
                     "invite": forged})  # fmt: skip
    await used.wait_for("error", code="invite-invalid")
    assert hosts_server.lobby.room_control("team") is not None


async def test_waiting_room_is_skipped_with_an_invite(connect_hosts: Connect) -> None:
    ana = await enter(connect_hosts, "ana")
    await ana.send({"type": "set-entry", "entry": "waiting"})
    await ana.send({"type": "invite-create", "role": "guest", "ttl": 600})
    link = (await ana.wait_for("invite"))["invite"]
    bea = await enter(connect_hosts, "bea", invite=link)
    assert "waiting" not in (await bea.wait_for("room-control"))
    await sees(ana, "bea")


async def test_hands_in_order_reactions_mute_and_end_call(connect_hosts: Connect) -> None:
    ana = await enter(connect_hosts, "ana")
    bob = await enter(connect_hosts, "bob")
    cy = await enter(connect_hosts, "cy")
    await sees(ana, "cy")
    await cy.send({"type": "raise-hand"})
    await ana.wait_for("room-control", hands=["cy"])
    await bob.send({"type": "raise-hand"})
    await ana.wait_for("room-control", hands=["cy", "bob"])
    await cy.send({"type": "lower-hand"})
    await ana.wait_for("room-control", hands=["bob"])
    await ana.send({"type": "lower-hands"})
    await bob.wait_for("room-control", hands=[])
    await bob.wait_for("moderation", action="lower-hands", by="ana")

    await cy.send({"type": "reaction", "emoji": "👍"})
    got = await bob.wait_for("reaction")
    assert got == {"type": "reaction", "room": "team", "name": "cy", "emoji": "👍"}
    await cy.send({"type": "reaction", "emoji": "<b>"})
    await cy.wait_for("error", code="bad-field")
    for _ in range(6):
        await cy.send({"type": "reaction", "emoji": "🎉"})
    await cy.wait_for("error", code="rate-limited", **{"for": "reaction"})

    for client in (ana, bob):
        await client.send({"type": "room-call-join"})
    await bob.wait_for("room-call", participants=[
        {"name": "ana", "rollback": True}, {"name": "bob", "rollback": True}])  # fmt: skip
    await ana.send({"type": "mute"})
    muted = await bob.wait_for("moderation", action="mute")
    assert muted["by"] == "ana" and muted["target"] is None and muted["kind"] == "audio"
    await ana.send({"type": "mute", "target": "bob", "kind": "screen"})
    screen = await bob.wait_for("moderation", action="mute", target="bob")
    assert screen["kind"] == "screen"
    await ana.send({"type": "end-call"})
    await bob.wait_for("moderation", action="end-call", by="ana")
    await bob.wait_for("room-call", participants=[])


async def test_the_last_host_leaving_makes_the_first_moderator_host(connect_hosts: Connect) -> None:
    ana = await enter(connect_hosts, "ana")
    bob = await enter(connect_hosts, "bob")
    cy = await enter(connect_hosts, "cy")
    await sees(ana, "cy")
    await ana.send({"type": "set-role", "target": "cy", "role": "moderator"})
    await bob.wait_for("room-control", roles={"ana": "host", "cy": "moderator"})
    await ana.close()
    await bob.wait_for("room-control", roles={"cy": "host"})
    promoted = await bob.wait_for("moderation", action="promote")
    assert promoted["target"] == "cy"
    await cy.close()
    await bob.wait_for("moderation", action="promote", target="bob")


async def test_breakout_rooms_open_fill_broadcast_and_close(connect_hosts: Connect) -> None:
    ana = await enter(connect_hosts, "ana")
    people = [await enter(connect_hosts, name) for name in ("b1", "b2", "b3")]
    await sees(ana, "b3")
    await ana.send({"type": "breakout-open", "count": 2})
    opened = await ana.wait_for(
        "room-control", breakouts=["team · Breakout 1", "team · Breakout 2"]
    )
    assert opened["assignments"] == {}
    await ana.send({"type": "breakout-assign", "assign": {"b1": 1, "b2": 2, "b3": 2}})
    await ana.wait_for("room-control", assignments={"b1": 0, "b2": 1, "b3": 1})
    await ana.send({"type": "breakout-start"})
    where = [(await p.wait_for("room"))["room"] for p in people]
    assert where == ["team · Breakout 1", "team · Breakout 2", "team · Breakout 2"]
    inside = await people[1].wait_for("room-control")
    assert inside["parent"] == "team" and inside["roles"] == {}
    await people[2].send({"type": "message", "text": "just us"})
    await people[1].wait_for("message", text="just us")
    await ana.send({"type": "breakout-broadcast", "text": "Five minutes left"})
    for person in people:
        await person.wait_for("moderation", action="say", text="Five minutes left")
    await ana.send({"type": "breakout-close"})
    back = [(await p.wait_for("room"))["room"] for p in people]
    assert back == ["team", "team", "team"]
    await ana.wait_for("room-control", breakouts=[])


async def test_the_default_room_has_no_hosts_unless_configured(
    connect_hosts: Connect, start_server: StartServer
) -> None:
    lobby = await enter(connect_hosts, "ana", room="")
    await lobby.send({"type": "set-entry", "entry": "locked"})
    refused = await lobby.wait_for("error", code="forbidden")
    assert "the lobby" in refused["message"]
    hosted = await start_server(presence_interval=0.02, lobby_hosts=["Boss"])
    boss = await Client.open(hosted.port)
    await boss.send({"type": "username", "name": "boss", "features": ROOMS})
    await boss.wait_for("room-control", roles={"boss": "host"})
    await boss.close()


async def test_a_role_survives_a_dropped_connection_and_a_rename(start_server: StartServer) -> None:
    server = await start_server(presence_interval=0.02, resume_grace=10.0)
    ana = await Client.open(server.port)
    await ana.send({"type": "username", "name": "ana", "features": ROOMS, "room": "team"})
    token = (await ana.wait_for("signed-in"))["resume"]
    await ana.wait_for("room-control", roles={"ana": "host"})
    bob = await enter(lambda: Client.open(server.port), "bob")
    await bob.wait_for("room-control")
    ana.ws._response.connection.transport.abort()  # type: ignore[union-attr]  # no handshake
    back = await Client.open(server.port)
    await back.send({"type": "username", "name": "ana", "features": ROOMS, "resume": token})
    welcome = await back.wait_for("signed-in")
    assert welcome["resumed"] is True
    await back.wait_for("room-control", roles={"ana": "host"})
    await back.send({"type": "raise-hand"})
    await bob.wait_for("room-control", hands=["ana"])
    await back.send({"type": "username", "name": "anna", "features": ROOMS})
    await bob.wait_for("room-control", roles={"anna": "host"}, hands=["anna"])
    await back.send({"type": "set-entry", "entry": "locked"})
    await bob.wait_for("moderation", action="entry", by="anna")
    for client in (ana, back, bob):
        await client.close()
